"""Ingestion throughput, side by side in one run: the embedded aggregator on columnar batches (events/s on one
core), the local Flink job (PyFlink mini-cluster, events/s including JVM start and planning, and of the job alone),
and the reduction ratio from raw lines (logs + spans) to snapshots.

    .venv/bin/python bench/ingest.py [--columnar-events 20000000] [--flink-events 200000] [--otlp-events 2000000]
                                     [--no-flink]

The Flink job is timed twice: on raw events (one line per request) and on the same kind of traffic as the collector
sidecars send it (one OTLP JSON export per service and 10 s, with one histogram point per span kind, status, peer).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def columnar_rate(n_events: int, n_services: int = 50, seconds: int = 600, repeats: int = 3) -> tuple[float, int]:
    """Best-of-``repeats`` events/s of ``aggregate_columnar`` on one batch (numpy runs on one core here)."""
    from slo_engine.ingest.aggregator import EventColumns, aggregate_columnar

    rng = np.random.default_rng(1)
    names = tuple(f"svc-{i:03d}" for i in range(n_services))
    service = rng.integers(0, n_services, n_events, dtype=np.int32)
    peer = np.where(rng.random(n_events) < 0.3, rng.integers(0, n_services, n_events), -1).astype(np.int32)
    batch = EventColumns(
        names,
        service,
        peer,
        1_793_491_200_000 + np.sort(rng.integers(0, seconds * 1000, n_events)),
        rng.lognormal(3.0, 1.0, n_events),
        rng.random(n_events) < 0.01,
    )
    best = float("inf")
    snapshots = 0
    for _ in range(repeats):
        began = time.perf_counter()
        snapshots = len(aggregate_columnar(batch))
        best = min(best, time.perf_counter() - began)
    return n_events / best, snapshots


def _fleet_events(n_events: int, minutes: int = 30) -> list[dict]:
    from slo_engine.embedded.fleet import generate_fleet

    fleet = generate_fleet(seed=7, days=1, step_seconds=60, end_epoch=1_793_491_200)
    total = sum(int(fleet.series[s].requests[-minutes:].sum()) for s in fleet.services)
    return list(fleet.raw_events(minutes=minutes, rate_scale=min(1.0, n_events / max(total, 1) / 1.3), seed=3))


def _run_flink(lines: list[str], work: Path) -> tuple[float, float, int]:
    """(wall seconds incl. JVM start and planning, seconds of the job execution, snapshots)."""
    sys.path.insert(0, str(ROOT / "flink"))
    import snapshot_job

    path = work / "stream.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    began = time.perf_counter()
    report = snapshot_job.run_local(path, work / "out", snapshot_job.JobSettings(clock_epoch_ms=1_793_491_260_000))
    wall = time.perf_counter() - began
    return wall, _job_seconds() or wall, report.snapshots


def flink_rate(n_events: int, work: Path) -> tuple[float, float, int]:
    """Raw events on the stream: (events/s end to end incl. JVM start and planning, events/s of the job, snapshots)."""
    events = _fleet_events(n_events)
    wall, job, snapshots = _run_flink([json.dumps(e) for e in events], work)
    return len(events) / wall, len(events) / job, snapshots


def flink_otlp_rate(n_events: int, work: Path, minutes: int = 240) -> tuple[int, int, float, float, int]:
    """The fleet's traffic as its sidecars send it (one OTLP JSON export per service and 10 s, over ``minutes``, so
    that there are enough exports to time): (requests, exports, data points/s of the job, requests/s, snapshots)."""
    from slo_engine.ingest.otlp import exports_from_events

    events = _fleet_events(n_events, minutes)
    exports = exports_from_events(events)
    points = sum(
        len(m["histogram"]["dataPoints"])
        for e in exports
        for r in e["resourceMetrics"]
        for s in r["scopeMetrics"]
        for m in s["metrics"]
    )
    _, job, snapshots = _run_flink([json.dumps(e) for e in exports], work)
    return len(events), len(exports), points / job, len(events) / job, snapshots


def _job_seconds() -> float | None:
    """Execution time of the last job, from the mini-cluster's log (RUNNING -> FINISHED)."""
    import re
    from datetime import datetime

    import pyflink

    logs = sorted((Path(pyflink.__file__).parent / "log").glob("*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return None
    started = finished = None
    for line in logs[-1].read_text(errors="replace").splitlines():
        stamp = line[:23]
        if "Starting execution of job" in line:
            started = stamp
        elif re.search(r"Job insert-into.* switched from state RUNNING to FINISHED", line):
            finished = stamp
    if not started or not finished:
        return None
    parse = lambda s: datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f")  # noqa: E731
    return (parse(finished) - parse(started)).total_seconds()


def reduction_ratio(minutes: int = 10) -> tuple[int, int, int, int]:
    """(raw log lines + spans, lines kept by the edge reducer + request events, snapshots, 10 s windows) for the
    sample fleet at full traffic, with 20 log lines per request of which 2 % are warnings or errors."""
    from slo_engine.embedded.fleet import generate_fleet

    fleet = generate_fleet(seed=7, days=1, step_seconds=60, end_epoch=1_793_491_200)
    steps = minutes
    requests = sum(int(fleet.series[s].requests[-steps:].sum()) for s in fleet.services)
    calls = sum(int(e.calls[-steps:].sum()) for e in fleet.edges.values())
    spans = requests + calls
    log_lines = 20 * requests
    kept_lines = int(log_lines * 0.02)
    snapshots = len(fleet.services) * minutes * 6
    return log_lines + spans, kept_lines + spans, snapshots, minutes * 6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--columnar-events", type=int, default=20_000_000)
    parser.add_argument("--flink-events", type=int, default=200_000)
    parser.add_argument("--otlp-events", type=int, default=2_000_000, help="requests behind the sidecar exports")
    parser.add_argument("--no-flink", action="store_true")
    args = parser.parse_args()

    rate, snapshots = columnar_rate(args.columnar_events)
    print(f"embedded aggregator, columnar: {rate / 1e6:.1f} M events/s on one core "
          f"({args.columnar_events / 1e6:.0f} M events -> {snapshots} snapshots; goal >= 10 M/s)")  # fmt: skip
    if not args.no_flink:
        try:
            with tempfile.TemporaryDirectory(prefix="bench-flink-") as scratch:
                end_to_end, job_only, flink_snapshots = flink_rate(args.flink_events, Path(scratch))
            print(
                f"flink job, local mini-cluster (parallelism 1): {job_only / 1e3:.1f} k events/s while running, "
                f"{end_to_end / 1e3:.1f} k events/s including JVM start and planning ({flink_snapshots} snapshots)"
            )
            with tempfile.TemporaryDirectory(prefix="bench-flink-otlp-") as scratch:
                requests, exports, points_rate, requests_rate, otlp_snapshots = flink_otlp_rate(
                    args.otlp_events, Path(scratch)
                )
            print(
                f"flink job on sidecar exports (OTLP JSON): {requests:,} requests in {exports:,} exports; "
                f"{points_rate / 1e3:.1f} k data points/s, {requests_rate / 1e6:.2f} M requests/s represented "
                f"({otlp_snapshots} snapshots)"
            )
        except ImportError:
            print("flink job: apache-flink is not installed (pip install -r requirements-dev.txt)")
    raw, kept, snapshots, windows = reduction_ratio()
    print(f"reduction: {raw / 1e6:.1f} M raw lines+spans -> {kept / 1e6:.2f} M after the edge -> {snapshots} snapshots "
          f"in {windows} windows: {raw / snapshots:,.0f}:1 overall, {kept / snapshots:,.0f}:1 by Flink")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
