"""HTML of the local server: the sign-in page and the pending-recommendations page, with each recommendation's
evidence and an inline SVG plot of its daily attainment against the proposed target. Everything is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from slo_engine.models import AgentFinding, Recommendation

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d3557;color:#fff;padding:.8rem 1.5rem;display:flex;justify-content:space-between;align-items:center}
header form{margin:0} main{max-width:980px;margin:1rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:1rem 1.2rem;margin:0 0 1rem}
.card h2{margin:.1rem 0 .4rem;font-size:1.1rem} .meta{color:#4a5560;font-size:.9rem}
.risks li{color:#8a4b00} table{border-collapse:collapse;width:100%}
td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left}
.decide{display:flex;gap:.5rem;align-items:flex-start;margin-top:.6rem} .decide textarea{flex:1;min-height:2.4rem}
button{padding:.4rem .9rem;border-radius:6px;border:1px solid #999;background:#fff;cursor:pointer}
button.approve{background:#2a7a3b;color:#fff;border-color:#2a7a3b}
button.reject{background:#a4262c;color:#fff;border-color:#a4262c}
.flash{background:#e7f4ea;border:1px solid #9cc9a7;padding:.6rem 1rem;border-radius:6px;margin-bottom:1rem}
.error{background:#fdecea;border-color:#e0a19c} .status-approved{color:#2a7a3b;font-weight:600}
.status-rejected{color:#a4262c;font-weight:600} svg text{font-size:11px;fill:#4a5560}
"""


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def layout(title: str, body: str, user: str | None = None, csrf: str | None = None) -> str:
    who = ""
    if user:
        who = (
            f'<form method="post" action="/logout"><span>{escape(user)}</span> '
            f'<input type="hidden" name="csrf" value="{escape(csrf or "")}"><button>Sign out</button></form>'
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body><header><strong>SLO engine</strong>{who}</header><main>{body}</main></body></html>"
    )


def login_page(message: str | None = None, next_path: str = "/ui/pending") -> str:
    note = f'<p class="flash error" role="alert">{escape(message)}</p>' if message else ""
    body = f"""{note}<div class="card"><h2>Sign in</h2>
<p class="meta">Use the access token <code>slo-engine serve</code> printed (also in serve-credentials.json).
Your name is recorded with every decision you make.</p>
<form method="post" action="/login"><input type="hidden" name="next" value="{escape(next_path)}">
<p><label>Name <input name="name" required maxlength="100" autocomplete="username"></label></p>
<p><label>Access token <input name="token" type="password" required autocomplete="current-password"></label></p>
<p><button type="submit">Sign in</button></p></form></div>"""
    return layout("Sign in - SLO engine", body)


def attainment_svg(points: Sequence[tuple[int, float]], target: float, label: str) -> str:
    """Daily attainment (line, days under target in red) against the target (dashed); y from just below both."""
    width, height, left, right, top, bottom = 600, 170, 58, 12, 12, 26
    if not points:
        return f'<p class="meta">No attainment history in the metric store for {escape(label)}.</p>'
    values = [v for _, v in points]
    low = min(min(values), target)
    span = max(1.0 - low, 1e-5) * 1.15
    floor = max(0.0, 1.0 - span)

    def x(i: int) -> float:
        return left + (width - left - right) * (i / max(len(points) - 1, 1))

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1.0 - (v - floor) / (1.0 - floor))

    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    misses = "".join(
        f'<circle class="miss" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#a4262c"><title>'
        f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d}: {_pct(v)}</title></circle>"
        for i, (t, v) in enumerate(points)
        if v < target
    )
    first = datetime.fromtimestamp(points[0][0], UTC).strftime("%b %d")
    last = datetime.fromtimestamp(points[-1][0], UTC).strftime("%b %d")
    return (
        f'<svg class="attainment-plot" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="Daily attainment of {escape(label)} against the proposed target {_pct(target)}">'
        f"<title>Daily attainment of {escape(label)} against the proposed target {_pct(target)}</title>"
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="#fbfcfd" '
        f'stroke="#d8dde3"/>'
        f'<text x="4" y="{y(1.0) + 4:.1f}">{_pct(1.0)}</text><text x="4" y="{y(floor) + 4:.1f}">{_pct(floor)}</text>'
        f'<line class="target" x1="{left}" x2="{width - right}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
        f'stroke="#c77700" stroke-dasharray="6 4" stroke-width="1.5"/>'
        f'<text x="{width - right - 120}" y="{y(target) - 4:.1f}">target {_pct(target)}</text>'
        f'<polyline class="attainment" points="{line}" fill="none" stroke="#1d6fb8" stroke-width="1.8"/>{misses}'
        f'<text x="{left}" y="{height - 8}">{first}</text><text x="{width - right - 40}" y="{height - 8}">{last}</text>'
        f"</svg>"
    )


