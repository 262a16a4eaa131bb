"""Sidecar aggregates and raw events on one stream: the Flink job (PyFlink mini-cluster) and the embedded aggregator
fold the collector's OTLP JSON exports, broken and late ones included, into identical snapshots and counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ingestion_support import (
    CLOCK_EPOCH_MS,
    MixedStream,
    computed_once,
    embedded,
    fleet_events,
    flink_job,
    keyed,
    mixed_stream,
)

from slo_engine.ingest.aggregator import EventColumns, SnapshotAggregator, aggregate_columnar

pytest.importorskip("pyflink")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("flink")]


@pytest.fixture(scope="session")
def events() -> list[dict[str, Any]]:
    return fleet_events(minutes=1)


@pytest.fixture(scope="session")
def stream(events: list[dict[str, Any]]) -> MixedStream:
    return mixed_stream(events)


@pytest.fixture(scope="session")
def flink_run(stream: MixedStream, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        job = flink_job()
        work = tmp_path_factory.mktemp("flink-otlp-parity")
        lines = work / "stream.jsonl"
        lines.write_text("\n".join(stream.lines) + "\n", encoding="utf-8")
        report = job.run_local(lines, work / "out", job.JobSettings(clock_epoch_ms=CLOCK_EPOCH_MS))
        return {
            "snapshots": [json.loads(line) for line in Path(report.snapshots_path).read_text().splitlines()],
            "rejected": report.rejected,
            "side_output": [json.loads(line) for line in Path(report.side_output_path).read_text().splitlines()],
        }

    return computed_once("flink-otlp-parity", tmp_path_factory, run)


@pytest.fixture(scope="session")
def embedded_run(stream: MixedStream) -> tuple[list[dict[str, Any]], SnapshotAggregator]:
    return embedded(stream.lines, flush_every=500)


def test_the_stream_really_mixes_sidecar_exports_and_raw_events(stream: MixedStream) -> None:
    exports = sum(1 for line in stream.lines if line.startswith('{"resourceMetrics"'))
    assert exports > 50 and len(stream.lines) - exports > 500
    assert len(stream.malformed) >= 10


def test_flink_and_the_embedded_aggregator_fold_sidecar_exports_alike(
    flink_run: dict[str, Any], embedded_run: tuple[list[dict[str, Any]], SnapshotAggregator]
) -> None:
    from_flink, from_embedded = keyed(flink_run["snapshots"]), keyed(embedded_run[0])
    assert len(flink_run["snapshots"]) == len(from_flink), "Flink emitted a (service, window) twice"
    assert from_flink.keys() == from_embedded.keys()
    differing = [key for key in from_embedded if from_flink[key] != from_embedded[key]]
    assert differing == [], f"first difference: {from_flink[differing[0]]} != {from_embedded[differing[0]]}"


def test_both_count_every_refused_export_with_its_reason(
    stream: MixedStream, flink_run: dict[str, Any], embedded_run: tuple[list[dict[str, Any]], SnapshotAggregator]
) -> None:
    stats = embedded_run[1].stats
    rejected = dict(flink_run["rejected"])
    assert rejected.pop("late", 0) == stats.late >= stream.late_exports
    assert rejected.pop("future", 0) == stats.future == 0
    assert rejected == stats.malformed_reasons == stream.malformed


def test_the_snapshots_equal_those_of_the_raw_events_behind_the_exports(
    events: list[dict[str, Any]], stream: MixedStream, flink_run: dict[str, Any]
) -> None:
    """Flushes aligned with the windows lose nothing: the snapshots are those the raw events give by themselves,
    and the only late rows are the points of the export sent twice."""
    late = [json.loads(row["record"]) for row in flink_run["side_output"] if row["reason"] == "late"]
    assert len(late) == stream.late_exports and all("bucketCounts" in point for point in late)
    assert keyed(flink_run["snapshots"]) == keyed(aggregate_columnar(EventColumns.from_records(events)))
