"""The Reviewer: merges findings per service and rejects optimism.

It starts from the balanced option (or the option feedback asks for), then lowers targets that
exceed the dependency ceiling or leave no room for a known failure's time to mitigate, and keeps
latency thresholds at or above those of synchronous dependencies. Every change carries its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slo_engine.models import AgentFinding, ReviewVerdict, SLIKind
from slo_engine.slo.targets import round_down_to_ladder, step_down

FEEDBACK_OPTION = {"too_strict": "conservative", "too_loose": "aggressive"}


@dataclass
class ServiceEvidence:
    """Everything the agents found about one service."""

    service: str
    metric: AgentFinding | None = None
    relationship: AgentFinding | None = None
    runbook: AgentFinding | None = None
    feedback: list[dict[str, str]] = field(default_factory=list)

    def failed_agents(self) -> list[str]:
        return [f.agent for f in (self.metric, self.relationship, self.runbook) if f is not None and f.failed]


@dataclass
class ReviewedSLI:
    verdict: ReviewVerdict
    candidate: dict[str, Any]
    option: str
    ceiling: float | None = None
    capped_by: str | None = None
    risks: list[str] = field(default_factory=list)


def _floor_target(value: float) -> float:
    rung = round_down_to_ladder(value)
    return rung if rung is not None else max(0.01, int(value * 100) / 100)


def _option_target(candidate: dict[str, Any], name: str) -> float:
    return next(float(o["target"]) for o in candidate["options"] if o["name"] == name)


class Reviewer:
    def __init__(self, window_days: int, latency_objective: float = 0.99) -> None:
        self._window_days = window_days
        self._latency_objective = latency_objective

    def review(
        self, evidence: ServiceEvidence, dependency_thresholds: dict[str, float] | None = None
    ) -> list[ReviewedSLI]:
        metric = evidence.metric
        if metric is None or metric.failed or not metric.data.get("availability"):
            return []
        option = "balanced"
        option_note: list[str] = []
        if evidence.feedback:
            latest = evidence.feedback[-1]
            wanted = FEEDBACK_OPTION.get(latest.get("kind", ""))
            if wanted:
                option = wanted
                option_note.append(
                    f"feedback from {latest.get('by', 'someone')} ({latest['kind'].replace('_', ' ')}): "
                    f"using the {wanted} option"
                )
        out = [self._review_availability(evidence, metric.data["availability"], option, option_note)]
        latency = self._review_latency(evidence, option, option_note, dependency_thresholds or {})
        if latency is not None:
            out.append(latency)
        return out

    def _review_availability(
        self, evidence: ServiceEvidence, candidate: dict[str, Any], option: str, notes: list[str]
    ) -> ReviewedSLI:
        proposed = _option_target(candidate, option)
        reviewed = proposed
        adjustments = list(notes)
        risks: list[str] = []
        ceiling_value: float | None = None
        capped_by: str | None = None
        rel = evidence.relationship
        if rel is not None and not rel.failed and rel.data.get("ceiling"):
            ceiling = rel.data["ceiling"]
            ceiling_value = float(ceiling["value"])
            if reviewed > ceiling_value + 1e-12:
                capped_by = ceiling.get("capped_by") or evidence.service
                reviewed = _floor_target(ceiling_value)
                path = " -> ".join(ceiling.get("path") or [evidence.service, capped_by])
                adjustments.append(
                    f"lowered from {proposed:.4%} to {reviewed:.4%}: dependency ceiling {ceiling_value:.4%} "
                    f"(capped by dependency {capped_by}; path {path})"
                )
                risks.append(f"capped by dependency {capped_by}")
            for cycle in rel.data.get("cycles") or []:
                risks.append("circular dependency: " + " -> ".join([*cycle, cycle[0]]))
        run = evidence.runbook
        if run is not None and not run.failed and run.data.get("minutes_to_mitigate"):
            mttm = float(run.data["minutes_to_mitigate"])
            budget_minutes = self._window_days * 1440 * (1 - reviewed)
            if mttm > budget_minutes / 2:
                lowered = step_down(reviewed)
                adjustments.append(
                    f"lowered from {reviewed:.4%} to {lowered:.4%}: a known failure takes about {mttm:g} min to "
                    f"mitigate, more than half the {budget_minutes:.0f} min of budget a {reviewed:.4%} target "
                    f"leaves per {self._window_days} days"
                )
                reviewed = lowered
        follow_up = None
        if rel is not None and rel.failed:
            follow_up = "RelationshipDiscovery: dependency ceiling unavailable; re-run before approval"
            risks.append("dependency ceiling unknown (relationship discovery failed)")
        if run is not None and run.failed:
            risks.append("runbook evidence unavailable (runbook discovery failed)")
        verdict = ReviewVerdict(
            service=evidence.service,
            sli=SLIKind.AVAILABILITY,
            proposed_target=proposed,
            reviewed_target=reviewed,
            adjustments=adjustments,
            follow_up=follow_up,
        )
        return ReviewedSLI(verdict, candidate, option, ceiling_value, capped_by, risks)

    def _review_latency(
        self,
        evidence: ServiceEvidence,
        option: str,
        notes: list[str],
        dependency_thresholds: dict[str, float],
    ) -> ReviewedSLI | None:
        metric = evidence.metric
        assert metric is not None
        chosen = metric.data.get("latency")
        if not chosen:
            return None
        adjustments = list(notes)
        hard = (evidence.relationship.data.get("hard_dependencies") or []) if evidence.relationship else []
        dep_floor = max((dependency_thresholds[d] for d in hard if d in dependency_thresholds), default=None)
        if dep_floor is not None and (chosen["threshold_ms"] or 0) < dep_floor:
            by_threshold = metric.data.get("latency_by_threshold") or []
            raised = next((c for c in by_threshold if c["threshold_ms"] >= dep_floor), None)
            if raised is not None:
                culprit = next(d for d in hard if dependency_thresholds.get(d) == dep_floor)
                adjustments.append(
                    f"threshold raised from {chosen['threshold_ms']:g} ms to {raised['threshold_ms']:g} ms: "
                    f"synchronous dependency {culprit} is held to {dep_floor:g} ms"
                )
                chosen = raised
        # A latency SLO is "objective share of requests under the threshold"; history above it picks the
        # threshold, not a higher share.
        supported = _option_target(chosen, option)
        proposed = min(supported, self._latency_objective)
        if proposed < supported:
            adjustments.append(
                f"held at the {self._latency_objective:.2%} latency objective (history supports {supported:.4%} "
                f"under {chosen['threshold_ms']:g} ms)"
            )
        verdict = ReviewVerdict(
            service=evidence.service,
            sli=SLIKind.LATENCY,
            proposed_target=proposed,
            reviewed_target=proposed,
            adjustments=adjustments,
        )
        return ReviewedSLI(verdict, chosen, option)
