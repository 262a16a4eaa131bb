"""The sidecar's OTLP JSON aggregates: decoding rules, refusals with reasons, and the same snapshots as raw events."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from slo_engine.ingest.aggregator import EventColumns, SnapshotAggregator, aggregate_columnar
from slo_engine.ingest.otlp import (
    AggregatePoint,
    decode_export,
    exports_from_events,
    is_otlp_export,
)
from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS

START = datetime(2026, 11, 1, tzinfo=UTC)


def event(second: float, service: str = "checkout", duration: float = 12.0, **extra: Any) -> dict[str, Any]:
    return {"service": service, "timestamp": (START + timedelta(seconds=second)).isoformat(), "duration_ms": duration,
            **extra}  # fmt: skip


EVENTS = [
    event(0.5),
    event(1.0, duration=3.0),
    event(2.0, duration=700.0, error=True),
    event(2.5, peer="ledger", duration=40.0),
    event(3.0, peer="ledger", duration=41.0, error=True),
    event(4.0, service="ledger", duration=30.0),
    event(12.0, duration=20000.0),
    event(13.0, service="ledger", peer="postgres", duration=2.0),
]


def first_point(export: dict[str, Any]) -> dict[str, Any]:
    return export["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"]["dataPoints"][0]


def one_export() -> dict[str, Any]:
    return exports_from_events(EVENTS[:3])[0]


def test_the_emulated_exports_are_valid_otlp_json() -> None:
    for export in exports_from_events(EVENTS):
        message = json_format.Parse(json.dumps(export), ExportMetricsServiceRequest())  # unknown fields fail
        metric = message.resource_metrics[0].scope_metrics[0].metrics[0]
        assert metric.histogram.aggregation_temporality == 1  # AGGREGATION_TEMPORALITY_DELTA
        for point in metric.histogram.data_points:
            assert point.count == sum(point.bucket_counts)
            assert list(point.explicit_bounds) == list(DEFAULT_LATENCY_BOUNDS_MS)


def test_a_sidecar_export_folds_into_the_snapshots_its_events_make() -> None:
    from_events = aggregate_columnar(EventColumns.from_records(EVENTS))
    aggregator = SnapshotAggregator()
    for export in exports_from_events(EVENTS):
        assert is_otlp_export(export)
        aggregator.add(json.dumps(export))
    from_exports = aggregator.close()
    assert from_exports == from_events
    assert aggregator.stats.malformed == 0 and aggregator.stats.points == aggregator.stats.accepted


def test_server_client_and_error_points_become_weighted_rows() -> None:
    rows = [row for export in exports_from_events(EVENTS[:5]) for row in decode_export(export)]
    points = [row.point for row in rows]
    assert all(row.reason is None for row in rows)
    middle = int((START + timedelta(seconds=5)).timestamp() * 1000)
    served_ok, served_failed, call_ok, call_failed = sorted(points, key=lambda p: (p.peer or "", p.errors))  # type: ignore[arg-type, return-value]
    assert served_ok == AggregatePoint("checkout", None, middle, 2, 0, served_ok.counts)  # type: ignore[union-attr]
    assert served_ok.counts[0] == 1 and served_ok.counts[2] == 1  # 3 ms and 12 ms  # type: ignore[union-attr]
    assert (served_failed.requests, served_failed.errors) == (1, 1)  # type: ignore[union-attr]
    assert (call_ok.peer, call_ok.requests, call_ok.errors) == ("ledger", 1, 0)  # type: ignore[union-attr]
    assert (call_failed.peer, call_failed.errors) == ("ledger", 1)  # type: ignore[union-attr]


def test_seconds_histograms_are_scaled_to_milliseconds() -> None:
    export = one_export()
    metric = export["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    metric["unit"] = "s"
    for point in metric["histogram"]["dataPoints"]:
        point["explicitBounds"] = [b / 1000 for b in point["explicitBounds"]]
    assert [row.reason for row in decode_export(export)] == [None, None]


def broken(change: Any) -> str | None:
    export = copy.deepcopy(one_export())
    change(export)
    rows = list(decode_export(export))
    return rows[0].reason


def metric_of(export: dict[str, Any]) -> dict[str, Any]:
    return export["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]


def set_attribute(key: str, value: str | None) -> Any:
    def change(export: dict[str, Any]) -> None:
        point = first_point(export)
        point["attributes"] = [a for a in point["attributes"] if a["key"] != key]
        if value is not None:
            point["attributes"].append({"key": key, "value": {"stringValue": value}})

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.update(resourceMetrics="nope"), "invalid OTLP"),
        (lambda e: e["resourceMetrics"][0].update(scopeMetrics={}), "invalid OTLP"),
        (lambda e: metric_of(e).update(name="traces.span.metrics.calls"), "unsupported metric"),
        (lambda e: metric_of(e).update(unit="us"), "invalid unit"),
        (lambda e: metric_of(e)["histogram"].update(aggregationTemporality=2), "invalid temporality"),
        (
            lambda e: (set_attribute("service.name", None)(e), e["resourceMetrics"][0].pop("resource")),
            "invalid service",
        ),
        (lambda e: first_point(e).update(timeUnixNano="soon"), "invalid timestamp"),
        (lambda e: first_point(e).update(startTimeUnixNano="99999999999999999999"), "invalid timestamp"),
        (set_attribute("span.kind", "SPAN_KIND_INTERNAL"), "unsupported span kind"),
        (lambda e: set_attribute("span.kind", "SPAN_KIND_CLIENT")(e), "invalid peer.service"),
        (lambda e: first_point(e).update(count="999"), "invalid histogram"),
        (lambda e: first_point(e).update(bucketCounts=["1"]), "invalid histogram"),
        (lambda e: first_point(e)["bucketCounts"].__setitem__(0, "-1"), "invalid histogram"),
        (lambda e: first_point(e).update(explicitBounds=[1.0] * 11), "histogram bounds differ"),
    ],
)
def test_every_refusal_has_its_reason(change: Any, reason: str) -> None:
    assert broken(change) == reason


def test_the_service_falls_back_to_the_resource_attribute() -> None:
    assert broken(set_attribute("service.name", None)) is None


def test_refused_points_are_counted_and_the_rest_of_the_export_is_kept() -> None:
    export = one_export()
    export["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].append({"name": "slo.log.records", "sum": {}})
    first_point(export)["count"] = "7"
    aggregator = SnapshotAggregator()
    assert aggregator.add(json.dumps(export)) is True
    snapshots = aggregator.close()
    stats = aggregator.stats
    assert (stats.points, stats.accepted, stats.malformed) == (3, 1, 2)
    assert stats.malformed_reasons == {"invalid histogram": 1, "unsupported metric": 1}
    assert snapshots[0]["requests"] == 2 and snapshots[0]["errors"] == 0  # the failed call's point was refused


def test_late_points_go_to_the_side_output_with_their_weight() -> None:
    aggregator = SnapshotAggregator(allowed_lateness_seconds=0)
    early, later = exports_from_events([event(1.0)]), exports_from_events([event(35.0)])
    aggregator.add(json.dumps(later[0]))
    aggregator.add(json.dumps(early[0]))
    assert aggregator.stats.late == 1
    assert aggregator.side_output[0]["reason"] == "late" and aggregator.side_output[0]["point"]["requests"] == 1


def test_an_empty_export_is_no_row_at_all() -> None:
    assert list(decode_export({"resourceMetrics": []})) == []
