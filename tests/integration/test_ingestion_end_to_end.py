"""The snapshot path end to end: spans -> edge reducer (half the services) or collector sidecar aggregates (the
other half) -> Kinesis (moto) -> the Flink job (mini-cluster) -> the sink -> a real Prometheus, the S3 archive and the
edge ledger (moto); PromQL reads back exactly the input counts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from ingestion_support import (
    CLOCK_EPOCH_MS,
    computed_once,
    fleet_events,
    flink_job,
    interleaved,
    sidecar_split,
    start_prometheus,
)
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


def run_pipeline(work: Path) -> dict[str, Any]:
    """The whole path once, with its own Prometheus; returns plain data (the PromQL answers included)."""
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

        sidecar, raw, exports = sidecar_split(events)
        spans = SpanReduction()
        reduced = list(reduce_spans((as_span(e) for e in raw), spans))
        produced = StreamProducer(KinesisTransport("telemetry", kinesis)).send_json(
            interleaved(reduced, exports), key=lambda d: str(d.get("service", "sidecar"))
        )
        stream_file = work / "telemetry.jsonl"
        stream_file.write_bytes(b"\n".join(read_stream(kinesis, "telemetry")) + b"\n")

        job = flink_job()
        run = job.run_local(stream_file, work / "flink", job.JobSettings(clock_epoch_ms=CLOCK_EPOCH_MS))
        lines = Path(run.snapshots_path).read_text().splitlines()
        snapshots = [parse_snapshot(line) for line in lines]
        end = max(s.epoch_seconds + s.window_seconds for s in snapshots)
        span = end - min(s.epoch_seconds for s in snapshots)
        for prometheus in start_prometheus(work / "prometheus"):
            sink = SnapshotSink(
                RemoteWriteClient(f"{prometheus.url}/api/v1/write"),
                S3SnapshotArchive("snapshots", client=s3),
                DynamoDbEdgeLedger("edges", "claims", client=dynamodb),
            )
            first = sink.write_records(lines)
            replay = sink.write_records(lines)
            promql = PromQLClient(prometheus.url)
            read_back = {
                name: {
                    r["metric"]["service"]: float(r["value"][1])
                    for r in promql.query(f"sum by (service) (sum_over_time({name}[{span}s]))", end - 0.001)
                }
                for name in ("slo_requests_total", "slo_errors_total")
            }
        edge_items = dynamodb.scan(TableName="edges")["Items"]
        archived = s3.list_objects_v2(Bucket="snapshots").get("KeyCount", 0)
    return {
        "events": events,
        "raw_events": len(raw),
        "exports": len(exports),
        "sidecar_services": sorted(sidecar),
        "spans": {"events": spans.events, "skipped": dict(spans.skipped)},
        "produced": {"sent": produced.sent, "ok": produced.ok},
        "rejected": run.rejected,
        "snapshots": [json.loads(line) for line in lines],
        "written": first.written,
        "replayed": replay.replayed,
        "replay_written": replay.written,
        "edges": [[i["upstream"]["S"], i["downstream"]["S"], int(i["requests"]["N"])] for i in edge_items],
        "archived": archived,
        "read_back": read_back,
    }


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return computed_once("ingestion-e2e", tmp_path_factory, lambda: run_pipeline(tmp_path_factory.mktemp("e2e")))


def test_every_event_went_through_the_reducer_or_a_sidecar_and_the_stream(pipeline: dict[str, Any]) -> None:
    assert pipeline["spans"] == {"events": pipeline["raw_events"], "skipped": {}}
    assert 0 < pipeline["raw_events"] < len(pipeline["events"]) and pipeline["exports"] > 0
    assert pipeline["produced"] == {"sent": pipeline["raw_events"] + pipeline["exports"], "ok": True}
    assert pipeline["rejected"] == {}


def test_promql_reads_back_exactly_the_requests_and_errors_of_the_input(pipeline: dict[str, Any]) -> None:
    served = Counter(e["service"] for e in pipeline["events"] if not e["peer"])
    failed = Counter(e["service"] for e in pipeline["events"] if not e["peer"] and e["error"])
    requests, errors = pipeline["read_back"]["slo_requests_total"], pipeline["read_back"]["slo_errors_total"]
    assert {k: v for k, v in requests.items() if v} == {k: float(v) for k, v in served.items()}
    assert {k: v for k, v in errors.items() if v} == {k: float(v) for k, v in failed.items()}


def test_edge_ledger_holds_every_client_call_once_even_after_a_replay(pipeline: dict[str, Any]) -> None:
    calls = Counter((e["service"], e["peer"]) for e in pipeline["events"] if e["peer"])
    assert {(up, down): n for up, down, n in pipeline["edges"]} == dict(calls)
    assert pipeline["replayed"] == len(pipeline["snapshots"]) and pipeline["replay_written"] == 0


def test_each_snapshot_is_archived_once(pipeline: dict[str, Any]) -> None:
    assert pipeline["archived"] == len(pipeline["snapshots"]) == pipeline["written"]


def test_the_snapshots_are_valid_ten_second_contract_lines(pipeline: dict[str, Any]) -> None:
    snapshots = [parse_snapshot(json.dumps(line)) for line in pipeline["snapshots"]]
    assert snapshots and {s.window_seconds for s in snapshots} == {10}
