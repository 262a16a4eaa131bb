"""Shared pieces of the ingestion tests: a messy event stream, the Flink job module, and a real Prometheus.

The stream is the synthetic fleet's raw events (out of order by up to 2 s) plus malformed, late and far-future
records at known places, so every test knows exactly how many of each it must see counted.
"""

from __future__ import annotations

import importlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STREAM_END_EPOCH = 1_793_491_200  # 2026-11-01T00:00:00Z
CLOCK_EPOCH_MS = STREAM_END_EPOCH * 1000 + 60_000

MALFORMED_LINES = [
    '{"service": "cart", "timestamp": "2026-10-31T23:58:00Z", "duration_ms": 12',  # truncated JSON
    "[1, 2, 3]",  # not an object
    '{"service": "cart", "timestamp": "2026-10-31T23:58:00", "duration_ms": 12.0}',  # naive timestamp
    '{"service": "cart", "timestamp": "2026-10-31T23:58:00Z", "duration_ms": -4.0}',  # negative duration
    '{"service": "cart", "timestamp": "2026-10-31T23:58:00Z", "duration_ms": "fast"}',  # not a number
    '{"timestamp": "2026-10-31T23:58:00Z", "duration_ms": 1.0}',  # no service
]
FUTURE_LINES = ['{"service": "cart", "timestamp": "2099-01-01T00:00:00Z", "duration_ms": 3.0}']


def flink_job() -> ModuleType:
    """``flink/snapshot_job.py`` (shipped beside the core, not inside it)."""
    if str(ROOT / "flink") not in sys.path:
        sys.path.insert(0, str(ROOT / "flink"))
    return importlib.import_module("snapshot_job")


def fleet_events(minutes: int = 2, rate_scale: float = 0.01, seed: int = 11) -> list[dict[str, Any]]:
    from slo_engine.embedded.fleet import generate_fleet

    fleet = generate_fleet(seed=7, days=1, step_seconds=60, end_epoch=STREAM_END_EPOCH)
    return list(fleet.raw_events(minutes=minutes, rate_scale=rate_scale, seed=seed, jitter_share=0.02))


@dataclass
class MessyStream:
    lines: list[str]
    malformed: int
    future: int
    late_injected: int
    unknown_field_lines: int


