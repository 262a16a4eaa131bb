"""The local pipeline: load data into the embedded stores, run the workflow, return recommendations.

``make demo`` and ``slo-engine recommend`` both come through here; the workflow itself is the
Step Functions definition run by the local orchestrator over the same core the Lambdas call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from slo_engine.engine import Engine
from slo_engine.models import Recommendation, ServiceGraph, ServiceSnapshot
from slo_engine.models.slo import ExclusionWindow
from slo_engine.ports import WriteReport
from slo_engine.workflow.orchestrator import Approver, LocalOrchestrator, Progress, RunResult
from slo_engine.workflow.steps import Doc, RecommendationRequest, auto_decide


def manual_approver(engine: Engine, doc: Doc) -> Doc:
    """Leave every recommendation pending: a human decides later (`slo-engine approvals decide`)."""
    return {"approved": [], "held": list(doc["summary"]["recommendation_ids"]), "by": None, "mode": "manual"}


def approver_for(mode: str) -> Approver:
    if mode == "auto":
        return lambda engine, doc: auto_decide(engine, doc)
    if mode == "manual":
        return manual_approver
    raise ValueError(f"approval mode must be auto or manual, not {mode!r}")


@dataclass
class PipelineResult:
    run: RunResult
    recommendations: list[Recommendation]
    load: WriteReport = field(default_factory=WriteReport)
    notes: list[str] = field(default_factory=list)


def load_graph(engine: Engine, graph: ServiceGraph) -> None:
    engine.graph.upsert_services(graph.services)
    engine.graph.upsert_dependencies(graph.dependencies)


def load_snapshots(engine: Engine, snapshots: Iterable[ServiceSnapshot]) -> WriteReport:
    return engine.metrics.write_snapshots(snapshots)


def load_runbooks(engine: Engine, root: Path, known_services: Iterable[str] = ()) -> int:
    from slo_engine.knowledge.indexing import index_directory

    report = index_directory(engine.runbooks, root, known_services=tuple(known_services))
    return int(getattr(report, "chunks", 0))


def run_workflow(
    engine: Engine,
    *,
    approve: str = "manual",
    services: list[str] | None = None,
    window_days: int | None = None,
    exclusions: list[ExclusionWindow] | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    approver: Approver | None = None,
) -> PipelineResult:
    """Run the state machine locally; ``approver`` (the HumanApproval step) defaults to the ``approve`` mode's."""
    request = RecommendationRequest(
        run_id=run_id or f"run-{uuid.uuid4().hex[:12]}",
        services=services or [],
        window_days=window_days,
        exclusions=exclusions or [],
        approve=approve,
    )
    orchestrator = LocalOrchestrator(engine, approver or approver_for(approve), progress=progress)
    run = orchestrator.run(request)
    ids = (run.doc.get("summary") or {}).get("recommendation_ids", [])
    recs = [r for r in (engine.state.get_recommendation(i) for i in ids) if r is not None]
    return PipelineResult(run=run, recommendations=recs)
