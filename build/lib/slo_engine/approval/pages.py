"""The approval pages: the HTML form behind an email link, and the clear pages for every outcome.

Every value shown is HTML-escaped; a GET never decides (mail scanners follow links), only the form's POST does.
"""

from __future__ import annotations

from html import escape

from slo_engine.approval.links import SignedLink
from slo_engine.approval.models import PendingApproval

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
    "pre{white-space:pre-wrap;background:#f4f4f4;padding:1rem}label{display:block;margin:.6rem 0 .2rem}"
    "input[type=text],textarea{width:100%}button{margin-right:1rem;padding:.4rem 1rem}"
)


def page(title: str, body_html: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{_STYLE}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body_html}</body></html>"
    )


def message_page(title: str, message: str) -> str:
    return page(title, f"<p>{escape(message)}</p>")


def approval_form(approval: PendingApproval, link: SignedLink) -> str:
    """The decision form: the summary, the approver's name and reason, approve / reject buttons."""
    choices = ("approve", "reject") if link.action == "review" else (link.action,)
    buttons = "".join(
        f'<button type="submit" name="action" value="{a}">{"Approve" if a == "approve" else "Reject"}</button>'
        for a in choices
    )
    named = (
        "<p><strong>A tier-0 service is included: give your own name; automatic approvers are refused.</strong></p>"
        if approval.needs_named_approver
        else ""
    )
    expires = approval.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return page(
        "SLO approval",
        f"<pre>{escape(approval.summary)}</pre>{named}"
        f'<form method="post" action="/approvals/{escape(approval.approval_id)}">'
        f'<input type="hidden" name="link_action" value="{escape(link.action)}">'
        f'<input type="hidden" name="exp" value="{link.expires}">'
        f'<input type="hidden" name="sig" value="{escape(link.signature)}">'
        '<label for="by">Your name</label><input type="text" id="by" name="by" required maxlength="200">'
        '<label for="reason">Reason</label><textarea id="reason" name="reason" rows="3" maxlength="4000"></textarea>'
        f"<p>{buttons}</p></form><p><small>This link expires at {escape(expires)} and works once.</small></p>",
    )
