"""AWS adapters in moto: the DynamoDB state and approval stores, SLOApproved on EventBridge, SNS email."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from slo_engine.adapters.aws.dynamodb_approvals import DynamoDbApprovalStore
from slo_engine.adapters.aws.dynamodb_state import DynamoDbStateStore
from slo_engine.adapters.aws.notifiers import SnsEmailNotifier
from slo_engine.adapters.aws.slo_events import EventBridgeSloEventPublisher
from slo_engine.approval.messages import build_approval_message
from slo_engine.approval.models import HumanDecision, PendingApproval
from slo_engine.approval.store import ApprovalAlreadyDecidedError
from slo_engine.embedded.state_store import DecisionError
from slo_engine.exports.events import SLO_APPROVED, publish_approved
from slo_engine.models import ApprovalDecision, ContextEntry, FeedbackRecord, Recommendation, RecommendationStatus

REGION = "us-east-1"


def table(ddb, name, pk, sk=None, indexes=()):
    keys = [{"AttributeName": pk, "KeyType": "HASH"}] + ([{"AttributeName": sk, "KeyType": "RANGE"}] if sk else [])
    attrs = {pk, *([sk] if sk else []), *(a for i in indexes for a in i[1:])}
    extra = {}
    if indexes:
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": n,
                "KeySchema": [{"AttributeName": p, "KeyType": "HASH"}, {"AttributeName": s, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for n, p, s in indexes
        ]
    ddb.create_table(
        TableName=name,
        KeySchema=keys,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        table(
            ddb,
            "recs",
            "recommendation_id",
            indexes=[("by-service", "service", "created_at"), ("by-status", "status", "created_at")],
        )
        table(ddb, "feedback", "service", "feedback_id")
        table(ddb, "context", "service", "entry_key")
        table(ddb, "approvals", "approval_id")
        yield boto3.resource("dynamodb")


def rec(rec_id, service="payments", sli="availability"):
    return Recommendation(
        id=rec_id,
        service=service,
        sli=sli,
        target=0.999,
        window_days=28,
        threshold_ms=300 if sli == "latency" else None,
        attained=0.9995,
        events=1000,
        history_days=28,
        confidence=0.9,
    )


@pytest.fixture
def state(aws):
    return DynamoDbStateStore("recs", "feedback", "context", resource=aws)


def test_recommendations_round_trip_and_list_by_service_and_status(state):
    state.save_recommendations([rec("r1"), rec("r2", sli="latency"), rec("r3", service="checkout")])
    assert state.get_recommendation("r2").threshold_ms == 300
    assert state.get_recommendation("missing") is None
    assert [r.id for r in state.list_recommendations(service="payments")] == ["r1", "r2"]
    assert len(state.list_recommendations(status="pending")) == 3
    assert len(state.list_recommendations()) == 3


def test_a_recommendation_is_decided_once_in_dynamodb(state):
    state.save_recommendations([rec("r1")])
    decided = state.record_decision(ApprovalDecision(recommendation_id="r1", approved=True, by="alice", reason="ok"))
    assert decided.status.value == "approved"
    assert [r.id for r in state.list_recommendations(status="approved")] == ["r1"]
    with pytest.raises(DecisionError, match="already approved by alice"):
        state.record_decision(ApprovalDecision(recommendation_id="r1", approved=False, by="bob"))
    with pytest.raises(DecisionError, match="no recommendation"):
        state.record_decision(ApprovalDecision(recommendation_id="nope", approved=True, by="bob"))


def test_feedback_and_context_come_back_oldest_first_with_the_limit_keeping_the_newest(state):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(3):
        state.add_feedback(FeedbackRecord(service="payments", text=f"f{i}", at=t0 + timedelta(minutes=i)))
        state.add_context(ContextEntry(service="payments", question=f"q{i}", answer="a", at=t0 + timedelta(minutes=i)))
    assert [f.text for f in state.feedback_for("payments")] == ["f0", "f1", "f2"]
    assert [c.question for c in state.context_for("payments", limit=2)] == ["q1", "q2"]
    assert state.feedback_for("other") == []


def approval():
    return PendingApproval(
        execution_id="exec",
        task_token="token-secret",
        recommendation_ids=["r1"],
        services=["payments"],
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )


def test_the_dynamodb_approval_store_keeps_the_token_and_decides_once(aws):
    store = DynamoDbApprovalStore("approvals", resource=aws)
    pending = approval()
    store.save(pending)
    assert store.get(pending.approval_id).task_token == "token-secret"
    closed = store.decide(pending.approval_id, HumanDecision(action="reject", by="bob", reason="no"))
    assert (closed.status.value, closed.decided_by) == ("rejected", "bob")
    with pytest.raises(ApprovalAlreadyDecidedError):
        store.decide(pending.approval_id, HumanDecision(action="approve", by="eve"))
    with pytest.raises(ValueError, match="already exists"):
        store.save(pending)


def test_slo_approved_goes_to_eventbridge_for_approved_recommendations_only(aws):
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name="recs-bus")
    queue = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="approved", EventBusName="recs-bus", EventPattern=json.dumps({"detail-type": [SLO_APPROVED]}))
    events.put_targets(Rule="approved", EventBusName="recs-bus", Targets=[{"Id": "q", "Arn": arn}])
    approved = rec("r1").model_copy(update={"status": RecommendationStatus.APPROVED, "decided_by": "alice"})
    published = publish_approved(EventBridgeSloEventPublisher("recs-bus"), [approved, rec("r2")])
    assert published == 1
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail-type"] == SLO_APPROVED
    assert (event["detail"]["recommendation_id"], event["detail"]["approved_by"]) == ("r1", "alice")


def test_the_email_notifier_publishes_subject_and_links_to_sns(aws):
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="approvals")["TopicArn"]
    links = {a: f"https://x.test/approvals/id?action={a}" for a in ("review", "approve", "reject")}
    message = build_approval_message(approval(), links)
    SnsEmailNotifier(topic).notify(message)
    from moto.sns.models import sns_backends

    sent = sns_backends["123456789012"][REGION].topics[topic].sent_notifications
    assert len(sent) == 1 and "action=approve" in sent[0][1] and "token-secret" not in sent[0][1]


def test_pending_approvals_are_listed_from_the_status_index(aws):
    ddb = boto3.client("dynamodb")
    ddb.delete_table(TableName="approvals")
    table(ddb, "approvals", "approval_id", indexes=[("by-status", "status", "created_at")])
    store = DynamoDbApprovalStore("approvals", resource=aws)
    first, second = approval(), approval()
    store.save(first)
    store.save(second)
    store.decide(second.approval_id, HumanDecision(action="approve", by="alice"))
    assert [a.approval_id for a in store.list_pending()] == [first.approval_id]


def test_engine_from_env_picks_dynamodb_and_eventbridge_when_their_variables_are_set(aws, monkeypatch, tmp_path):
    from slo_engine.embedded.state_store import SqliteStateStore
    from slo_engine.engine import Engine

    monkeypatch.delenv("SLO_ENGINE_REASONER_MODEL_ID", raising=False)
    embedded = Engine.from_env(tmp_path)
    assert isinstance(embedded.state, SqliteStateStore)
    for name, value in {
        "SLO_ENGINE_RECOMMENDATIONS_TABLE": "recs",
        "SLO_ENGINE_FEEDBACK_TABLE": "feedback",
        "SLO_ENGINE_CONTEXT_TABLE": "context",
        "SLO_ENGINE_APPROVALS_TABLE": "approvals",
        "SLO_ENGINE_EVENT_BUS": "recs-bus",
    }.items():
        monkeypatch.setenv(name, value)
    engine = Engine.from_env(tmp_path)
    assert isinstance(engine.state, DynamoDbStateStore)
    assert isinstance(engine.approvals, DynamoDbApprovalStore)
    assert isinstance(engine.events, EventBridgeSloEventPublisher)
