"""The collector sidecar's aggregates on the stream: OTLP JSON metric exports -> weighted rows for the snapshot fold.

The sidecar (``otel/collector.yaml``) turns every span into the ``spanmetrics`` connector's delta latency
histogram, labelled with ``service.name``, ``span.kind``, ``status.code`` and ``peer.service``, and the
``awskinesis`` exporter writes each flush as one OTLP JSON ``ExportMetricsServiceRequest`` record. Each histogram
data point becomes one row that the aggregator and the Flink job fold exactly like raw events, with weights:

- ``SPAN_KIND_SERVER`` / ``SPAN_KIND_CONSUMER``: the service's own requests, errors and latency histogram.
- ``SPAN_KIND_CLIENT`` / ``SPAN_KIND_PRODUCER`` with ``peer.service``: calls on the edge service -> peer
  (``downstream`` of the caller, ``upstream`` of the callee), not in either histogram.
- ``status.code`` ``STATUS_CODE_ERROR``: every call of the point failed; any other status: none did.
- Event time: the middle of the point's delta interval (``startTimeUnixNano`` .. ``timeUnixNano``, each floored
  to the millisecond, the sum halved and floored). With the flush interval equal to the window and aligned to it,
  each point lands in its own window exactly; otherwise in the window holding most of its interval.
- The histogram must be delta, on the snapshot's bounds (``unit`` ``ms``, or ``s`` scaled by 1,000), with
  ``count`` equal to the sum of ``bucketCounts``.

Everything else is refused with a reason and counted, never dropped silently: ``invalid OTLP`` (a level that is not
a list of objects), ``unsupported metric`` (not the spanmetrics duration histogram), ``invalid unit``,
``invalid temporality``, ``invalid service``, ``invalid timestamp``, ``unsupported span kind``,
``invalid peer.service``, ``invalid histogram`` and ``histogram bounds differ``. ``flink/snapshot_job.py`` applies
the same rules in SQL, in the same order; the parity test holds both to it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS

DURATION_METRIC = "traces.span.metrics.duration"
"""The spanmetrics connector's latency histogram (namespace ``traces.span.metrics``); a bare ``duration`` is the
name of older releases. Both are accepted: the name is ``duration`` or ends with ``.duration``."""
SERVED_KINDS = frozenset({"SPAN_KIND_SERVER", "SPAN_KIND_CONSUMER"})
CALLING_KINDS = frozenset({"SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER"})
ERROR_STATUS = "STATUS_CODE_ERROR"
DELTA_TEMPORALITY = 1
DELTA_SPELLINGS = ("1", "AGGREGATION_TEMPORALITY_DELTA")
"""``aggregationTemporality`` as the OTLP JSON encoding writes it (an integer) or as protobuf's JSON names it."""
UNIT_SCALE = {"ms": 1.0, "s": 1000.0}
BOUND_TOLERANCE = 1e-9
"""Relative tolerance when a point's bounds (scaled to ms) are compared with the snapshot's bounds."""
MAX_SERVICE_CHARS = 256

_DIGITS = re.compile(r"[0-9]{1,19}")
_COUNT_DIGITS = re.compile(r"[0-9]{1,18}")
_NANOS_PER_MS = 1_000_000


@dataclass(frozen=True)
class AggregatePoint:
    """One data point as a weighted row: ``requests`` calls at ``ts_ms``, ``errors`` of them failed.

    ``peer`` None: served by ``service`` (``counts`` is its latency histogram on the snapshot's bounds, one more
    entry than bounds); otherwise calls from ``service`` to ``peer`` (``counts`` is not used).
    """

    service: str
    peer: str | None
    ts_ms: int
    requests: int
    errors: int
    counts: tuple[int, ...]


@dataclass(frozen=True)
class OtlpRow:
    """One row of an export: a point, or the reason it was refused with the part of the record at fault."""

    point: AggregatePoint | None
    reason: str | None
    record: Any


def is_otlp_export(data: object) -> bool:
    """An OTLP JSON metrics export (the sidecar's records) rather than one raw event."""
    return isinstance(data, Mapping) and "resourceMetrics" in data


def _attributes(holder: object) -> dict[str, object]:
    """OTLP ``attributes`` (a list of ``{"key", "value": {"stringValue": ...}}``) as key -> string value."""
    found: dict[str, object] = {}
    attributes = holder.get("attributes") if isinstance(holder, Mapping) else None
    if not isinstance(attributes, list):
        return found
    for attribute in attributes:
        if isinstance(attribute, Mapping) and isinstance(attribute.get("key"), str):
            value = attribute.get("value")
            text = value.get("stringValue") if isinstance(value, Mapping) else None
            found.setdefault(attribute["key"], text)
    return found


