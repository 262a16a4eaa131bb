"""Runbook Discovery: known failure modes, their fixes and time to mitigate, from the runbook index."""

from __future__ import annotations

import statistics

from slo_engine.models import AgentFinding, Evidence, SelfEvaluation
from slo_engine.ports import RunbookIndex


class RunbookDiscoveryAgent:
    def __init__(self, index: RunbookIndex, k: int = 3) -> None:
        self._index = index
        self._k = k

    def discover(self, service: str, symptoms: list[str] | None = None) -> AgentFinding:
        query = " ".join([service, *(symptoms or ["errors outage latency mitigation"])])
        hits = [h for h in self._index.search(query, service=service, k=self._k) if h.score > 0]
        minutes = [h.resolution.minutes_to_mitigate for h in hits if h.resolution and h.resolution.minutes_to_mitigate]
        evidence = [
            Evidence(
                source="runbook",
                statement=f"{h.heading}: " + (h.resolution.likely_cause if h.resolution else "")[:200],
                value=h.resolution.minutes_to_mitigate if h.resolution else None,
                ref=h.link or f"{h.repository}:{h.path}",
            )
            for h in hits
        ]
        if not hits:
            return AgentFinding(
                agent="runbook",
                service=service,
                summary=f"no runbook mentions {service}",
                self_evaluation=SelfEvaluation(confidence=0.3, reasons=["no runbook found: failure modes unknown"]),
                data={"hits": [], "minutes_to_mitigate": None},
            )
        return AgentFinding(
            agent="runbook",
            service=service,
            summary=f"{len(hits)} runbook sections for {service}",
            evidence=evidence,
            self_evaluation=SelfEvaluation(
                confidence=0.8 if minutes else 0.6,
                reasons=["runbooks state time to mitigate"] if minutes else ["runbooks give no time to mitigate"],
            ),
            data={
                "hits": [h.model_dump(exclude={"text"}) for h in hits],
                "minutes_to_mitigate": max(minutes) if minutes else None,
                "median_minutes_to_mitigate": statistics.median(minutes) if minutes else None,
            },
        )
