"""The workflow's approve, reject, timeout, agent-failure and feedback paths, on a short fleet history."""

from __future__ import annotations

import pytest

from slo_engine.embedded.fleet import generate_fleet
from slo_engine.engine import Engine
from slo_engine.models import FeedbackRecord
from slo_engine.workflow.orchestrator import ApprovalRejected, ApprovalTimedOut, LocalOrchestrator
from slo_engine.workflow.pipeline import load_graph, run_workflow
from slo_engine.workflow.steps import STEPS, RecommendationRequest

SERVICES = ["payments", "legacy-ledger", "checkout"]


@pytest.fixture(scope="module")
def short_fleet():
    return generate_fleet(seed=3, days=3)


@pytest.fixture
def engine(short_fleet):
    engine = Engine.embedded(in_memory=True)
    for name, series in short_fleet.series.items():
        engine.metrics.write_series(name, series)
    engine.metrics.write_edge_totals(short_fleet.edge_totals(), day=short_fleet.end // 86400 - 1)
    load_graph(engine, short_fleet.graph)
    return engine


def run_with(engine, approver, steps=None, run_id="t"):
    orchestrator = LocalOrchestrator(engine, approver, steps=steps)
    return orchestrator.run(RecommendationRequest(run_id=run_id, services=SERVICES, window_days=3))


def statuses(engine, run):
    return {engine.state.get_recommendation(i).status.value for i in run.doc["summary"]["recommendation_ids"]}


def test_manual_approval_leaves_recommendations_pending(engine):
    result = run_workflow(engine, approve="manual", services=SERVICES, window_days=3)
    assert result.run.status == "SUCCEEDED"
    assert {r.status.value for r in result.recommendations} == {"pending"}
    assert len(result.recommendations) == 2 * len(SERVICES)


def test_a_human_rejection_goes_through_reject_and_records_it(engine):
    def reject(engine, doc):
        raise ApprovalRejected("targets too tight for the Q4 freeze")

    run = run_with(engine, reject)
    assert run.status == "SUCCEEDED"
    assert "Reject" in run.states and "Finalize" not in run.states
    assert run.states[-2:] == ["RecordFeedback", "Done"]
    assert statuses(engine, run) == {"rejected"}
    rec = engine.state.get_recommendation(run.doc["summary"]["recommendation_ids"][0])
    assert "Q4 freeze" in rec.decision_reason


def test_an_approval_timeout_rejects_instead_of_hanging(engine):
    def never(engine, doc):
        raise ApprovalTimedOut()

    run = run_with(engine, never)
    assert "Reject" in run.states
    assert statuses(engine, run) == {"rejected"}


def test_a_failed_agent_becomes_a_low_confidence_finding_not_a_failed_run(engine):
    def broken(engine, doc):
        raise ConnectionError("graph store unreachable")

    steps = {**STEPS, "RelationshipDiscovery": broken}
    healthy = run_with(engine, lambda e, d: {"approved": [], "held": []}, run_id="healthy")
    run = run_with(engine, lambda e, d: {"approved": [], "held": []}, steps=steps, run_id="broken")
    assert run.status == "SUCCEEDED"
    assert "RelationshipDiscoveryFailed" in run.states
    ids = run.doc["summary"]["recommendation_ids"]
    rec = engine.state.get_recommendation(ids[0])
    assert any("relationship discovery failed" in r for r in rec.risks)
    before = engine.state.get_recommendation(healthy.doc["summary"]["recommendation_ids"][0])
    assert rec.confidence < before.confidence


def test_feedback_changes_the_next_recommendation(engine):
    first = run_workflow(engine, approve="manual", services=["checkout"], window_days=3, run_id="before")
    engine.state.add_feedback(
        FeedbackRecord(service="checkout", kind="too_strict", by="oncall-lead", text="pages every week")
    )
    second = run_workflow(engine, approve="manual", services=["checkout"], window_days=3, run_id="after")
    a = next(r for r in first.recommendations if r.sli.value == "availability")
    b = next(r for r in second.recommendations if r.sli.value == "availability")
    assert "feedback from oncall-lead" in b.rationale.lower()
    assert "feedback" not in a.rationale.lower()
    assert b.target <= a.target


def test_an_excluded_maintenance_window_is_left_out_of_slis_and_backtests(engine, short_fleet):
    from datetime import UTC, datetime, timedelta

    from slo_engine.models.slo import ExclusionWindow

    incident = max(
        (i for i in short_fleet.incidents if i.service == "legacy-ledger"),
        key=lambda i: (i.end - i.start) * i.error_ratio,
        default=None,
    )
    assert incident is not None, "the short fleet has an incident on legacy-ledger"
    start = datetime.fromtimestamp(incident.start, UTC) - timedelta(minutes=1)
    end = datetime.fromtimestamp(incident.end, UTC) + timedelta(minutes=1)
    plain = run_workflow(engine, approve="manual", services=["legacy-ledger"], window_days=3, run_id="plain")
    excluded = run_workflow(
        engine,
        approve="manual",
        services=["legacy-ledger"],
        window_days=3,
        run_id="excluded",
        exclusions=[ExclusionWindow(start=start, end=end, reason="maintenance")],
    )
    a = next(r for r in plain.recommendations if r.sli.value == "availability")
    b = next(r for r in excluded.recommendations if r.sli.value == "availability")
    assert b.events < a.events
    assert b.attained > a.attained
    assert b.backtest.excluded_minutes > 0


def test_a_request_for_one_sli_plans_and_recommends_only_that_sli(engine):
    from slo_engine.models import SLIKind

    orchestrator = LocalOrchestrator(engine, lambda e, d: {"approved": [], "held": []})
    run = orchestrator.run(
        RecommendationRequest(run_id="only-latency", services=SERVICES, slis=[SLIKind.LATENCY], window_days=3)
    )
    recs = [engine.state.get_recommendation(i) for i in run.doc["summary"]["recommendation_ids"]]
    assert {r.sli.value for r in recs} == {"latency"}
    assert {r.service for r in recs} == set(SERVICES)
