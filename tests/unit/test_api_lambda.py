"""The API Lambda end to end in-process: a REST API event through the Powertools handler, the real
``slo_engine.entrypoints.api.handle`` and the route logic over an embedded engine; IAM callers and Cognito users are
recorded as such in the audit log. The DynamoDB audit log adapter is checked against moto."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from api_support import sample_data_dir

from slo_engine.models.audit import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
BACKSTAGE_ARN = "arn:aws:sts::123456789012:assumed-role/backstage/session"


@dataclass
class FakeLambdaContext:
    function_name: str = "api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id: str = "request-1"
    log_group_name: str = "/aws/lambda/api"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _event(method: str, resource: str, path: str, body: Any = None, claims: dict[str, str] | None = None) -> dict:
    names = [p[1:-1] for p in resource.split("/") if p.startswith("{")]
    values = [v for r, v in zip(resource.split("/"), path.split("/"), strict=True) if r.startswith("{")]
    context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/v1{path}",
        "stage": "v1",
        "requestId": "api-request-1",
        "accountId": "123456789012",
        "apiId": "abc123",
        "identity": {"sourceIp": "192.0.2.10", "userAgent": "tests", "userArn": None if claims else BACKSTAGE_ARN},
    }
    if claims:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": dict(zip(names, values, strict=True)) or None,
        "stageVariables": None,
        "requestContext": context,
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


@pytest.fixture
def api_lambda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    data = sample_data_dir(tmp_path / "data")
    for name in ("SLO_ENGINE_STATE_MACHINE_ARN", "SLO_ENGINE_AUDIT_TABLE", "SLO_ENGINE_REASONER_MODEL_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLO_ENGINE_DATA_DIR", str(data))
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    from slo_engine.entrypoints import api

    api.service_from_env.cache_clear()
    spec = importlib.util.spec_from_file_location("lambda_handler_api_e2e", ROOT / "lambdas" / "api" / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    api.service_from_env.cache_clear()


def test_an_iam_signed_feedback_reaches_the_core_and_is_audited_with_the_role(api_lambda: ModuleType) -> None:
    from slo_engine.entrypoints.api import service_from_env

    rec = service_from_env().pending()[0]
    event = _event(
        "POST", "/recommendations/{id}/feedback", f"/recommendations/{rec.id}/feedback", {"text": "too noisy"}
    )
    response = api_lambda.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 201, response["body"]
    event_logged = service_from_env().audit.for_actor(BACKSTAGE_ARN)[0]
    assert (event_logged.actor_kind, event_logged.action, event_logged.request_id) == (
        "integration",
        "feedback.submit",
        "api-request-1",
    )


def test_a_cognito_user_on_a_frontend_route_is_recorded_as_a_person(api_lambda: ModuleType) -> None:
    from slo_engine.entrypoints.api import service_from_env

    rec = service_from_env().pending()[0]
    event = _event(
        "POST",
        "/frontend/converse",
        "/frontend/converse",
        {"service": rec.service, "question": "who approved it?"},
        claims={"cognito:username": "bob", "sub": "0000"},
    )
    response = api_lambda.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["asked_by"] == "bob"
    assert service_from_env().audit.for_actor("bob")[0].actor_kind == "person"


def test_an_unknown_recommendation_is_404_through_the_lambda(api_lambda: ModuleType) -> None:
    event = _event("GET", "/recommendations/{id}", "/recommendations/rec-000000000000")
    assert api_lambda.lambda_handler(event, FakeLambdaContext())["statusCode"] == 404


def test_the_dynamodb_audit_log_appends_and_answers_by_service_and_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    from slo_engine.adapters.aws.audit_log import DynamoDbAuditLog

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="audit",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("service", "event_key", "actor")
            ],
            KeySchema=[
                {"AttributeName": "service", "KeyType": "HASH"},
                {"AttributeName": "event_key", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-actor",
                    "KeySchema": [
                        {"AttributeName": "actor", "KeyType": "HASH"},
                        {"AttributeName": "event_key", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        log = DynamoDbAuditLog("audit", client=client)
        log.append(AuditEvent(actor="alice", actor_kind="person", action="recommendation.approve", service="cart"))
        log.append(AuditEvent(actor="backstage", actor_kind="integration", action="feedback.submit", service="cart"))
        log.append(AuditEvent(actor="alice", actor_kind="person", action="converse.ask", service="search"))
        assert [e.action for e in log.for_service("cart")] == ["feedback.submit", "recommendation.approve"]
        assert [e.service for e in log.for_actor("alice")] == ["search", "cart"]
        assert log.for_actor("nobody") == []


def test_step_functions_runs_start_an_execution_named_by_the_run_and_read_it_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from moto import mock_aws

    from slo_engine.adapters.aws.workflow_runs import StepFunctionsWorkflowRuns
    from slo_engine.api.models import StartRecommendationRequest

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("stepfunctions")
        machine = client.create_state_machine(
            name="recommendation",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/states",
        )["stateMachineArn"]
        runs = StepFunctionsWorkflowRuns(machine, client=client)
        started = runs.start(StartRecommendationRequest(services=["cart"], window_days=14), "backstage")
        read = runs.get(started.id)
        assert read is not None and read.id == started.id
        assert read.request["services"] == ["cart"] and read.requested_by == "backstage"
        assert runs.get("run-0000000000000000") is None
        assert runs.get("rec-abc") is None


def test_a_run_the_api_role_may_not_describe_is_a_503_naming_the_permission() -> None:
    import boto3
    from botocore.stub import Stubber

    from slo_engine.adapters.aws.workflow_runs import StepFunctionsWorkflowRuns
    from slo_engine.api.errors import error_response

    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    runs = StepFunctionsWorkflowRuns("arn:aws:states:us-east-1:123456789012:stateMachine:recommendation", client=client)
    with Stubber(client) as stub:
        stub.add_client_error("describe_execution", service_error_code="AccessDeniedException", http_status_code=400)
        with pytest.raises(Exception) as raised:
            runs.get("run-0123456789abcdef")
    status, body = error_response(raised.value)
    assert status == 503 and "states:DescribeExecution" in body["message"]


def test_a_run_read_back_resolves_the_large_parts_its_output_refers_to() -> None:
    """The execution's output holds references (claim check); the API shows the run whole, or says what expired."""
    from datetime import UTC, datetime

    from slo_engine.adapters.aws.workflow_runs import StepFunctionsWorkflowRuns
    from slo_engine.embedded.run_artifacts import LocalRunArtifacts
    from slo_engine.workflow.claim_check import offload

    store = LocalRunArtifacts()
    findings = [{"service": f"svc-{i}", "text": "x" * 200} for i in range(200)]
    reference = offload(store, "run-0123456789abcdef", "MetricDiscovery", findings)
    output = {"request": {"run_id": "run-0123456789abcdef"}, "findings": [reference], "summary": {"text": "ok"}}

    class Client:
        class exceptions:
            ExecutionDoesNotExist = LookupError

        def describe_execution(self, executionArn: str) -> dict:
            return {
                "status": "SUCCEEDED",
                "startDate": datetime(2026, 11, 29, tzinfo=UTC),
                "input": json.dumps({"request": {"requested_by": "alice"}}),
                "output": json.dumps(output),
            }

    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:recommendation"
    whole = StepFunctionsWorkflowRuns(machine, client=Client(), artifacts=store).get("run-0123456789abcdef")
    assert whole is not None and whole.doc["findings"] == [findings] and whole.error is None
    expired = StepFunctionsWorkflowRuns(machine, client=Client(), artifacts=LocalRunArtifacts()).get(
        "run-0123456789abcdef"
    )
    assert expired is not None and expired.doc["findings"] == [None] and expired.doc["summary"] == {"text": "ok"}
    assert "no longer kept" in str(expired.error)
