"""The snapshot path end to end: spans -> edge reducer -> Kinesis (moto) -> the Flink job (mini-cluster) -> the sink
-> a real Prometheus, the S3 archive and the edge ledger (moto); PromQL reads back exactly the input counts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ingestion_support import CLOCK_EPOCH_MS, PrometheusServer, fleet_events, flink_job, start_prometheus
from moto import mock_aws
from slo_engine.adapters.aws.kinesis import KinesisTransport, read_stream
from slo_engine.adapters.aws.snapshot_sink_stores import DynamoDbEdgeLedger, S3SnapshotArchive
from slo_engine.adapters.prometheus import PromQLClient, RemoteWriteClient
from slo_engine.ingest.edge_reducer import SpanReduction, reduce_spans
from slo_engine.ingest.producer import StreamProducer
from slo_engine.ingest.sink import SnapshotSink, parse_snapshot

pytest.importorskip("pyflink")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("flink")]

REGION = "us-east-1"


def as_span(event: dict[str, Any]) -> dict[str, Any]:
    """The fleet's request events dressed as the spans a sidecar sees."""
    return {
        "service.name": event["service"],
        "kind": "SPAN_KIND_CLIENT" if event["peer"] else "SPAN_KIND_SERVER",
        "peer.service": event["peer"],
        "timestamp": event["timestamp"],
        "duration_ms": event["duration_ms"],
        "status": {"code": "STATUS_CODE_ERROR" if event["error"] else "STATUS_CODE_OK"},
    }


@pytest.fixture(scope="session")
def e2e_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    yield from start_prometheus(tmp_path_factory.mktemp("prometheus-e2e"))


@pytest.fixture(scope="session")
def pipeline(e2e_prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Session-scoped: the Flink run is the expensive part, run once per worker whatever the test order."""
    prometheus = e2e_prometheus
    work = tmp_path_factory.mktemp("e2e")
    events = fleet_events(minutes=1, rate_scale=0.01, seed=5)
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName="telemetry", ShardCount=1)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="snapshots")
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for name, keys in (("edges", ("upstream", "downstream")), ("claims", ("id",))):
            dynamodb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            )

        spans = SpanReduction()
        produced = StreamProducer(KinesisTransport("telemetry", kinesis)).send_json(
            reduce_spans((as_span(e) for e in events), spans), key=lambda d: str(d["service"])
        )
        stream_file = work / "telemetry.jsonl"
        stream_file.write_bytes(b"\n".join(read_stream(kinesis, "telemetry")) + b"\n")

        job = flink_job()
        run = job.run_local(stream_file, work / "flink", job.JobSettings(clock_epoch_ms=CLOCK_EPOCH_MS))
        lines = Path(run.snapshots_path).read_text().splitlines()
        sink = SnapshotSink(
            RemoteWriteClient(f"{prometheus.url}/api/v1/write"),
            S3SnapshotArchive("snapshots", client=s3),
            DynamoDbEdgeLedger("edges", "claims", client=dynamodb),
        )
        first = sink.write_records(lines)
        replay = sink.write_records(lines)
        edge_items = dynamodb.scan(TableName="edges")["Items"]
        archived = s3.list_objects_v2(Bucket="snapshots").get("KeyCount", 0)
        return {
            "events": events,
            "spans": spans,
            "produced": produced,
            "run": run,
            "snapshots": [parse_snapshot(line) for line in lines],
            "first": first,
            "replay": replay,
            "edges": {(i["upstream"]["S"], i["downstream"]["S"]): int(i["requests"]["N"]) for i in edge_items},
            "archived": archived,
            "promql": PromQLClient(prometheus.url),
        }


def test_every_event_went_through_the_reducer_and_the_stream(pipeline: dict[str, Any]) -> None:
    assert pipeline["spans"].events == len(pipeline["events"]) and not pipeline["spans"].skipped
    assert pipeline["produced"].sent == len(pipeline["events"]) and pipeline["produced"].ok
    assert pipeline["run"].rejected == {}


def test_promql_reads_back_exactly_the_requests_and_errors_of_the_input(pipeline: dict[str, Any]) -> None:
    served = Counter(e["service"] for e in pipeline["events"] if not e["peer"])
    failed = Counter(e["service"] for e in pipeline["events"] if not e["peer"] and e["error"])
    snapshots = pipeline["snapshots"]
    end = max(s.epoch_seconds + s.window_seconds for s in snapshots)
    span = end - min(s.epoch_seconds for s in snapshots)
    promql: PromQLClient = pipeline["promql"]
    by_service = {
        r["metric"]["service"]: float(r["value"][1])
        for r in promql.query(f"sum by (service) (sum_over_time(slo_requests_total[{span}s]))", end - 0.001)
    }
    errors = {
        r["metric"]["service"]: float(r["value"][1])
        for r in promql.query(f"sum by (service) (sum_over_time(slo_errors_total[{span}s]))", end - 0.001)
    }
    assert {k: v for k, v in by_service.items() if v} == {k: float(v) for k, v in served.items()}
    assert {k: v for k, v in errors.items() if v} == {k: float(v) for k, v in failed.items()}


def test_edge_ledger_holds_every_client_call_once_even_after_a_replay(pipeline: dict[str, Any]) -> None:
    calls = Counter((e["service"], e["peer"]) for e in pipeline["events"] if e["peer"])
    assert pipeline["edges"] == dict(calls)
    assert pipeline["replay"].replayed == len(pipeline["snapshots"]) and pipeline["replay"].written == 0


def test_each_snapshot_is_archived_once(pipeline: dict[str, Any]) -> None:
    assert pipeline["archived"] == len(pipeline["snapshots"]) == pipeline["first"].written


def test_the_snapshots_are_valid_contract_lines(pipeline: dict[str, Any]) -> None:
    for snapshot in pipeline["snapshots"]:
        assert json.loads(snapshot.model_dump_json())["window_seconds"] == 10
