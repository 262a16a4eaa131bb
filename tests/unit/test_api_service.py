"""The API's route logic (``ApiService.dispatch``) over the embedded engine: each operation's answer, its error
statuses, and that state changes are audited and rejected requests change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import sample_data_dir, sample_run_id

from slo_engine.api.models import Caller
from slo_engine.api.runs import LocalWorkflowRuns
from slo_engine.api.service import ApiService
from slo_engine.embedded.audit_log import SqliteAuditLog
from slo_engine.engine import Engine
from slo_engine.models import RecommendationStatus
from slo_engine.models.audit import AuditEvent

ALICE = Caller(kind="person", id="alice")
BACKSTAGE = Caller(kind="integration", id="backstage:SLOLOCALKEY")


@pytest.fixture
def service(tmp_path: Path) -> ApiService:
    data = sample_data_dir(tmp_path / "data")
    engine = Engine.embedded(data)
    api = ApiService(engine, LocalWorkflowRuns(engine, data / "runs.db"), SqliteAuditLog(data / "audit.db"))
    yield api
    api.runs.close()  # type: ignore[attr-defined]


def _pending_id(service: ApiService) -> str:
    return service.pending()[0].id


def _state_counts(service: ApiService, name: str) -> tuple[int, int, int, int]:
    state = service.engine.state
    return (
        len(state.feedback_for(name)),
        len(state.context_for(name, limit=1000)),
        len(service.audit.for_service(name, limit=1000)),
        len(state.list_recommendations(status="pending")),
    )


def test_start_returns_202_and_the_run_ends_awaiting_approval_with_findings_review_and_summary(
    service: ApiService,
) -> None:
    started = service.dispatch("start_recommendation", {}, {"services": ["cart"], "slis": ["availability"]}, ALICE)
    assert started.status == 202 and started.body["location"] == f"/recommendations/{started.body['id']}"
    service.runs.wait(started.body["id"], timeout=60)  # type: ignore[attr-defined]
    view = service.dispatch("get_recommendation", {"id": started.body["id"]}, None, ALICE)
    assert view.status == 200
    assert view.body["status"] == "awaiting_approval"
    assert {f["agent"] for f in view.body["findings"]} == {"metric", "relationship", "runbook"}
    assert view.body["review"] and "SLOs for 1 services" in view.body["summary"]
    assert [(r["service"], r["sli"]) for r in view.body["recommendations"]] == [("cart", "availability")]
    assert view.body["states"][0] == "LoadContext" and "HumanApproval" in view.body["states"]


def test_start_with_an_unknown_service_is_404_and_starts_nothing(service: ApiService) -> None:
    before = service.audit.for_actor("alice")
    answer = service.dispatch("start_recommendation", {}, {"services": ["no-such-service"]}, ALICE)
    assert answer.status == 404 and "no-such-service" in answer.body["message"]
    assert service.audit.for_actor("alice") == before


def test_a_body_that_misses_its_schema_is_422_naming_each_field(service: ApiService) -> None:
    answer = service.dispatch("start_recommendation", {}, {"window_days": 0, "colour": "red"}, ALICE)
    assert answer.status == 422
    assert any(d.startswith("window_days") for d in answer.body["details"])
    assert any(d.startswith("colour") for d in answer.body["details"])


def test_a_moment_utc_cannot_hold_is_422_not_a_server_error(service: ApiService) -> None:
    """Found by the schema fuzzer: year 1 at +01:00 is year 0 in UTC, which ``datetime`` cannot represent."""
    body = {"exclusions": [{"start": "0001-01-01T00:00:00+01:00", "end": "2026-11-01T00:00:00Z"}]}
    answer = service.dispatch("start_recommendation", {}, body, ALICE)
    assert answer.status == 422 and any("outside the range of UTC" in d for d in answer.body["details"])


def test_a_recommendation_id_reads_back_that_recommendation(service: ApiService) -> None:
    rec_id = _pending_id(service)
    view = service.dispatch("get_recommendation", {"id": rec_id}, None, BACKSTAGE)
    assert view.status == 200 and view.body["kind"] == "recommendation"
    assert view.body["recommendations"][0]["id"] == rec_id and view.body["status"] == "awaiting_approval"


def test_an_unknown_id_is_404(service: ApiService) -> None:
    assert service.dispatch("get_recommendation", {"id": "run-unknown"}, None, ALICE).status == 404


def test_a_malformed_path_id_is_422(service: ApiService) -> None:
    assert service.dispatch("get_recommendation", {"id": "../etc/passwd"}, None, ALICE).status == 422


def test_the_sample_run_reads_back_as_a_run(service: ApiService) -> None:
    view = service.dispatch("get_recommendation", {"id": sample_run_id()}, None, ALICE)
    assert view.body["kind"] == "run" and len(view.body["recommendations"]) == 6


def test_feedback_is_recorded_for_the_service_with_the_caller_and_audited(service: ApiService) -> None:
    rec = service.pending()[0]
    answer = service.dispatch(
        "submit_feedback", {"id": rec.id}, {"kind": "too_strict", "text": "pages every night"}, BACKSTAGE
    )
    assert answer.status == 201 and answer.body["by"] == BACKSTAGE.id
    stored = service.engine.state.feedback_for(rec.service)[-1]
    assert (stored.kind, stored.text, stored.recommendation_id) == ("too_strict", "pages every night", rec.id)
    event = service.audit.for_service(rec.service)[0]
    assert (event.actor, event.action, event.target_id) == (BACKSTAGE.id, "feedback.submit", rec.id)


def test_feedback_on_an_unknown_recommendation_is_404_and_records_nothing(service: ApiService) -> None:
    answer = service.dispatch("submit_feedback", {"id": "rec-000000000000"}, {"text": "hi"}, ALICE)
    assert answer.status == 404
    assert service.audit.for_actor("alice") == []


def test_converse_answers_from_the_recorded_evidence_and_remembers_the_exchange(service: ApiService) -> None:
    rec = service.pending()[0]
    answer = service.dispatch(
        "converse", {}, {"service": rec.service, "question": "Is it approved yet, and who decides?"}, ALICE
    )
    assert answer.status == 200
    assert f"{rec.target:.4%}" in answer.body["answer"] and "pending" in answer.body["answer"]
    assert any(source.startswith("recommendation rec-") for source in answer.body["sources"])
    remembered = service.engine.state.context_for(rec.service)[-1]
    assert (remembered.question, remembered.answer) == ("Is it approved yet, and who decides?", answer.body["answer"])
    assert service.audit.for_actor("alice")[0].action == "converse.ask"


def test_converse_about_an_unknown_service_is_404_and_remembers_nothing(service: ApiService) -> None:
    before = service.engine.state.context_for("ghost")
    answer = service.dispatch("converse", {}, {"service": "ghost", "question": "why?"}, ALICE)
    assert answer.status == 404 and service.engine.state.context_for("ghost") == before


def test_a_decision_is_recorded_once_and_a_second_one_is_409_with_nothing_changed(service: ApiService) -> None:
    rec = service.pending()[0]
    first = service.dispatch("decide_recommendation", {"id": rec.id}, {"approve": True, "reason": "fits"}, ALICE)
    assert first.status == 200 and first.body["recommendation"]["status"] == "approved"
    counts = _state_counts(service, rec.service)
    second = service.dispatch("decide_recommendation", {"id": rec.id}, {"approve": False}, BACKSTAGE)
    assert second.status == 409
    assert _state_counts(service, rec.service) == counts
    assert service.engine.state.get_recommendation(rec.id).decided_by == "alice"  # type: ignore[union-attr]


def test_service_slos_list_the_newest_approved_per_sli_and_the_whole_history(service: ApiService) -> None:
    rec = service.pending()[0]
    service.dispatch("decide_recommendation", {"id": rec.id}, {"approve": True, "reason": "ok"}, ALICE)
    answer = service.dispatch("list_service_slos", {"name": rec.service}, None, BACKSTAGE)
    assert answer.status == 200
    assert [a["id"] for a in answer.body["approved"]] == [rec.id]
    assert {h["status"] for h in answer.body["history"]} == {"approved", "pending"}


def test_service_slos_of_an_unknown_service_are_404(service: ApiService) -> None:
    assert service.dispatch("list_service_slos", {"name": "ghost"}, None, ALICE).status == 404


def test_the_audit_log_answers_by_service_and_by_actor(service: ApiService) -> None:
    first, second = service.pending()[:2]
    service.dispatch("decide_recommendation", {"id": first.id}, {"approve": True}, ALICE)
    service.dispatch("decide_recommendation", {"id": second.id}, {"approve": False, "reason": "no"}, BACKSTAGE)
    assert [e.target_id for e in service.audit.for_actor("alice")] == [first.id]
    assert [e.action for e in service.audit.for_actor(BACKSTAGE.id)] == ["recommendation.reject"]
    assert {e.target_id for e in service.audit.for_service(first.service)} >= {first.id}


def test_the_sqlite_audit_log_refuses_updates_and_deletes(tmp_path: Path) -> None:
    import sqlite3

    log = SqliteAuditLog(tmp_path / "audit.db")
    log.append(AuditEvent(actor="alice", actor_kind="person", action="x.y", service="cart"))
    db = sqlite3.connect(tmp_path / "audit.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET actor='mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit")
    assert log.for_actor("alice")[0].action == "x.y"


def test_daily_attainment_history_comes_from_the_metric_store(service: ApiService) -> None:
    rec = next(r for r in service.pending() if r.sli.value == "availability")
    points = service.attainment_history(rec)
    assert 6 <= len(points) <= 8
    assert all(0.0 <= value <= 1.0 for _, value in points)
    assert points == sorted(points)


def test_an_unknown_operation_is_404(service: ApiService) -> None:
    assert service.dispatch("drop_tables", {}, None, ALICE).status == 404


def test_pending_excludes_decided_recommendations(service: ApiService) -> None:
    rec = service.pending()[0]
    service.dispatch("decide_recommendation", {"id": rec.id}, {"approve": True}, ALICE)
    assert rec.id not in {r.id for r in service.pending()}
    assert service.engine.state.get_recommendation(rec.id).status is RecommendationStatus.APPROVED  # type: ignore[union-attr]
