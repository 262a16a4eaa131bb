"""The Lambda handlers as thin adapters: each turns its event into one call of the core (``run_state`` or
``slo_engine.entrypoints.<function>.handle``) and maps the answer back; a missing entrypoint gives a clear error.

These run the handler modules in-process with a fake core call; no synthesis, no AWS.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

REPO_ROOT = Path(__file__).resolve().parents[2]
MISSING_ENTRYPOINT = "slo_engine.entrypoints.absent_for_tests"


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "request-1"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture(autouse=True)
def _powertools_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SloEngine")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tests")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def load_handler(folder: str) -> ModuleType:
    """Import lambdas/<folder>/handler.py under a unique module name (every folder's module is called handler)."""
    path = REPO_ROOT / "lambdas" / folder / "handler.py"
    spec = importlib.util.spec_from_file_location(f"lambda_handler_{folder}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as the Lambda runtime's import does; pydantic resolves annotations through it
    spec.loader.exec_module(module)
    return module


def recording(result: Any = None, fail_when: Callable[[Any], bool] | None = None) -> tuple[list[Any], Callable]:
    calls: list[Any] = []

    def handle(request: Any, context: Any) -> Any:
        calls.append(request)
        if fail_when is not None and fail_when(request):
            raise ValueError("this record is bad")
        return result

    return calls, handle


def rest_event(method: str, resource: str, path: str, body: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": extra.get("headers", {"Content-Type": "application/json"}),
        "multiValueHeaders": {},
        "queryStringParameters": extra.get("query"),
        "multiValueQueryStringParameters": None,
        "pathParameters": extra.get("path_parameters"),
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "api-request-1",
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {
                "sourceIp": "192.0.2.10",
                "userAgent": "backstage/1.0",
                "userArn": "arn:aws:iam::123456789012:role/backstage",
                "accountId": "123456789012",
            },
        },
        "body": body,
        "isBase64Encoded": False,
    }


def kinesis_event(*payloads: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/sink",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/snapshots",
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": payload["service"],
                    "sequenceNumber": str(sequence),
                    "data": base64.b64encode(json.dumps(payload).encode()).decode(),
                    "approximateArrivalTimestamp": 1700000000.0,
                },
            }
            for sequence, payload in enumerate(payloads, start=1)
        ]
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"message-{index}",
                "receiptHandle": "handle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1700000000000",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:runbook-changes",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies, start=1)
        ]
    }


