"""The Flink job (PyFlink mini-cluster) and the embedded aggregator fold the same messy stream into identical
snapshots, and count the same late, future and malformed records."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ingestion_support import (
    CLOCK_EPOCH_MS,
    MessyStream,
    computed_once,
    embedded,
    fleet_events,
    flink_job,
    keyed,
    messy_stream,
    partitioned,
    summed,
)

from slo_engine.ingest.aggregator import SnapshotAggregator

pytest.importorskip("pyflink")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("flink")]


@pytest.fixture(scope="session")
def stream() -> MessyStream:
    return messy_stream(fleet_events(minutes=1))


@pytest.fixture(scope="session")
def flink_run(stream: MessyStream, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Any]:
    def run() -> dict[str, Any]:
        job = flink_job()
        work = tmp_path_factory.mktemp("flink-parity")
        events = work / "events.jsonl"
        events.write_text("\n".join(stream.lines) + "\n", encoding="utf-8")
        report = job.run_local(events, work / "out", job.JobSettings(clock_epoch_ms=CLOCK_EPOCH_MS))
        snapshots = [json.loads(line) for line in Path(report.snapshots_path).read_text().splitlines()]
        return {"snapshots": snapshots, "rejected": report.rejected}

    found = computed_once("flink-parity", tmp_path_factory, run)
    return found["snapshots"], SimpleNamespace(rejected=found["rejected"])


@pytest.fixture(scope="session")
def embedded_run(stream: MessyStream) -> tuple[list[dict[str, Any]], SnapshotAggregator]:
    return embedded(stream.lines, flush_every=1000)


def test_flink_and_the_embedded_aggregator_emit_the_same_snapshots(
    flink_run: tuple[list[dict[str, Any]], Any], embedded_run: tuple[list[dict[str, Any]], SnapshotAggregator]
) -> None:
    from_flink, from_embedded = keyed(flink_run[0]), keyed(embedded_run[0])
    assert len(flink_run[0]) == len(from_flink), "Flink emitted a (service, window) twice"
    assert from_flink.keys() == from_embedded.keys()
    differing = [key for key in from_embedded if from_flink[key] != from_embedded[key]]
    assert differing == [], f"first difference: {from_flink[differing[0]]} != {from_embedded[differing[0]]}"


def test_flink_counts_late_future_and_malformed_records_like_the_aggregator(
    stream: MessyStream,
    flink_run: tuple[list[dict[str, Any]], Any],
    embedded_run: tuple[list[dict[str, Any]], SnapshotAggregator],
) -> None:
    stats = embedded_run[1].stats
    rejected = flink_run[1].rejected
    malformed = {reason: n for reason, n in rejected.items() if reason not in ("late", "future")}
    assert rejected.get("late", 0) == stats.late
    assert rejected.get("future", 0) == stats.future == stream.future
    assert sum(malformed.values()) == stats.malformed == stream.malformed


def test_every_valid_event_is_in_a_snapshot_or_counted_as_late(
    stream: MessyStream, flink_run: tuple[list[dict[str, Any]], Any]
) -> None:
    snapshots, report = flink_run
    served = sum(s["requests"] for s in snapshots)
    calls = sum(edge["requests"] for s in snapshots for edge in s["downstream"].values())
    valid = len(stream.lines) - stream.malformed - stream.future
    assert served + calls + report.rejected.get("late", 0) == valid
    assert stream.late_injected <= report.rejected.get("late", 0)


@pytest.fixture(scope="session")
def sharded_flink_run(stream: MessyStream, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same stream over two shards (partition key: the service), read by two parallel source tasks."""

    def run() -> dict[str, Any]:
        job = flink_job()
        work = tmp_path_factory.mktemp("flink-sharded")
        for index, shard in enumerate(partitioned(stream.lines, 2)):
            (work / "in").mkdir(exist_ok=True)
            (work / "in" / f"shard-{index}.jsonl").write_text("\n".join(shard) + "\n", encoding="utf-8")
        report = job.run_local(work / "in", work / "out", job.JobSettings(clock_epoch_ms=CLOCK_EPOCH_MS), parallelism=2)
        snapshots = [json.loads(line) for line in Path(report.snapshots_path).read_text().splitlines()]
        return {"snapshots": snapshots, "rejected": report.rejected}

    return computed_once("flink-sharded", tmp_path_factory, run)


def test_with_parallel_shards_lateness_is_judged_per_shard_and_the_windows_add_them_up(
    stream: MessyStream, sharded_flink_run: dict[str, Any]
) -> None:
    """Parallelism 2 over two shards equals the aggregator run on each shard, the snapshots added up: each source
    task has its own watermark, so what is late depends on the shard's own order only, and no accepted row is lost
    in a window that another shard's watermark closed."""
    per_shard = []
    late = malformed = 0
    for shard in partitioned(stream.lines, 2):
        snapshots, aggregator = embedded(shard, flush_every=len(shard) + 1)
        per_shard.append(snapshots)
        late, malformed = late + aggregator.stats.late, malformed + aggregator.stats.malformed
    assert keyed(sharded_flink_run["snapshots"]) == keyed(summed(per_shard))
    rejected = dict(sharded_flink_run["rejected"])
    assert (rejected.pop("late", 0), rejected.pop("future", 0)) == (late, stream.future)
    assert sum(rejected.values()) == malformed == stream.malformed
