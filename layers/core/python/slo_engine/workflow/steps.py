"""The workflow's states as pure functions over the JSON state document.

Each function takes the ``Engine`` (its ports) and the document (``request``, ``context``, ``plan``,
``findings``, ``review``, ``safety``, ``summary``, ``decision`` ...) and returns the JSON its state adds.
The same functions run inside the Lambda handlers and in the local orchestrator, so both take the
same path through the state machine definition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, Field

from slo_engine.agents.context import ContextManager
from slo_engine.agents.metric import MetricDiscoveryAgent
from slo_engine.agents.relationship import RelationshipDiscoveryAgent, current_graph
from slo_engine.agents.reviewer import ReviewedSLI, Reviewer, ServiceEvidence
from slo_engine.agents.runbook import RunbookDiscoveryAgent
from slo_engine.agents.safety import GuardrailInput, SafetyLayer
from slo_engine.engine import Engine
from slo_engine.models import (
    AgentFinding,
    ApprovalDecision,
    ContextEntry,
    Plan,
    Recommendation,
    RecommendationStatus,
    SelfEvaluation,
    SLIKind,
)
from slo_engine.models.slo import ExclusionWindow
from slo_engine.slo.budget import allowed_bad_events
from slo_engine.slo.burn_rate import alert_rules
from slo_engine.slo.confidence import confidence_score
from slo_engine.slo.traffic import alerting_traffic

Doc = dict[str, Any]
AGENT_FAILURE_CONFIDENCE = 0.2
AUTO_APPROVAL_MIN_CONFIDENCE = 0.5
"""Below this confidence even ``--approve auto`` leaves a recommendation for a human."""


class RecommendationRequest(BaseModel):
    """What a caller asks for: which services (all when empty), the window, exclusions, approval mode."""

    run_id: str = Field(min_length=1, max_length=128)
    services: list[str] = Field(default_factory=list)
    slis: list[SLIKind] = Field(default_factory=list, description="which SLIs to recommend; empty means all")
    window_days: int | None = Field(default=None, ge=1, le=366)
    exclusions: list[ExclusionWindow] = Field(default_factory=list)
    approve: str = Field(default="manual", pattern="^(auto|manual)$")
    requested_by: str = "cli"


def _request(doc: Doc) -> RecommendationRequest:
    return RecommendationRequest.model_validate(doc["request"])


def _window(engine: Engine, doc: Doc) -> int:
    return _request(doc).window_days or engine.config.window_days


def load_context(engine: Engine, doc: Doc) -> Doc:
    """LoadContext: the services in scope and what the Context Manager remembers about each."""
    request = _request(doc)
    graph = current_graph(engine.graph, engine.metrics, engine.config.observed_edge_max_age_days)
    known = {s.name for s in graph.services}
    unknown = [s for s in request.services if s not in known]
    scope = request.services or sorted(known)
    manager = ContextManager(engine.state, engine.config)
    return {
        "services": [s for s in scope if s in known],
        "unknown_services": unknown,
        "memory": {s: manager.for_service(s) for s in scope if s in known},
    }


def master_agent(engine: Engine, doc: Doc) -> Doc:
    """MasterAgent: the reasoner plans which services and SLIs to look at (validated as a ``Plan``)."""
    context = doc["context"]
    nodes = {
        s.name: s
        for s in current_graph(engine.graph, engine.metrics, engine.config.observed_edge_max_age_days).services
    }
    services = [nodes[s] for s in context["services"]]
    notes = {
        s: [f"feedback ({f['kind']}) from {f['by']}: {f['text']}" for f in mem.get("feedback", [])]
        for s, mem in context["memory"].items()
    }
    plan = Plan.model_validate(engine.reasoner.plan(services, notes, _window(engine, doc)).model_dump())
    # Whatever the reasoner planned, its plan must fit the contract and stay within what was asked.
    wanted = set(_request(doc).slis)
    if wanted:
        for service_plan in plan.services:
            service_plan.slis = [s for s in service_plan.slis if s in wanted]
    return plan.model_dump(mode="json")


def _failed(agent: str, service: str, error: Exception) -> AgentFinding:
    return AgentFinding(
        agent=agent,
        service=service,
        summary=f"{agent} discovery failed: {error}",
        self_evaluation=SelfEvaluation(confidence=AGENT_FAILURE_CONFIDENCE, reasons=[f"agent failed: {error}"]),
        failed=True,
    )


def _per_service(agent: str, doc: Doc, run: Callable[[str, list[SLIKind]], AgentFinding]) -> list[Doc]:
    plan = Plan.model_validate(doc["plan"])
    out: list[Doc] = []
    for sp in plan.services:
        try:
            finding = run(sp.service, sp.slis)
        except Exception as error:  # an agent's failure becomes a low-confidence finding, not a failed run
            finding = _failed(agent, sp.service, error)
        out.append(finding.model_dump(mode="json"))
    return out


def metric_discovery(engine: Engine, doc: Doc) -> list[Doc]:
    agent = MetricDiscoveryAgent(engine.metrics, engine.config.model_copy(update={"window_days": _window(engine, doc)}))
    exclusions = _request(doc).exclusions
    return _per_service("metric", doc, lambda s, slis: agent.discover(s, slis, exclusions))


def relationship_discovery(engine: Engine, doc: Doc) -> list[Doc]:
    agent = RelationshipDiscoveryAgent(engine.graph, engine.metrics, engine.config.observed_edge_max_age_days)
    return _per_service("relationship", doc, lambda s, _slis: agent.discover(s))


def runbook_discovery(engine: Engine, doc: Doc) -> list[Doc]:
    agent = RunbookDiscoveryAgent(engine.runbooks, engine.config.runbook_hits)
    return _per_service("runbook", doc, lambda s, _slis: agent.discover(s))


def collect_findings(value: Any) -> list[AgentFinding]:
    """Findings from the Parallel state's output, whatever wrapping the state machine gave them."""
    found: list[AgentFinding] = []
    if isinstance(value, dict):
        if "agent" in value and "service" in value and "self_evaluation" in value:
            found.append(AgentFinding.model_validate(value))
        elif "agent" in value and value.get("failed"):
            # A whole branch failed (the Catch turned it into one placeholder): it applies to every service.
            found.append(
                AgentFinding(
                    agent=value["agent"],
                    service="*",
                    summary=f"{value['agent']} discovery failed: {value.get('error', 'unknown error')}",
                    self_evaluation=SelfEvaluation(confidence=AGENT_FAILURE_CONFIDENCE, reasons=["agent failed"]),
                    failed=True,
                )
            )
        else:
            for inner in value.values():
                found.extend(collect_findings(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(collect_findings(inner))
    return found


def _evidence_by_service(doc: Doc) -> dict[str, ServiceEvidence]:
    plan = Plan.model_validate(doc["plan"])
    memory = doc.get("context", {}).get("memory", {})
    evidence = {
        sp.service: ServiceEvidence(sp.service, feedback=memory.get(sp.service, {}).get("feedback", []))
        for sp in plan.services
    }
    for finding in collect_findings(doc.get("findings", [])):
        targets = evidence.values() if finding.service == "*" else [evidence.get(finding.service)]
        for ev in targets:
            if ev is not None and finding.agent in ("metric", "relationship", "runbook"):
                setattr(ev, finding.agent, finding)
    return evidence


def reviewer(engine: Engine, doc: Doc) -> list[Doc]:
    """Reviewer: per (service, SLI), the target after rejecting optimism, with the reasons."""
    window = _window(engine, doc)
    evidence = _evidence_by_service(doc)
    review = Reviewer(window, engine.config.latency_objective)
    # Synchronous dependencies' latency thresholds first (callers are held at or above them).
    thresholds: dict[str, float] = {}
    for name, ev in evidence.items():
        if ev.metric and not ev.metric.failed and ev.metric.data.get("latency"):
            thresholds[name] = float(ev.metric.data["latency"]["threshold_ms"])
    planned = {sp.service: set(sp.slis) for sp in Plan.model_validate(doc["plan"]).services}
    out: list[Doc] = []
    for name in sorted(evidence):
        for item in review.review(evidence[name], thresholds):
            if item.verdict.sli in planned.get(name, set()):
                out.append(_reviewed_doc(item, evidence[name]))
    return out


def _reviewed_doc(item: ReviewedSLI, ev: ServiceEvidence) -> Doc:
    return {
        "verdict": item.verdict.model_dump(mode="json"),
        "candidate": item.candidate,
        "option": item.option,
        "ceiling": item.ceiling,
        "capped_by": item.capped_by,
        "risks": item.risks,
        "failed_agents": ev.failed_agents(),
        "confidence_penalty": min(
            [f.self_evaluation.confidence for f in (ev.relationship, ev.runbook) if f is not None and f.failed],
            default=1.0,
        ),
    }


def safety(engine: Engine, doc: Doc) -> list[Doc]:
    """Safety: backtest every reviewed target and apply the guardrails."""
    window = _window(engine, doc)
    layer = SafetyLayer(engine.metrics, window)
    tiers = {s["service"]: s.get("tier") for s in doc["plan"]["services"]}
    approved = {
        (r.service, r.sli.value): r.target
        for r in engine.state.list_recommendations(status=RecommendationStatus.APPROVED.value)
    }
    exclusions = _request(doc).exclusions
    out: list[Doc] = []
    loaded: tuple[str, Any] | None = None  # review items come grouped by service: read each history once
    for item in doc["review"]:
        verdict = item["verdict"]
        cand = item["candidate"]
        g = GuardrailInput(
            service=verdict["service"],
            sli=SLIKind(verdict["sli"]),
            target=float(verdict["reviewed_target"]),
            tier=tiers.get(verdict["service"]),
            history_days=float(cand["history_days"]),
            dependency_ceiling=item["ceiling"],
            attained=cand["attained"],
            approved_target=approved.get((verdict["service"], verdict["sli"])),
        )
        if loaded is None or loaded[0] != g.service:
            loaded = (g.service, engine.metrics.series(g.service))
        result = layer.check(g, threshold_ms=cand.get("threshold_ms"), exclusions=exclusions, series=loaded[1])
        out.append(
            {
                "service": g.service,
                "sli": g.sli.value,
                "target": result.target,
                "backtest": result.backtest.model_dump(mode="json") if result.backtest else None,
                "revisions": result.revisions,
                "violations": result.violations,
                "needs_named_approver": result.needs_named_approver,
            }
        )
    return out


def recommendation_id(run_id: str, service: str, sli: str) -> str:
    return "rec-" + hashlib.sha256(f"{run_id}|{service}|{sli}".encode()).hexdigest()[:12]


def _budget_per_window(target: float, events: int, history_days: float, window_days: int) -> float | None:
    """Bad events the target allows in one window, at the traffic rate history showed."""
    if history_days <= 0:
        return None
    return round(allowed_bad_events(target, events * window_days / history_days), 1)


def build_recommendations(engine: Engine, doc: Doc) -> list[Recommendation]:
    request = _request(doc)
    window = _window(engine, doc)
    evidence = _evidence_by_service(doc)
    safety_by_key = {(s["service"], s["sli"]): s for s in doc["safety"]}
    recs: list[Recommendation] = []
    for item in doc["review"]:
        verdict = item["verdict"]
        cand = item["candidate"]
        service, sli = verdict["service"], verdict["sli"]
        checked = safety_by_key[(service, sli)]
        target = float(checked["target"])
        events = int(cand["total"])
        history_days = float(cand["history_days"])
        score, reasons = confidence_score(events, target, history_days, window)
        traffic_factor, traffic_risk = alerting_traffic(events, history_days, target)
        score *= traffic_factor
        score = min(score, float(item["confidence_penalty"]) + 0.5 * score)
        risks = list(item["risks"])
        risks += [r for r in reasons if r.startswith(("low traffic", "short history")) and r not in risks]
        if traffic_risk and not any(r.startswith("low traffic") for r in risks):
            risks.append(traffic_risk)
        risks += checked["violations"]
        for agent in item["failed_agents"]:
            risks.append(f"{agent} discovery failed: evidence incomplete")
        backtest = checked["backtest"]
        rec = Recommendation(
            id=recommendation_id(request.run_id, service, sli),
            service=service,
            sli=SLIKind(sli),
            target=target,
            window_days=window,
            threshold_ms=cand.get("threshold_ms"),
            attained=cand["attained"],
            events=events,
            history_days=round(float(cand["history_days"]), 2),
            confidence=round(max(0.0, min(1.0, score)), 3),
            dependency_ceiling=item["ceiling"] if sli == SLIKind.AVAILABILITY.value else None,
            capped_by=item["capped_by"],
            risks=risks,
            options=cand["options"],
            backtest=backtest,
            error_budget_events=_budget_per_window(target, events, history_days, window),
            alert_rules=alert_rules(window),
        )
        ev = evidence.get(service)
        findings = [f for f in (ev.metric, ev.relationship, ev.runbook) if f is not None] if ev else []
        notes = verdict["adjustments"] + checked["revisions"]
        rationale = engine.reasoner.explain(rec, findings)
        if notes:
            rationale += " " + " ".join(n[0].upper() + n[1:] + ("" if n.endswith(".") else ".") for n in notes)
        recs.append(rec.model_copy(update={"rationale": rationale}))
    return recs


def pre_approval(engine: Engine, doc: Doc) -> Doc:
    """PreApproval: persist the recommendations as pending and summarise them for the approver."""
    recs = build_recommendations(engine, doc)
    engine.state.save_recommendations(recs)
    capped = [r for r in recs if r.capped_by]
    held = [r for r in recs if any(x.startswith("approval:") for x in r.risks)]
    lines = [
        f"{len(recs)} SLOs for {len({r.service for r in recs})} services over {_window(engine, doc)} days.",
        f"{len(capped)} capped by a dependency; {len(held)} need a named approver.",
    ]
    for r in recs:
        thr = f" @ {r.threshold_ms:g} ms" if r.threshold_ms else ""
        lines.append(f"- {r.service} {r.sli.value}{thr}: {r.target:.4%} (confidence {r.confidence:.2f})")
    return {"recommendation_ids": [r.id for r in recs], "text": "\n".join(lines)}


def auto_decide(engine: Engine, doc: Doc, by: str = "auto-approval") -> Doc:
    """The local approver for ``--approve auto``: approves all but low-confidence ones and those a guardrail
    holds for a named human."""
    approved, held = [], []
    for rec_id in doc["summary"]["recommendation_ids"]:
        rec = engine.state.get_recommendation(rec_id)
        if rec is None:
            continue
        if any(r.startswith("approval:") for r in rec.risks) or rec.confidence < AUTO_APPROVAL_MIN_CONFIDENCE:
            held.append(rec_id)
            continue
        engine.state.record_decision(
            ApprovalDecision(recommendation_id=rec_id, approved=True, by=by, reason="approved automatically")
        )
        approved.append(rec_id)
    return {"approved": approved, "held": held, "by": by}


def finalize(engine: Engine, doc: Doc) -> Doc:
    """Finalize: approved SLOs are remembered in the Context Manager for the next plan."""
    decision = doc.get("decision") or {}
    finalized = []
    approved_recs = []
    for rec_id in decision.get("approved", []):
        rec = engine.state.get_recommendation(rec_id)
        if rec is not None and rec.status is RecommendationStatus.APPROVED:
            finalized.append(rec_id)
            approved_recs.append(rec)
    published = 0
    if engine.events is not None:
        from slo_engine.exports.events import publish_approved

        published = publish_approved(engine.events, approved_recs)
    return {
        "status": "finalized",
        "approved": finalized,
        "pending": decision.get("held", []),
        "events_published": published,
    }


def reject(engine: Engine, doc: Doc) -> Doc:
    """Reject: pending recommendations of this run are rejected (timeout or a human's no), with the reason."""
    decision = doc.get("decision") or {}
    reason = decision.get("reason") or decision.get("Cause") or decision.get("error") or "rejected"
    rejected = []
    for rec_id in (doc.get("summary") or {}).get("recommendation_ids", []):
        rec = engine.state.get_recommendation(rec_id)
        if rec is not None and rec.status is RecommendationStatus.PENDING:
            engine.state.record_decision(
                ApprovalDecision(
                    recommendation_id=rec_id,
                    approved=False,
                    by=decision.get("by", "workflow"),
                    reason=str(reason)[:4000],
                )
            )
            rejected.append(rec_id)
    return {"status": "rejected", "rejected": rejected, "reason": str(reason)}


def record_feedback(engine: Engine, doc: Doc) -> Doc:
    """RecordFeedback: each decision goes back into the Context Manager's memory for its service."""
    recorded = 0
    for rec_id in (doc.get("summary") or {}).get("recommendation_ids", []):
        rec = engine.state.get_recommendation(rec_id)
        if rec is None:
            continue
        engine.state.add_context(
            ContextEntry(
                service=rec.service,
                question=f"{rec.sli.value} SLO recommended at {rec.target:.4%} over {rec.window_days} days",
                answer=f"{rec.status.value}" + (f" by {rec.decided_by}" if rec.decided_by else ""),
            )
        )
        recorded += 1
    return {"recorded": recorded}


STEPS: dict[str, Callable[[Engine, Doc], Any]] = {
    "LoadContext": load_context,
    "MasterAgent": master_agent,
    "MetricDiscovery": metric_discovery,
    "RelationshipDiscovery": relationship_discovery,
    "RunbookDiscovery": runbook_discovery,
    "Reviewer": reviewer,
    "Safety": safety,
    "PreApproval": pre_approval,
    "Finalize": finalize,
    "Reject": reject,
    "RecordFeedback": record_feedback,
}
"""State name in the Step Functions definition -> the core function behind it."""


def run_parallel(engine: Engine, doc: Doc, names: list[str]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = [pool.submit(STEPS[n], engine, doc) for n in names]
        return [f.result() for f in futures]