def _evidence(rec: Recommendation, findings: Sequence[AgentFinding]) -> str:
    rows = [
        ("Attained", f"{_pct(rec.attained)} over {rec.events:,} requests in {rec.history_days:g} days"),
        ("Confidence", f"{rec.confidence:.2f}"),
    ]
    if rec.dependency_ceiling is not None:
        rows.append(
            (
                "Dependency ceiling",
                _pct(rec.dependency_ceiling) + (f" (capped by {rec.capped_by})" if rec.capped_by else ""),
            )
        )
    if rec.options:
        rows.append(("Options", ", ".join(f"{o.name} {_pct(o.target)}" for o in rec.options)))
    if rec.backtest is not None:
        b = rec.backtest
        rows.append(
            (
                "Backtest",
                f"{b.windows_breached} of {b.windows_evaluated} windows breached; worst budget use "
                f"{b.worst_budget_consumed:.0%}; {b.page_alerts} page / {b.ticket_alerts} ticket alerts",
            )
        )
    for f in findings:
        rows.append((f"{f.agent} finding", f"{f.summary} (confidence {f.self_evaluation.confidence:.2f})"))
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    risks = "".join(f"<li>{escape(r)}</li>" for r in rec.risks)
    return f'<table class="evidence">{table}</table>' + (f'<ul class="risks">{risks}</ul>' if risks else "")


def recommendation_card(
    rec: Recommendation, points: Sequence[tuple[int, float]], findings: Sequence[AgentFinding], csrf: str
) -> str:
    sli = f"latency ≤ {rec.threshold_ms:g} ms" if rec.threshold_ms else rec.sli.value
    label = f"{rec.service} {sli}"
    return f"""<section class="card recommendation" id="{escape(rec.id)}" data-id="{escape(rec.id)}">
<h2>{escape(rec.service)} · {escape(sli)} · target {_pct(rec.target)}</h2>
<p class="meta">{escape(rec.id)} · {rec.window_days}-day window · proposed {rec.created_at:%Y-%m-%d %H:%M} UTC</p>
{attainment_svg(points, rec.target, label)}
{_evidence(rec, findings)}
<p class="rationale">{escape(rec.rationale)}</p>
<form class="decide" method="post" action="/ui/recommendations/{escape(rec.id)}/decision">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<textarea name="reason" placeholder="Why (recorded with your name)" maxlength="4000" aria-label="Reason"></textarea>
<button class="approve" name="decision" value="approve">Approve</button>
<button class="reject" name="decision" value="reject">Reject</button></form></section>"""


def pending_page(
    user: str,
    csrf: str,
    cards: Sequence[str],
    decided: Sequence[Recommendation],
    flash: str | None = None,
    extra_note: str | None = None,
) -> str:
    note = f'<p class="flash" role="status">{escape(flash)}</p>' if flash else ""
    if extra_note:
        note += f'<p class="flash error" role="alert">{escape(extra_note)}</p>'
    listing = "".join(cards) or '<p class="card empty">No recommendation is waiting for a decision.</p>'
    rows = "".join(
        f'<tr data-id="{escape(r.id)}"><td>{escape(r.service)}</td><td>{escape(r.sli.value)}</td>'
        f'<td>{_pct(r.target)}</td><td class="status-{escape(r.status.value)}">{escape(r.status.value)}</td>'
        f"<td>{escape(r.decided_by or '')}</td>"
        f"<td>{escape(r.decision_reason or '')}</td></tr>"
        for r in decided
    )
    recent = (
        '<div class="card"><h2>Recently decided</h2><table id="decided"><tr><th>Service</th><th>SLI</th>'
        f"<th>Target</th><th>Status</th><th>By</th><th>Reason</th></tr>{rows}</table></div>"
        if decided
        else ""
    )
    body = f"{note}<h1>Pending recommendations ({len(cards)})</h1>{listing}{recent}"
    return layout("Pending recommendations - SLO engine", body, user, csrf)


def message_page(title: str, message: str, user: str | None = None, csrf: str | None = None) -> str:
    back = '<p><a href="/ui/pending">Back to pending recommendations</a></p>'
    body = f'<div class="card"><h2>{escape(title)}</h2><p class="message">{escape(message)}</p>{back}</div>'
    return layout(f"{title} - SLO engine", body, user, csrf)
