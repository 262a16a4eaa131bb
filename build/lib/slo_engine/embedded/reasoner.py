"""The deterministic reasoner: the embedded stand-in for the language model.

It plans (every service, both SLIs, feedback carried as notes), explains recommendations in plain
words from the numbers the math produced, and extracts runbook resolutions with rules. It never
invents a number; the Bedrock adapter fills the same contracts with a model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slo_engine.models import (
    AgentFinding,
    Plan,
    Recommendation,
    Resolution,
    ServiceNode,
    ServicePlan,
    SLIKind,
)

if TYPE_CHECKING:
    from slo_engine.discovery.events import ExtractedDependency


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

    def extract_dependencies(self, service: str, text: str, known_services: Sequence[str]) -> list[ExtractedDependency]:
        from slo_engine.discovery.extraction import extract_dependencies_by_rules

        return extract_dependencies_by_rules(service, text, known_services)

    def answer(self, question: str, context: dict[str, Any]) -> str:
        """Answer from the context alone, picking what the question asks about by its words; never a new number."""
        service = str(context.get("service", "this service"))
        words = set(re.findall(r"[a-z]+", question.lower()))
        recs: list[dict[str, Any]] = list(context.get("recommendations", []))
        findings: list[dict[str, Any]] = list(context.get("findings", []))
        memory: dict[str, list[dict[str, str]]] = context.get("memory", {})
        parts: list[str] = []
        topics = {
            "dependency": {"depend", "depends", "dependency", "dependencies", "ceiling", "capped", "upstream"},
            "runbook": {"runbook", "runbooks", "incident", "incidents", "failure", "outage", "mitigate", "fix"},
            "feedback": {"feedback", "team", "complained", "strict", "loose"},
            "status": {"approved", "approve", "rejected", "status", "decided", "who", "pending"},
        }
        asked = {topic for topic, keys in topics.items() if words & keys}
        if not recs and not findings:
            return f"Nothing is known about {service} yet: no recommendation or finding has been recorded for it."
        if "status" in asked or not asked:
            for r in recs:
                who = f" by {r['decided_by']}" if r.get("decided_by") else ""
                parts.append(f"The {r['sli']} SLO of {service} is {r['status']}{who} at {float(r['target']):.4%}.")
        if "dependency" in asked:
            capped = [r for r in recs if r.get("capped_by")]
            parts += [f"The {r['sli']} target is capped by dependency {r['capped_by']}." for r in capped]
            ceilings = [r for r in recs if r.get("dependency_ceiling") is not None]
            parts += [f"Its dependencies allow at most {float(r['dependency_ceiling']):.4%}." for r in ceilings[:1]]
            parts += [f["summary"] for f in findings if f.get("agent") == "relationship"][:1]
        if "runbook" in asked:
            parts += [f["summary"] for f in findings if f.get("agent") == "runbook"][:1]
            for f in findings:
                if f.get("agent") == "runbook" and f.get("evidence"):
                    parts.append(f"Runbook evidence: {str(f['evidence'][0])[:200]}")
                    break
        if "feedback" in asked:
            items = memory.get("feedback", [])
            parts += [f"Feedback ({i['kind']}) from {i['by']}: {i['text']}" for i in items[-3:]] or [
                f"No feedback has been recorded for {service}."
            ]
        if not asked:
            parts += [r["rationale"] for r in recs if r.get("rationale")][:2]
            parts += [f["summary"] for f in findings if f.get("agent") == "metric"][:1]
        return " ".join(parts) or f"The recorded evidence about {service} does not answer that question."