def _objects(value: object) -> list[Any] | None:
    return value if isinstance(value, list) else None


_INT64_MAX = 2**63 - 1


def _digits(value: object, pattern: re.Pattern[str] = _DIGITS) -> int | None:
    """A non-negative OTLP int64 (a decimal string, as the JSON encoding writes it, or a JSON integer)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and pattern.fullmatch(value) and int(value) <= _INT64_MAX:
        return int(value)
    return None


def _is_duration(metric: Mapping[str, Any]) -> bool:
    name = metric.get("name")
    return isinstance(name, str) and (name == "duration" or name.endswith(".duration")) and "histogram" in metric


def _service(point_attributes: Mapping[str, object], resource_attributes: Mapping[str, object]) -> str | None:
    name = point_attributes.get("service.name")
    if name is None:
        name = resource_attributes.get("service.name")
    if isinstance(name, str) and 1 <= len(name) <= MAX_SERVICE_CHARS:
        return name
    return None


def _event_time_ms(point: Mapping[str, Any]) -> int | None:
    end = _digits(point.get("timeUnixNano"))
    start = _digits(point.get("startTimeUnixNano"))
    if end is None or start is None or end == 0 or start > end:
        return None
    return (start // _NANOS_PER_MS + end // _NANOS_PER_MS) // 2


def _bucket_counts(point: Mapping[str, Any], n_buckets: int) -> tuple[int, ...] | None:
    raw = point.get("bucketCounts")
    count = _digits(point.get("count"), _COUNT_DIGITS)
    if not isinstance(raw, list) or len(raw) != n_buckets or count is None:
        return None
    counts = tuple(_digits(value, _COUNT_DIGITS) for value in raw)
    if any(value is None for value in counts) or sum(counts) != count:  # type: ignore[arg-type]
        return None
    return counts  # type: ignore[return-value]


def _same_bounds(point: Mapping[str, Any], scale: float, bounds: Sequence[float]) -> bool:
    given = point.get("explicitBounds")
    if not isinstance(given, list) or len(given) != len(bounds):
        return False
    for value, bound in zip(given, bounds, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if abs(value * scale - bound) > BOUND_TOLERANCE * bound:
            return False
    return True


def _point_row(
    point: object,
    metric: Mapping[str, Any],
    resource_attributes: Mapping[str, object],
    bounds: Sequence[float],
) -> OtlpRow:
    """Checks in the order the Flink job applies them: the first failing check names the reason."""
    if not isinstance(point, Mapping):
        return OtlpRow(None, "invalid OTLP", point)
    scale = UNIT_SCALE.get(metric.get("unit"))  # type: ignore[arg-type]
    if scale is None:
        return OtlpRow(None, "invalid unit", point)
    histogram = metric["histogram"]
    temporality = histogram.get("aggregationTemporality") if isinstance(histogram, Mapping) else None
    if isinstance(temporality, bool) or str(temporality) not in DELTA_SPELLINGS:
        return OtlpRow(None, "invalid temporality", point)
    attributes = _attributes(point)
    service = _service(attributes, resource_attributes)
    if service is None:
        return OtlpRow(None, "invalid service", point)
    ts_ms = _event_time_ms(point)
    if ts_ms is None:
        return OtlpRow(None, "invalid timestamp", point)
    kind = attributes.get("span.kind")
    peer: str | None = None
    if kind in CALLING_KINDS:
        callee = attributes.get("peer.service")
        if not isinstance(callee, str) or not 1 <= len(callee) <= MAX_SERVICE_CHARS:
            return OtlpRow(None, "invalid peer.service", point)
        peer = callee
    elif kind not in SERVED_KINDS:
        return OtlpRow(None, "unsupported span kind", point)
    counts = _bucket_counts(point, len(bounds) + 1)
    if counts is None:
        return OtlpRow(None, "invalid histogram", point)
    if not _same_bounds(point, scale, bounds):
        return OtlpRow(None, "histogram bounds differ", point)
    requests = sum(counts)
    errors = requests if attributes.get("status.code") == ERROR_STATUS else 0
    return OtlpRow(AggregatePoint(service, peer, ts_ms, requests, errors, counts), None, point)


def decode_export(data: Mapping[str, Any], bounds: Sequence[float] = DEFAULT_LATENCY_BOUNDS_MS) -> Iterator[OtlpRow]:
    """Every row of one export, in document order (resource, scope, metric, data point).

    A level that is not a list (or an element that is not an object) gives one ``invalid OTLP`` row; an empty list
    gives none. A metric other than the duration histogram gives one ``unsupported metric`` row per data point
    (one row if it has no histogram data points).
    """
    resources = _objects(data.get("resourceMetrics"))
    if resources is None:
        yield OtlpRow(None, "invalid OTLP", data.get("resourceMetrics"))
        return
    for resource in resources:
        scopes = _objects(resource.get("scopeMetrics")) if isinstance(resource, Mapping) else None
        if scopes is None:
            yield OtlpRow(None, "invalid OTLP", resource)
            continue
        resource_attributes = _attributes(resource.get("resource"))
        for scope in scopes:
            metrics = _objects(scope.get("metrics")) if isinstance(scope, Mapping) else None
            if metrics is None:
                yield OtlpRow(None, "invalid OTLP", scope)
                continue
            for metric in metrics:
                if not isinstance(metric, Mapping):
                    yield OtlpRow(None, "invalid OTLP", metric)
                    continue
                histogram = metric.get("histogram")
                points = _objects(histogram.get("dataPoints")) if isinstance(histogram, Mapping) else None
                if not _is_duration(metric):
                    for point in points if points is not None else [metric]:
                        yield OtlpRow(None, "unsupported metric", point)
                    continue
                if points is None:
                    yield OtlpRow(None, "invalid OTLP", metric)
                    continue
                for point in points:
                    yield _point_row(point, metric, resource_attributes, bounds)


# ---- what a sidecar would send, for tests, benchmarks and trying the pipeline without a collector -------------


def _string_attribute(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def exports_from_events(
    events: Iterable[Mapping[str, Any]],
    flush_seconds: int = 10,
    bounds: Sequence[float] = DEFAULT_LATENCY_BOUNDS_MS,
    phase_ms: int = 0,
) -> list[dict[str, Any]]:
    """Raw events (``RawEvent``-shaped dicts) -> the OTLP JSON exports sidecars with ``otel/collector.yaml`` send.

    One export per (service, flush interval), flushed in time order; intervals are ``flush_seconds`` long and start
    ``phase_ms`` after a multiple of it. Each holds the spanmetrics duration histogram (delta, ms) with one point per
    (span kind, status, peer), in the OTLP JSON encoding (int64 as strings, enums as integers).
    """
    flush_ns = flush_seconds * 1_000_000_000
    phase_ns = phase_ms * _NANOS_PER_MS
    cells: dict[tuple[int, str], dict[tuple[str, str, str], list[int]]] = defaultdict(dict)
    sums: dict[tuple[int, str, str, str, str], float] = defaultdict(float)
    for event in events:
        stamp = event["timestamp"]
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
        ns = round(moment.astimezone(UTC).timestamp() * 1_000_000) * 1000
        interval = (ns - phase_ns) // flush_ns
        peer = event.get("peer") or ""
        kind = "SPAN_KIND_CLIENT" if peer else "SPAN_KIND_SERVER"
        status = ERROR_STATUS if event.get("error") else "STATUS_CODE_UNSET"
        counts = cells[(interval, event["service"])].setdefault((kind, status, peer), [0] * (len(bounds) + 1))
        duration = float(event["duration_ms"])
        counts[sum(1 for bound in bounds if duration > bound)] += 1
        sums[(interval, event["service"], kind, status, peer)] += duration
    exports = []
    for (interval, service), points in sorted(cells.items()):
        start = interval * flush_ns + phase_ns
        data_points = []
        for (kind, status, peer), counts in sorted(points.items()):
            attributes = [
                _string_attribute("service.name", service),
                _string_attribute("span.name", "request"),
                _string_attribute("span.kind", kind),
                _string_attribute("status.code", status),
            ]
            if peer:
                attributes.append(_string_attribute("peer.service", peer))
            data_points.append(
                {
                    "attributes": attributes,
                    "startTimeUnixNano": str(start),
                    "timeUnixNano": str(start + flush_ns),
                    "count": str(sum(counts)),
                    "sum": sums[(interval, service, kind, status, peer)],
                    "bucketCounts": [str(c) for c in counts],
                    "explicitBounds": [float(b) for b in bounds],
                }
            )
        exports.append(
            {
                "resourceMetrics": [
                    {
                        "resource": {"attributes": [_string_attribute("service.name", service)]},
                        "scopeMetrics": [
                            {
                                "scope": {"name": "spanmetricsconnector"},
                                "metrics": [
                                    {
                                        "name": DURATION_METRIC,
                                        "unit": "ms",
                                        "histogram": {
                                            "dataPoints": data_points,
                                            "aggregationTemporality": DELTA_TEMPORALITY,
                                        },
                                    }
                                ],
                            }
                        ],
                    }
                ]
            }
        )
    return exports
