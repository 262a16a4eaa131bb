"""The deterministic reasoner: the embedded stand-in for the language model.

It plans (every service, both SLIs, feedback carried as notes), explains recommendations in plain
words from the numbers the math produced, and extracts runbook resolutions with rules. It never
invents a number; the Bedrock adapter fills the same contracts with a model.
"""

from __future__ import annotations

from collections.abc import Sequence

from slo_engine.models import (
    AgentFinding,
    Plan,
    Recommendation,
    Resolution,
    ServiceNode,
    ServicePlan,
    SLIKind,
)


class DeterministicReasoner:
    def plan(self, services: Sequence[ServiceNode], context: dict[str, list[str]], window_days: int) -> Plan:
        ordered = sorted(services, key=lambda s: (s.tier if s.tier is not None else 9, s.name))
        return Plan(
            services=[
                ServicePlan(
                    service=s.name,
                    slis=[SLIKind.AVAILABILITY, SLIKind.LATENCY],
                    tier=s.tier,
                    notes=context.get(s.name, []),
                )
                for s in ordered
            ],
            window_days=window_days,
            rationale=(
                f"Recommend availability and latency SLOs over {window_days} days for {len(ordered)} services, "
                "most critical tiers first; metric, relationship and runbook discovery run in parallel."
            ),
        )

    def explain(self, recommendation: Recommendation, findings: Sequence[AgentFinding]) -> str:
        r = recommendation
        what = (
            f"{r.target:.4%} of requests at or under {r.threshold_ms:g} ms"
            if r.sli is SLIKind.LATENCY and r.threshold_ms
            else f"{r.target:.4%} availability"
        )
        parts = [f"Recommend {what} over a rolling {r.window_days}-day window."]
        if r.attained is not None:
            parts.append(f"History attained {r.attained:.4%} over {r.events:,} requests in {r.history_days:g} days.")
        chosen = next((o for o in r.options if o.target == r.target), None)
        if r.options:
            names = ", ".join(f"{o.name} {o.target:.4%}" for o in r.options)
            parts.append(f"Options from rolling attainment percentiles: {names}.")
        if chosen is None and r.options:
            parts.append("The target sits below the options: the checks noted below lowered it.")
        if r.dependency_ceiling is not None:
            parts.append(
                f"Its own reliability and the observed availability of its hard dependencies allow at most "
                f"{r.dependency_ceiling:.4%}."
            )
        if r.backtest is not None:
            b = r.backtest
            parts.append(
                f"Backtest: {b.windows_breached} of {b.windows_evaluated} windows breached, worst budget use "
                f"{b.worst_budget_consumed:.0%}, {b.page_alerts} page and {b.ticket_alerts} ticket alerts "
                "would have fired."
            )
        for f in findings:
            if f.agent == "runbook" and f.evidence and not f.failed:
                parts.append(f"Runbook evidence: {f.evidence[0].statement.strip()[:160]} ({f.evidence[0].ref}).")
                break
        return " ".join(parts)

    def extract_resolution(self, heading: str, text: str) -> Resolution:
        from slo_engine.knowledge.extraction import extract_resolution

        return extract_resolution(heading, text)
