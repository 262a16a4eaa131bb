"""The embedded state store: decisions are single and recorded with who and why."""

from __future__ import annotations

import pytest

from slo_engine.embedded.state_store import DecisionError, SqliteStateStore
from slo_engine.models import ApprovalDecision, ContextEntry, FeedbackRecord, Recommendation, SLIKind


def rec(rec_id: str = "rec-1", service: str = "api") -> Recommendation:
    return Recommendation(
        id=rec_id,
        service=service,
        sli=SLIKind.AVAILABILITY,
        target=0.999,
        window_days=28,
        attained=0.9995,
        events=10_000,
        history_days=28,
        confidence=0.9,
    )


def test_a_decision_records_who_and_why():
    store = SqliteStateStore()
    store.save_recommendations([rec()])
    decided = store.record_decision(ApprovalDecision(recommendation_id="rec-1", approved=True, by="alice", reason="ok"))
    assert decided.status.value == "approved" and decided.decided_by == "alice"
    assert store.get_recommendation("rec-1").decision_reason == "ok"
    assert [r.id for r in store.list_recommendations(status="approved")] == ["rec-1"]


def test_a_second_decision_is_refused():
    store = SqliteStateStore()
    store.save_recommendations([rec()])
    store.record_decision(ApprovalDecision(recommendation_id="rec-1", approved=False, by="bob"))
    with pytest.raises(DecisionError, match="already rejected"):
        store.record_decision(ApprovalDecision(recommendation_id="rec-1", approved=True, by="mallory"))
    assert store.get_recommendation("rec-1").status.value == "rejected"


def test_deciding_an_unknown_recommendation_is_an_error():
    with pytest.raises(DecisionError, match="no recommendation"):
        SqliteStateStore().record_decision(ApprovalDecision(recommendation_id="nope", approved=True, by="a"))


def test_feedback_and_context_are_kept_per_service_in_order(tmp_path):
    store = SqliteStateStore(tmp_path / "s.db")
    store.add_feedback(FeedbackRecord(service="api", kind="too_strict", text="pages too often"))
    store.add_feedback(FeedbackRecord(service="db", text="other"))
    for i in range(5):
        store.add_context(ContextEntry(service="api", question=f"q{i}", answer=f"a{i}"))
    assert [f.kind for f in store.feedback_for("api")] == ["too_strict"]
    assert [e.question for e in store.context_for("api", limit=2)] == ["q3", "q4"]