def test_workflow_handler_runs_its_state_on_the_state_document(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("load_context")
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(module, "run_state", lambda state, event: calls.append((state, event)) or {"memory": {}})
    document = {"request": {"services": ["checkout"]}}
    assert module.lambda_handler(document, FakeLambdaContext()) == {"memory": {}}
    assert calls == [("LoadContext", document)]


def test_api_handler_turns_a_route_into_one_api_request(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("api")
    calls, handle = recording(result=(202, {"execution": "e-1"}))
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    event = rest_event("POST", "/recommendations", "/recommendations", body=json.dumps({"services": ["checkout"]}))
    response = module.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 202
    assert json.loads(response["body"]) == {"execution": "e-1"}
    (request,) = calls
    assert request.operation == "start_recommendation"
    assert request.body == {"services": ["checkout"]}
    assert request.caller.arn == "arn:aws:iam::123456789012:role/backstage"


def test_api_handler_passes_path_parameters_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("api")
    calls, handle = recording(result=(200, []))
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    event = rest_event("GET", "/services/{name}/slos", "/services/checkout/slos", path_parameters={"name": "checkout"})
    assert module.lambda_handler(event, FakeLambdaContext())["statusCode"] == 200
    assert (calls[0].operation, calls[0].path_parameters) == ("list_service_slos", {"service_name": "checkout"})


def test_api_handler_answers_400_to_malformed_json_without_calling_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("api")
    calls, handle = recording(result=(200, {}))
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    response = module.lambda_handler(
        rest_event("POST", "/converse", "/converse", body="{not json"), FakeLambdaContext()
    )
    assert response["statusCode"] == 400
    assert "not valid JSON" in json.loads(response["body"])["message"]
    assert calls == []


@pytest.mark.parametrize(
    ("folder", "event"),
    [
        ("api", rest_event("POST", "/recommendations", "/recommendations", body="{}")),
        ("webhook", rest_event("POST", "/webhooks/github", "/webhooks/github", body="{}")),
        ("approval_callback", rest_event("GET", "/approvals/{id}", "/approvals/a-1", path_parameters={"id": "a-1"})),
    ],
)
def test_http_handlers_answer_501_when_the_core_lacks_their_entrypoint(
    monkeypatch: pytest.MonkeyPatch, folder: str, event: dict[str, Any]
) -> None:
    module = load_handler(folder)
    monkeypatch.setattr(module, "ENTRYPOINT_MODULE", MISSING_ENTRYPOINT)
    module._entrypoint.cache_clear()
    response = module.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 501
    assert MISSING_ENTRYPOINT in response["body"] or "not available" in response["body"]


def test_webhook_handler_hands_over_the_raw_body_and_lowercased_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("webhook")
    calls, handle = recording(result=(202, {"queued": 1}))
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    raw = '{"ref": "refs/heads/main",  "commits": []}'
    headers = {"X-Hub-Signature-256": "sha256=abc", "X-GitHub-Event": "push", "Content-Type": "application/json"}
    event = rest_event("POST", "/webhooks/github", "/webhooks/github", body=raw, headers=headers)
    assert module.lambda_handler(event, FakeLambdaContext())["statusCode"] == 202
    (delivery,) = calls
    assert (delivery.provider, delivery.raw_body) == ("github", raw)
    assert delivery.headers["x-hub-signature-256"] == "sha256=abc"


def test_approval_callback_parses_the_submitted_approval_form(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("approval_callback")
    calls, handle = recording(result=(200, "<p>Approved</p>"))
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    form = "decision=approve&reason=looks+right&by=ana"
    event = rest_event(
        "POST",
        "/approvals/{id}",
        "/approvals/a-1",
        body=form,
        path_parameters={"id": "a-1"},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = module.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html"]
    (request,) = calls
    assert (request.approval_id, request.method) == ("a-1", "POST")
    assert request.form == {"decision": "approve", "reason": "looks right", "by": "ana"}


def test_snapshot_sink_reports_only_the_records_the_core_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("snapshot_sink")
    calls, handle = recording(fail_when=lambda record: json.loads(record.kinesis.data)["service"] == "bad")
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    event = kinesis_event({"service": "checkout"}, {"service": "bad"}, {"service": "cart"})
    response = module.lambda_handler(event, FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert len(calls) == 3


def test_snapshot_sink_fails_the_whole_batch_when_the_core_lacks_its_entrypoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load_handler("snapshot_sink")
    monkeypatch.setattr(module, "ENTRYPOINT_MODULE", MISSING_ENTRYPOINT)
    module._entrypoint.cache_clear()
    with pytest.raises(BatchProcessingError):
        module.lambda_handler(kinesis_event({"service": "checkout"}), FakeLambdaContext())


def test_runbook_indexer_returns_failed_messages_to_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("runbook_indexer")
    _, handle = recording(fail_when=lambda record: "poison" in record.body)
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    response = module.lambda_handler(sqs_event('{"path": "runbooks/a.md"}', "poison"), FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-2"}]}


def test_discovery_poller_passes_the_parsed_scheduled_event(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("discovery_poller")
    calls, handle = recording(result={"registered": 2, "changed": 0, "deregistered": 1})
    monkeypatch.setattr(module, "_entrypoint", lambda: handle)
    event = {
        "version": "0",
        "id": "event-1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/poll"],
        "detail": {},
    }
    assert module.lambda_handler(event, FakeLambdaContext()) == {"registered": 2, "changed": 0, "deregistered": 1}
    assert calls[0].detail_type == "Scheduled Event"
