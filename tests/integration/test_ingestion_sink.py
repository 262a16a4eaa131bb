"""The snapshot sink Lambda for real: lambdas/snapshot_sink/handler.py with the core entrypoint, a real Prometheus,
S3 and DynamoDB (moto). Malformed records are reported as batch item failures; a redelivered batch changes nothing."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ingestion_support import ROOT, PrometheusServer, start_prometheus
from moto import mock_aws

from slo_engine.adapters.prometheus import PromQLClient
from slo_engine.entrypoints import snapshot_sink as entrypoint

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("prometheus")]

WINDOW = 1_793_491_200


def snapshot(service: str, requests: int, errors: int, downstream: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "service": service,
        "window_start": "2026-11-01T00:00:00Z",
        "window_seconds": 10,
        "requests": requests,
        "errors": errors,
        "latency_ms": {
            "bounds": [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
            "counts": [requests] + [0] * 11,
        },
        "downstream": downstream or {},
    }


def kinesis_event(*payloads: bytes) -> dict[str, Any]:
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "k",
                    "sequenceNumber": str(i),
                    "data": base64.b64encode(payload).decode(),
                    "approximateArrivalTimestamp": 1_793_491_200.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{i}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/sink",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/snapshots",
            }
            for i, payload in enumerate(payloads, start=1)
        ]
    }


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    yield from start_prometheus(tmp_path_factory.mktemp("prometheus-sink"))


@pytest.fixture
def handler(prometheus: PrometheusServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "tests",
        entrypoint.REMOTE_WRITE_URL: f"{prometheus.url}/api/v1/write",
        entrypoint.SNAPSHOT_BUCKET: "snapshot-store",
        entrypoint.EDGES_TABLE: "edges",
        entrypoint.CLAIMS_TABLE: "claims",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="snapshot-store")
        dynamodb = boto3.client("dynamodb")
        for name, keys in (("edges", ("upstream", "downstream")), ("claims", ("id",))):
            dynamodb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            )
        entrypoint.sink_from_env.cache_clear()
        spec = importlib.util.spec_from_file_location(
            "snapshot_sink_handler", ROOT / "lambdas/snapshot_sink/handler.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
        entrypoint.sink_from_env.cache_clear()


def edge_counts() -> dict[tuple[str, str], tuple[int, int]]:
    items = boto3.client("dynamodb").scan(TableName="edges")["Items"]
    return {(i["upstream"]["S"], i["downstream"]["S"]): (int(i["requests"]["N"]), int(i["errors"]["N"])) for i in items}


def test_a_malformed_record_is_the_only_failed_item_and_the_valid_ones_land(
    handler: Any, prometheus: PrometheusServer, lambda_context: Any
) -> None:
    event = kinesis_event(
        json.dumps(snapshot("web", 40, 2, {"auth": {"requests": 40, "errors": 1}})).encode(),
        b'{"service": "web", "window_start": "2026-11-01T00:00:00Z", "requests": 5, "errors": 9}',
        json.dumps(snapshot("auth", 40, 1)).encode(),
    )
    response = handler.lambda_handler(event, lambda_context("snapshot-sink"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    promql = PromQLClient(prometheus.url)
    at = WINDOW + 10 - 0.001
    assert promql.scalar('sum_over_time(slo_requests_total{service="web"}[10s])', at) == 40
    assert promql.scalar('sum_over_time(slo_edge_requests_total{service="web",peer="auth"}[10s])', at) == 40
    assert edge_counts() == {("web", "auth"): (40, 1)}
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="snapshot-store")["Contents"]]
    assert sorted(keys) == [
        "snapshots/auth/2026-11-01T00:00:00Z-10s.json",
        "snapshots/web/2026-11-01T00:00:00Z-10s.json",
    ]


def test_a_redelivered_batch_changes_no_count(handler: Any, prometheus: PrometheusServer, lambda_context: Any) -> None:
    payload = json.dumps(snapshot("cart", 7, 0, {"stock": {"requests": 3, "errors": 0}})).encode()
    for _ in range(2):
        assert handler.lambda_handler(kinesis_event(payload), lambda_context("snapshot-sink")) == {
            "batchItemFailures": []
        }
    assert edge_counts() == {("cart", "stock"): (3, 0)}
    at = WINDOW + 10 - 0.001
    assert PromQLClient(prometheus.url).scalar('sum_over_time(slo_requests_total{service="cart"}[10s])', at) == 7


def test_without_a_remote_write_url_the_sink_says_which_setting_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(entrypoint.REMOTE_WRITE_URL, raising=False)
    entrypoint.sink_from_env.cache_clear()
    with pytest.raises(entrypoint.SinkConfigurationError, match=entrypoint.REMOTE_WRITE_URL):
        entrypoint.sink_from_env()
