"""The route logic of the REST API over the Engine's ports: one method per operation, and ``dispatch`` which
validates the input, runs the operation, records state changes in the audit log and maps errors to HTTP codes.

Both adapters in (the Lambda entrypoint and the local server) call ``dispatch``; neither has route logic of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, TypeAdapter

from slo_engine.agents.context import ContextManager
from slo_engine.api.errors import BadRequest, NotFound, error_response
from slo_engine.api.models import (
    Caller,
    ConverseRequest,
    ConverseResponse,
    DecisionRecorded,
    DecisionRequest,
    FeedbackAccepted,
    FeedbackRequest,
    RecommendationView,
    ResourceId,
    RunAccepted,
    RunStatus,
    ServiceName,
    ServiceSlos,
    SloHistoryItem,
    StartRecommendationRequest,
)
from slo_engine.api.runs import RunRecord, WorkflowRuns
from slo_engine.engine import Engine
from slo_engine.models import (
    AgentFinding,
    ApprovalDecision,
    ContextEntry,
    FeedbackRecord,
    Recommendation,
    RecommendationStatus,
    SLIKind,
)
from slo_engine.models.audit import AuditEvent
from slo_engine.ports import AuditLog

logger = logging.getLogger(__name__)

Operation = Literal[
    "start_recommendation",
    "get_recommendation",
    "list_service_slos",
    "submit_feedback",
    "converse",
    "decide_recommendation",
]
_RESOURCE_ID: TypeAdapter[str] = TypeAdapter(ResourceId)
_SERVICE_NAME: TypeAdapter[str] = TypeAdapter(ServiceName)
DAY = 86400


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] | None = None


def _collect_findings(doc: dict[str, Any]) -> list[AgentFinding]:
    from slo_engine.workflow.steps import collect_findings

    return collect_findings(doc.get("findings", []))


class ApiService:
    """The operations of the API. ``runs`` starts workflows; ``audit`` records every state change."""

    def __init__(self, engine: Engine, runs: WorkflowRuns, audit: AuditLog) -> None:
        self.engine = engine
        self.runs = runs
        self.audit = audit

    # -- dispatch --------------------------------------------------------------------------------------------

    def dispatch(self, operation: str, path: dict[str, str], body: Any, caller: Caller) -> ApiResponse:
        """Answer one request; every failure becomes a status and a JSON ``ErrorBody`` (never an exception)."""
        try:
            handler = self._operations().get(operation)
            if handler is None:
                raise NotFound(f"no operation {operation!r}")
            status, model = handler(path, body, caller)
            return ApiResponse(status, model.model_dump(mode="json"))
        except Exception as error:
            status, payload = error_response(error)
            if status >= 500:
                logger.exception("operation %s failed", operation)
            return ApiResponse(status, payload)

    def _operations(self) -> dict[str, Callable[[dict[str, str], Any, Caller], tuple[int, BaseModel]]]:
        return {
            "start_recommendation": lambda p, b, c: (
                202,
                self.start_recommendation(_body(StartRecommendationRequest, b), c),
            ),
            "get_recommendation": lambda p, b, c: (200, self.get_recommendation(_path_id(p, "id"))),
            "list_service_slos": lambda p, b, c: (200, self.list_service_slos(_path_service(p))),
            "submit_feedback": lambda p, b, c: (
                201,
                self.submit_feedback(_path_id(p, "id"), _body(FeedbackRequest, b), c),
            ),
            "converse": lambda p, b, c: (200, self.converse(_body(ConverseRequest, b), c)),
            "decide_recommendation": lambda p, b, c: (
                200,
                self.decide_recommendation(_path_id(p, "id"), _body(DecisionRequest, b), c),
            ),
        }

    # -- operations ------------------------------------------------------------------------------------------

    def start_recommendation(self, request: StartRecommendationRequest, caller: Caller) -> RunAccepted:
        known = set(self.engine.metrics.services()) | {s.name for s in self.engine.graph.services()}
        unknown = [s for s in request.services if s not in known]
        if unknown:
            raise NotFound(f"unknown services: {', '.join(unknown[:20])}", details=[f"services: {s}" for s in unknown])
        if not known:
            raise BadRequest("no service has telemetry or a graph entry yet: load data before asking for SLOs")
        record = self.runs.start(request, caller.id)
        self._audit(
            caller,
            "recommendation.start",
            ",".join(request.services) or "*",
            record.id,
            request.model_dump(mode="json"),
        )
        return RunAccepted(id=record.id, status="running", location=f"/recommendations/{record.id}")

    def get_recommendation(self, item_id: str) -> RecommendationView:
        record = self.runs.get(item_id)
        if record is not None:
            return self._run_view(record)
        rec = self.engine.state.get_recommendation(item_id)
        if rec is None:
            raise NotFound(f"no run or recommendation with id {item_id!r}")
        return RecommendationView(
            id=rec.id,
            kind="recommendation",
            status=_status_of([rec]),
            created_at=rec.created_at,
            services=[rec.service],
            recommendations=[rec],
        )

    def list_service_slos(self, service: str) -> ServiceSlos:
        recs = self.engine.state.list_recommendations(service=service)
        if not recs and service not in set(self.engine.metrics.services()):
            raise NotFound(f"no SLO or telemetry is known for service {service!r}")
        newest_first = sorted(recs, key=lambda r: r.created_at, reverse=True)
        approved: dict[SLIKind, Recommendation] = {}
        for rec in newest_first:
            if rec.status is RecommendationStatus.APPROVED:
                approved.setdefault(rec.sli, rec)
        return ServiceSlos(
            service=service,
            approved=list(approved.values()),
            history=[
                SloHistoryItem(
                    id=r.id,
                    sli=r.sli,
                    target=r.target,
                    threshold_ms=r.threshold_ms,
                    window_days=r.window_days,
                    status=r.status.value,
                    decided_by=r.decided_by,
                    decision_reason=r.decision_reason,
                    created_at=r.created_at,
                )
                for r in newest_first
            ],
        )

    def submit_feedback(self, recommendation_id: str, request: FeedbackRequest, caller: Caller) -> FeedbackAccepted:
        rec = self.engine.state.get_recommendation(recommendation_id)
        if rec is None:
            raise NotFound(f"no recommendation with id {recommendation_id!r}")
        record = FeedbackRecord(
            service=rec.service, recommendation_id=rec.id, by=caller.id[:200], kind=request.kind, text=request.text
        )
        self.engine.state.add_feedback(record)
        self._audit(caller, "feedback.submit", rec.service, rec.id, {"kind": request.kind})
        return FeedbackAccepted(
            recommendation_id=rec.id, service=rec.service, kind=record.kind, by=record.by, recorded_at=record.at
        )

    def converse(self, request: ConverseRequest, caller: Caller) -> ConverseResponse:
        service = request.service
        recs = self.engine.state.list_recommendations(service=service)
        if request.recommendation_id is not None:
            recs = [r for r in recs if r.id == request.recommendation_id]
            if not recs:
                raise NotFound(f"no recommendation {request.recommendation_id!r} for service {service!r}")
        if not recs and service not in set(self.engine.metrics.services()):
            raise NotFound(f"nothing is known about service {service!r}")
        newest = sorted(recs, key=lambda r: r.created_at, reverse=True)[:4]
        findings = self._findings_for(service, newest)
        memory = ContextManager(self.engine.state, self.engine.config).for_service(service)
        context = {
            "service": service,
            "memory": memory,
            "recommendations": [
                r.model_dump(
                    mode="json",
                    include={
                        "id",
                        "sli",
                        "target",
                        "status",
                        "attained",
                        "confidence",
                        "dependency_ceiling",
                        "capped_by",
                        "risks",
                        "rationale",
                        "decided_by",
                        "threshold_ms",
                        "window_days",
                    },
                )
                for r in newest
            ],
            "findings": [
                {
                    "agent": f.agent,
                    "summary": f.summary,
                    "confidence": f.self_evaluation.confidence,
                    "evidence": [e.statement for e in f.evidence[:3]],
                }
                for f in findings
            ],
        }
        answer = self.engine.reasoner.answer(request.question, context)
        self.engine.state.add_context(ContextEntry(service=service, question=request.question, answer=answer))
        self._audit(caller, "converse.ask", service, request.recommendation_id, {"question": request.question[:200]})
        sources = [f"recommendation {r.id}" for r in newest] + [f"{f.agent} finding" for f in findings]
        sources += [f"{len(memory.get('feedback', []))} feedback and {len(memory.get('qa', []))} past answers"]
        return ConverseResponse(
            service=service, question=request.question, answer=answer, asked_by=caller.id, sources=sources
        )

    def decide_recommendation(
        self, recommendation_id: str, request: DecisionRequest, caller: Caller
    ) -> DecisionRecorded:
        """A person's approve/reject of one pending recommendation (the local pending list's form)."""
        decided = self.engine.state.record_decision(
            ApprovalDecision(
                recommendation_id=recommendation_id, approved=request.approve, by=caller.id[:200], reason=request.reason
            )
        )
        self._audit(
            caller,
            "recommendation.approve" if request.approve else "recommendation.reject",
            decided.service,
            decided.id,
            {"reason": request.reason[:500], "target": decided.target},
        )
        self.engine.state.add_context(
            ContextEntry(
                service=decided.service,
                question=f"{decided.sli.value} SLO recommended at {decided.target:.4%} over {decided.window_days} days",
                answer=f"{decided.status.value} by {decided.decided_by}: {request.reason}".strip(": "),
            )
        )
        return DecisionRecorded(recommendation=decided)

    # -- evidence for pages ------------------------------------------------------------------------------------

    def attainment_history(self, rec: Recommendation, days: int | None = None) -> list[tuple[int, float]]:
        """Daily attainment of the recommendation's SLI from the metric store: ``(day start epoch, fraction)``."""
        series = self.engine.metrics.series(rec.service)
        if len(series) == 0 or series.total_requests == 0:
            return []
        daily = series.rollup(DAY) if DAY % series.step == 0 else series
        if rec.sli is SLIKind.LATENCY and rec.threshold_ms is not None:
            from slo_engine.slo.sli import latency_good_counts

            good = np.asarray(
                latency_good_counts(daily.latency_counts, daily.bounds, rec.threshold_ms, interpolate=True),
                dtype=np.float64,
            )
            total = daily.latency_counts.sum(axis=1).astype(np.float64)
        else:
            good = (daily.requests - daily.errors).astype(np.float64)
            total = daily.requests.astype(np.float64)
        points = [(daily.start + i * daily.step, float(good[i] / total[i])) for i in range(len(daily)) if total[i] > 0]
        return points[-days:] if days else points

    def pending(self) -> list[Recommendation]:
        return self.engine.state.list_recommendations(status=RecommendationStatus.PENDING.value)

    def findings_for(self, rec: Recommendation) -> list[AgentFinding]:
        return self._findings_for(rec.service, [rec])

    # -- helpers -----------------------------------------------------------------------------------------------

    def _run_view(self, record: RunRecord) -> RecommendationView:
        doc = record.doc
        ids = (doc.get("summary") or {}).get("recommendation_ids", [])
        recs = [r for r in (self.engine.state.get_recommendation(i) for i in ids) if r is not None]
        status: RunStatus = (
            "running" if record.status == "running" else "failed" if record.status == "failed" else _status_of(recs)
        )
        return RecommendationView(
            id=record.id,
            kind="run",
            status=status,
            requested_by=record.requested_by,
            created_at=record.created_at,
            services=(doc.get("context") or {}).get("services", record.request.get("services", [])),
            states=record.states,
            findings=_collect_findings(doc),
            review=list(doc.get("review") or []),
            summary=(doc.get("summary") or {}).get("text"),
            result=doc.get("result"),
            recommendations=recs,
            error=record.error,
        )

    def _findings_for(self, service: str, recs: list[Recommendation]) -> list[AgentFinding]:
        """The agents' findings about ``service`` from the run that produced the newest of ``recs`` (local runs)."""
        find = getattr(self.runs, "run_for_recommendation", None)
        record = find(recs[0].id) if find is not None and recs else None
        if record is None:
            return []
        return [f for f in _collect_findings(record.doc) if f.service in (service, "*")]

    def _audit(self, caller: Caller, action: str, service: str, target_id: str | None, detail: dict[str, Any]) -> None:
        self.audit.append(
            AuditEvent(
                actor=caller.id,
                actor_kind=caller.kind,
                action=action,
                service=service[:200] or "*",
                target_id=target_id,
                detail=detail,
                request_id=caller.request_id,
                source_ip=caller.source_ip,
            )
        )


def _status_of(recs: list[Recommendation]) -> RunStatus:
    statuses = {r.status for r in recs}
    if RecommendationStatus.PENDING in statuses:
        return "awaiting_approval"
    if statuses == {RecommendationStatus.REJECTED}:
        return "rejected"
    return "finalized"


def _body(model: type[BaseModel], body: Any) -> Any:
    if body is None:
        body = {}
    return model.model_validate(body)


def _path_id(path: dict[str, str], name: str) -> str:
    value = path.get(name) or path.get("recommendation_id") or ""
    return _RESOURCE_ID.validate_python(value)


def _path_service(path: dict[str, str]) -> str:
    return _SERVICE_NAME.validate_python(path.get("name") or path.get("service_name") or "")