def messy_stream(events: list[dict[str, Any]]) -> MessyStream:
    """JSON lines of ``events`` with malformed, late, far-future and extra-field records woven in."""
    lines: list[str] = []
    late = unknown = 0
    bad = iter(MALFORMED_LINES + FUTURE_LINES)
    every = max(1, len(events) // (len(MALFORMED_LINES) + len(FUTURE_LINES) + 1))
    for i, event in enumerate(events):
        record = dict(event)
        if i % 97 == 0:
            record["pod"] = f"pod-{i % 5}"  # unknown field: ignored, the event is kept
            unknown += 1
        lines.append(json.dumps(record))
        if i and i % every == 0:
            extra = next(bad, None)
            if extra is not None:
                lines.append(extra)
        if i and i % 1500 == 0:
            stale = dict(event)
            stale["timestamp"] = "2026-10-31T23:50:00.000Z"  # minutes behind the watermark: late
            lines.append(json.dumps(stale))
            late += 1
    lines.extend(bad)
    return MessyStream(lines, len(MALFORMED_LINES), len(FUTURE_LINES), late, unknown)


def _broken_exports(template: dict[str, Any]) -> list[tuple[str, str]]:
    """(JSON line, the reason both implementations must give) for exports a sidecar should never send."""
    import copy

    def variant(change: Any) -> str:
        export = copy.deepcopy(template)
        change(export)
        return json.dumps(export)

    def metric(export: dict[str, Any]) -> dict[str, Any]:
        return export["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]

    def point(export: dict[str, Any]) -> dict[str, Any]:
        return metric(export)["histogram"]["dataPoints"][0]

    def only_first_point(export: dict[str, Any]) -> None:
        del metric(export)["histogram"]["dataPoints"][1:]

    def attribute(key: str, value: str) -> Any:
        def change(export: dict[str, Any]) -> None:
            only_first_point(export)
            attributes = [a for a in point(export)["attributes"] if a["key"] != key]
            point(export)["attributes"] = [*attributes, {"key": key, "value": {"stringValue": value}}]

        return change

    def with_first(change: Any) -> Any:
        return lambda export: (only_first_point(export), change(export))

    return [
        ('{"resourceMetrics": [{"scopeMetrics": [{"metrics": [', "invalid JSON"),  # truncated
        (json.dumps({"resourceMetrics": "none"}), "invalid OTLP"),
        (json.dumps({"resourceMetrics": [{"resource": {}, "scopeMetrics": 7}]}), "invalid OTLP"),
        (
            variant(lambda e: metric(e).update(name="traces.span.metrics.calls", sum=metric(e).pop("histogram"))),
            "unsupported metric",
        ),
        (variant(with_first(lambda e: metric(e).update(unit="us"))), "invalid unit"),
        (variant(with_first(lambda e: metric(e)["histogram"].update(aggregationTemporality=2))), "invalid temporality"),
        (variant(with_first(lambda e: point(e).update(timeUnixNano="-1"))), "invalid timestamp"),
        (variant(attribute("span.kind", "SPAN_KIND_INTERNAL")), "unsupported span kind"),
        (variant(attribute("span.kind", "SPAN_KIND_CLIENT")), "invalid peer.service"),
        (variant(with_first(lambda e: point(e).update(count=str(int(point(e)["count"]) + 1)))), "invalid histogram"),
        (
            variant(with_first(lambda e: point(e).update(explicitBounds=point(e)["explicitBounds"][:-1]))),
            "histogram bounds differ",
        ),
    ]


def _stamp_ms(item: dict[str, Any]) -> int:
    if "resourceMetrics" in item:
        points = item["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"]["dataPoints"]
        return int(points[0]["timeUnixNano"]) // 1_000_000
    from datetime import datetime

    return int(datetime.fromisoformat(item["timestamp"]).timestamp() * 1000)


@dataclass
class MixedStream:
    lines: list[str]
    malformed: dict[str, int]
    late_exports: int
    sidecar_services: list[str]


def sidecar_split(events: list[dict[str, Any]]) -> tuple[set[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """(services running the sidecar, the raw events of the others, the sidecars' OTLP JSON exports)."""
    from slo_engine.ingest.otlp import exports_from_events

    names = sorted({e["service"] for e in events} | {e["peer"] for e in events if e.get("peer")})
    sidecar = set(names[::2])
    exports = exports_from_events([e for e in events if e["service"] in sidecar])
    return sidecar, [e for e in events if e["service"] not in sidecar], exports


def interleaved(raw: list[dict[str, Any]], exports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raw events in their order, each export placed once the stream has passed the end of its flush."""
    items: list[dict[str, Any]] = []
    waiting = iter(exports)
    pending = next(waiting, None)
    for event in raw:
        while pending is not None and _stamp_ms(pending) <= _stamp_ms(event):
            items.append(pending)
            pending = next(waiting, None)
        items.append(event)
    if pending is not None:
        items.append(pending)
    items.extend(waiting)
    return items


def mixed_stream(events: list[dict[str, Any]]) -> MixedStream:
    """Half the services send raw events, the other half run the collector sidecar (OTLP JSON exports, each line
    appearing once the stream has passed the end of its 10-second flush), with broken and late exports woven in."""
    sidecar, raw, exports = sidecar_split(events)
    broken = _broken_exports(exports[len(exports) // 2])
    items = interleaved(raw, exports)
    lines = [json.dumps(item) for item in items]
    every = max(1, len(lines) // (len(broken) + 2))
    for k, (line, _) in enumerate(broken, start=1):
        lines.insert(min(len(lines), k * every), line)
    late = exports[0]  # its flush again, long after the window closed
    lines.append(json.dumps(late))
    malformed: dict[str, int] = {}
    for _, reason in broken:
        malformed[reason] = malformed.get(reason, 0) + 1
    points = late["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"]["dataPoints"]
    return MixedStream(lines, malformed, len(points), sorted(sidecar))


def partitioned(lines: list[str], partitions: int) -> list[list[str]]:
    """Lines split like a stream's shards with the service as partition key (unreadable lines: the first shard)."""
    import zlib

    shards: list[list[str]] = [[] for _ in range(partitions)]
    for line in lines:
        try:
            record = json.loads(line)
            key = str(record.get("service", "")) if isinstance(record, dict) else ""
        except ValueError:
            key = ""
        shards[zlib.crc32(key.encode()) % partitions].append(line)
    return shards


def summed(snapshot_lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Snapshots of several partitions added up per (service, window), as the job's windows add its shards up."""
    from datetime import datetime

    from slo_engine.ingest.aggregator import fold_points
    from slo_engine.ingest.otlp import AggregatePoint

    points = []
    for snapshots in snapshot_lists:
        for s in snapshots:
            ts = int(datetime.fromisoformat(s["window_start"].replace("Z", "+00:00")).timestamp() * 1000)
            if s["requests"]:
                counts = tuple(s["latency_ms"]["counts"])
                points.append(AggregatePoint(s["service"], None, ts, s["requests"], s["errors"], counts))
            for peer, edge in s["downstream"].items():
                points.append(AggregatePoint(s["service"], peer, ts, edge["requests"], edge["errors"], ()))
    return fold_points([], points)


def embedded(lines: list[str], flush_every: int = 1000) -> tuple[list[dict[str, Any]], Any]:
    """(snapshots, the aggregator with its counts) of the embedded aggregator over ``lines``, flushing as it goes."""
    from slo_engine.ingest.aggregator import SnapshotAggregator

    aggregator = SnapshotAggregator(clock=lambda: CLOCK_EPOCH_MS / 1000)
    snapshots: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        aggregator.add(line, line_number=number)
        if number % flush_every == 0:
            snapshots.extend(aggregator.flush())
    snapshots.extend(aggregator.close())
    return snapshots, aggregator


def keyed(snapshots: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Canonical snapshots by (service, window start), for equality across producers."""
    return {(s["service"], s["window_start"]): canonical(s) for s in snapshots}


def canonical(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot with float fields as floats and maps sorted, for equality across producers."""
    result = dict(snapshot)
    result["latency_ms"] = {
        "bounds": [float(b) for b in snapshot["latency_ms"]["bounds"]],
        "counts": [int(c) for c in snapshot["latency_ms"]["counts"]],
    }
    for key in ("error_pct", "p50_ms", "p95_ms", "p99_ms"):
        result[key] = None if snapshot.get(key) is None else float(snapshot[key])
    result["upstream"] = dict(sorted(snapshot["upstream"].items()))
    result["downstream"] = dict(sorted(snapshot["downstream"].items()))
    return result


# ---- a real Prometheus on 127.0.0.1 -------------------------------------------------------------------------

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1h
storage:
  tsdb:
    out_of_order_time_window: 30d
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrometheusServer:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path


def start_prometheus(work_dir: Path) -> Iterator[PrometheusServer]:
    """Start ``prometheus`` with the remote-write receiver; yields it and stops it afterwards."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("the prometheus binary is missing: `make test` installs the Debian package prometheus")
    work_dir.mkdir(parents=True, exist_ok=True)
    config = work_dir / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG, encoding="utf-8")
    port = _free_port()
    log = (work_dir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={work_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
            "--storage.tsdb.retention.time=3650d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"prometheus did not start; see {work_dir / 'prometheus.log'}") from None
                time.sleep(0.1)
        yield PrometheusServer(url, process, work_dir / "data")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def computed_once(name: str, tmp_path_factory: Any, compute: Any) -> Any:
    """``compute()`` (JSON-serialisable) run once per test session even across xdist workers (file lock + cache).

    The Flink runs are the expensive part; if the tests of one module land on both workers, the second waits for
    the first's result instead of starting a second mini-cluster.
    """
    import os

    from filelock import FileLock

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return json.loads(json.dumps(compute()))  # one process: nothing to share (and no stale cache to reuse)
    root = tmp_path_factory.getbasetemp().parent  # shared by the workers of this run only
    cache = root / f"{name}.json"
    with FileLock(str(cache) + ".lock"):
        if cache.is_file():
            return json.loads(cache.read_text(encoding="utf-8"))
        value = compute()
        cache.write_text(json.dumps(value), encoding="utf-8")
        return value
