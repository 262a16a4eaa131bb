"""The embedded aggregator: raw request events -> one snapshot per (service, 10-second tumbling window).

A line may also be one OTLP JSON metrics export from the collector sidecar (``slo_engine.ingest.otlp``): each of
its histogram data points is a weighted row (``requests`` calls at one event time) folded by the same rules.

It is the local stand-in for the Flink job, which must produce the same snapshots for the same input. Semantics
(the Flink job follows them exactly):

- A server span (``peer`` empty) counts toward its service's ``requests``, ``errors`` and latency histogram;
  a client span (``service`` A, ``peer`` B) counts as ``A.downstream[B]`` and ``B.upstream[A]`` (requests,
  errors) and not in either histogram. A (service, window) seen only through edges still gets a snapshot,
  with ``requests`` 0.
- Windows are ``[k * window, (k + 1) * window)`` in event time (epoch milliseconds, floored). A duration ``d``
  goes into bucket ``i`` when ``bounds[i-1] < d <= bounds[i]`` (the last bucket: slower than every bound).
- ``error_pct`` is ``100.0 * errors / requests`` (null without requests); ``p50_ms``/``p95_ms``/``p99_ms`` come
  from the window's histogram with Prometheus ``histogram_quantile`` semantics (null without requests).
- Watermark = the largest event time accepted so far minus the allowed lateness. A window is closed once the
  watermark reaches its end; an event whose window is closed when it arrives is late (side output, counted);
  an event more than ``max_future_seconds`` ahead of the watermark is refused as from the future (counted).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from slo_engine.ingest.otlp import AggregatePoint, decode_export, is_otlp_export
from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS, SNAPSHOT_WINDOW_SECONDS, RawEvent

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_EVENT_FIELDS = frozenset(RawEvent.model_fields)
_DENSE_CELLS_MIN = 1 << 16
_DENSE_CELLS_PER_EVENT = 2
"""Count keys with a dense ``bincount`` when the key space is at most ``_DENSE_CELLS_MIN`` or
``_DENSE_CELLS_PER_EVENT`` times the events; beyond that, with ``np.unique`` (sort-based, memory-bounded)."""


def _dense(key_space: int, events: int) -> bool:
    return key_space <= max(_DENSE_CELLS_MIN, _DENSE_CELLS_PER_EVENT * events)


@dataclass(frozen=True)
class EventColumns:
    """A batch of raw events as columns. ``service_id`` and ``peer_id`` index ``names``; ``peer_id`` -1: none.

    The columnar path trusts its input (the sidecars or ``SnapshotAggregator`` validated it).
    """

    names: tuple[str, ...]
    service_id: npt.NDArray[np.int32]
    peer_id: npt.NDArray[np.int32]
    ts_ms: npt.NDArray[np.int64]
    duration_ms: npt.NDArray[np.float64]
    error: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        for name, dtype in (
            ("service_id", np.int32),
            ("peer_id", np.int32),
            ("ts_ms", np.int64),
            ("duration_ms", np.float64),
            ("error", np.bool_),
        ):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype))
        n = self.service_id.shape[0]
        for name in ("peer_id", "ts_ms", "duration_ms", "error"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"column {name} must have {n} entries like service_id")

    def __len__(self) -> int:
        return int(self.service_id.shape[0])

    @classmethod
    def of(
        cls,
        names: Sequence[str],
        service_id: npt.ArrayLike,
        peer_id: npt.ArrayLike,
        ts_ms: npt.ArrayLike,
        duration_ms: npt.ArrayLike,
        error: npt.ArrayLike,
    ) -> EventColumns:
        """Columns from any array-likes (lists, arrays of other dtypes), converted to the column dtypes."""
        return cls(
            tuple(names),
            np.asarray(service_id, dtype=np.int32),
            np.asarray(peer_id, dtype=np.int32),
            np.asarray(ts_ms, dtype=np.int64),
            np.asarray(duration_ms, dtype=np.float64),
            np.asarray(error, dtype=np.bool_),
        )

    @classmethod
    def empty(cls, names: Sequence[str] = ()) -> EventColumns:
        return cls(
            tuple(names),
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.float64),
            np.empty(0, np.bool_),
        )

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> EventColumns:
        """Columns from trusted RawEvent-shaped dicts (e.g. the synthetic fleet's ``raw_events``)."""
        ids: dict[str, int] = {}
        service_ids: list[int] = []
        peer_ids: list[int] = []
        stamps: list[int] = []
        durations: list[float] = []
        errors: list[bool] = []
        for record in records:
            service_ids.append(ids.setdefault(record["service"], len(ids)))
            peer = record.get("peer")
            peer_ids.append(ids.setdefault(peer, len(ids)) if peer else -1)
            stamp = record["timestamp"]
            if isinstance(stamp, str):
                stamp = datetime.fromisoformat(stamp)
            stamps.append((stamp - _EPOCH) // _MILLISECOND)
            durations.append(float(record["duration_ms"]))
            errors.append(bool(record.get("error", False)))
        return cls.of(tuple(ids), service_ids, peer_ids, stamps, durations, errors)

    def select(self, mask: npt.NDArray[np.bool_]) -> EventColumns:
        return EventColumns(
            self.names, self.service_id[mask], self.peer_id[mask], self.ts_ms[mask], self.duration_ms[mask],
            self.error[mask],
        )  # fmt: skip


def _rfc3339(epoch_seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def _empty_snapshot(service: str, window_start: str, window_seconds: int, bounds: list[float]) -> dict[str, Any]:
    """A (service, window) with nothing counted yet: the snapshot contract's fields, derived ones null."""
    return {
        "service": service,
        "window_start": window_start,
        "window_seconds": window_seconds,
        "requests": 0,
        "errors": 0,
        "error_pct": None,
        "latency_ms": {"bounds": bounds, "counts": [0] * (len(bounds) + 1)},
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "upstream": {},
        "downstream": {},
    }


def _counts_by_key(
    keys: npt.NDArray[np.int64], key_space: int, failed: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct keys (ascending) with how many events and how many failed events carry each."""
    if _dense(key_space, keys.size):
        events = np.bincount(keys, minlength=key_space)
        errors = np.bincount(keys[failed], minlength=key_space)
        present = np.flatnonzero(events)
        return present, events[present], errors[present]
    distinct, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    return (
        distinct,
        np.bincount(inverse, minlength=distinct.size),
        np.bincount(inverse[failed], minlength=distinct.size),
    )


def _bucket_index(durations: npt.NDArray[np.float64], bounds: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Bucket i holds durations in (bounds[i-1], bounds[i]]: the number of bounds strictly below the duration.

    Equal to ``np.searchsorted(bounds, durations, side="left")``; a comparison per bound is several times
    faster than a binary search for the dozen bounds histograms use.
    """
    if bounds.size > 32:
        return np.searchsorted(bounds, durations, side="left").astype(np.int64)
    index = np.zeros(durations.shape[0], dtype=np.int8)
    above = np.empty(durations.shape[0], dtype=np.bool_)
    for bound in bounds:
        np.greater(durations, bound, out=above)
        np.add(index, above, out=index, casting="unsafe")
    return index.astype(np.int64)


def _checked_bounds(bounds: Sequence[float]) -> npt.NDArray[np.float64]:
    array = np.asarray(bounds, dtype=np.float64)
    if array.ndim != 1 or array.size == 0 or (array <= 0).any() or (np.diff(array) <= 0).any():
        raise ValueError("latency bounds must be positive and strictly ascending")
    return array


def aggregate_columnar(
    batch: EventColumns,
    window_seconds: int = SNAPSHOT_WINDOW_SECONDS,
    bounds: Sequence[float] = DEFAULT_LATENCY_BOUNDS_MS,
) -> list[dict[str, Any]]:
    """Fold a batch into snapshot dicts, one per (service, tumbling window), sorted by window then service.

    Vectorised: events are counted with ``bincount`` over (window, service, peer slot) keys (``np.unique`` when
    the key space is too sparse for a dense count); Python only loops over the snapshots produced.
    """
    from slo_engine.slo.sli import histogram_quantile

    if window_seconds <= 0:
        raise ValueError("window_seconds must be positive")
    bound_array = _checked_bounds(bounds)
    bound_list = list(bounds)
    if len(batch) == 0:
        return []
    names = batch.names
    n_names = len(names)
    n_buckets = bound_array.size + 1
    window_ms = window_seconds * 1000
    window = batch.ts_ms // window_ms
    first_window = int(window.min())
    n_cells = (int(window.max()) - first_window + 1) * n_names
    cell = (window - first_window) * n_names + batch.service_id  # (window, service)
    client = batch.peer_id >= 0

    # One key per (window, service, peer slot): slot 0 holds server spans, slot p + 1 calls to peer p.
    pair = cell * (n_names + 1) + (batch.peer_id + 1)
    pairs, pair_events, pair_errors = _counts_by_key(pair, n_cells * (n_names + 1), batch.error)
    cell_of_pair, slot = np.divmod(pairs, n_names + 1)
    served = slot == 0
    cells, requests, errors = cell_of_pair[served], pair_events[served], pair_errors[served]

    # Latency histograms of server spans per (window, service); client spans land past the end and are dropped.
    bucket = _bucket_index(batch.duration_ms, bound_array)
    hist_space = n_cells * n_buckets
    if _dense(2 * hist_space, len(batch)):
        histogram_key = cell * n_buckets + bucket + client * hist_space
        dense = np.bincount(histogram_key, minlength=2 * hist_space)[:hist_space].reshape(n_cells, n_buckets)
        histograms = dense[cells]
    else:
        server = ~client
        row = np.searchsorted(cells, cell[server])
        histograms = np.bincount(row * n_buckets + bucket[server], minlength=cells.size * n_buckets)
        histograms = histograms.reshape(cells.size, n_buckets)

    edge_keys = pairs[~served]
    edge_calls, edge_errors = pair_events[~served], pair_errors[~served]

    snapshots: dict[tuple[int, int], dict[str, Any]] = {}

    def snapshot(window_index: int, service_index: int) -> dict[str, Any]:
        found = snapshots.get((window_index, service_index))
        if found is None:
            window_start = _rfc3339((first_window + window_index) * window_seconds)
            found = _empty_snapshot(names[service_index], window_start, window_seconds, bound_list)
            snapshots[(window_index, service_index)] = found
        return found

    for key, n_requests, n_errors, counts in zip(
        cells.tolist(), requests.tolist(), errors.tolist(), histograms.tolist(), strict=True
    ):
        record = snapshot(*divmod(key, n_names))
        record["requests"] = n_requests
        record["errors"] = n_errors
        record["error_pct"] = 100.0 * n_errors / n_requests
        record["latency_ms"] = {"bounds": bound_list, "counts": counts}
        record["p50_ms"] = histogram_quantile(counts, bound_list, 0.5)
        record["p95_ms"] = histogram_quantile(counts, bound_list, 0.95)
        record["p99_ms"] = histogram_quantile(counts, bound_list, 0.99)

    for key, n_calls, n_errors in zip(edge_keys.tolist(), edge_calls.tolist(), edge_errors.tolist(), strict=True):
        caller_cell, callee_slot = divmod(key, n_names + 1)
        window_index, caller = divmod(caller_cell, n_names)
        callee = callee_slot - 1
        snapshot(window_index, caller)["downstream"][names[callee]] = {"requests": n_calls, "errors": n_errors}
        snapshot(window_index, callee)["upstream"][names[caller]] = {"requests": n_calls, "errors": n_errors}

    ordered = sorted(snapshots.items(), key=lambda item: (item[0][0], names[item[0][1]]))
    result = []
    for _, record in ordered:
        record["upstream"] = dict(sorted(record["upstream"].items()))
        record["downstream"] = dict(sorted(record["downstream"].items()))
        result.append(record)
    return result


def fold_points(
    snapshots: list[dict[str, Any]],
    points: Sequence[AggregatePoint],
    window_seconds: int = SNAPSHOT_WINDOW_SECONDS,
    bounds: Sequence[float] = DEFAULT_LATENCY_BOUNDS_MS,
) -> list[dict[str, Any]]:
    """Add weighted rows (the sidecars' aggregates) to snapshots of the same windows, creating missing ones.

    The result is ordered like ``aggregate_columnar``'s (window, then service) with derived fields recomputed.
    """
    from slo_engine.slo.sli import histogram_quantile

    if not points:
        return snapshots
    window_ms = window_seconds * 1000
    bound_list = list(bounds)
    by_key = {(s["window_start"], s["service"]): s for s in snapshots}
    touched: set[tuple[str, str]] = set()

    def snapshot(window_start: str, service: str) -> dict[str, Any]:
        found = by_key.get((window_start, service))
        if found is None:
            found = _empty_snapshot(service, window_start, window_seconds, bound_list)
            by_key[(window_start, service)] = found
        return found

    for point in points:
        window_start = _rfc3339((point.ts_ms // window_ms) * window_seconds)
        if point.peer is None:
            record = snapshot(window_start, point.service)
            record["requests"] += point.requests
            record["errors"] += point.errors
            merged = [a + b for a, b in zip(record["latency_ms"]["counts"], point.counts, strict=True)]
            record["latency_ms"] = {"bounds": bound_list, "counts": merged}
            touched.add((window_start, point.service))
            continue
        for subject, direction, other in (
            (point.service, "downstream", point.peer),
            (point.peer, "upstream", point.service),
        ):
            edges = snapshot(window_start, subject)[direction]
            edge = edges.setdefault(other, {"requests": 0, "errors": 0})
            edges[other] = {"requests": edge["requests"] + point.requests, "errors": edge["errors"] + point.errors}
    for key in touched:
        record = by_key[key]
        counts, requests = record["latency_ms"]["counts"], record["requests"]
        record["error_pct"] = 100.0 * record["errors"] / requests if requests else None
        for name, q in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
            record[name] = histogram_quantile(counts, bound_list, q)
    ordered = sorted(by_key.values(), key=lambda s: (s["window_start"], s["service"]))
    for record in ordered:
        record["upstream"] = dict(sorted(record["upstream"].items()))
        record["downstream"] = dict(sorted(record["downstream"].items()))
    return ordered


@dataclass
class AggregatorStats:
    """What happened to every record offered: nothing is dropped without being counted here."""

    records: int = 0
    points: int = 0
    """Rows from OTLP exports (one per histogram data point, refused ones included); verdicts count rows."""
    accepted: int = 0
    late: int = 0
    future: int = 0
    malformed: int = 0
    malformed_reasons: dict[str, int] = field(default_factory=dict)
    """Malformed records per reason (``invalid JSON``, ``invalid duration_ms`` ...)."""
    malformed_examples: list[tuple[int, str]] = field(default_factory=list)
    """(line number, what was wrong) for the first malformed records."""
    unknown_fields: dict[str, int] = field(default_factory=dict)
    """Fields the contract does not know, per name: ignored, the record itself is kept."""
    snapshots: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SnapshotAggregator:
    """The streaming row path: validate records one at a time, fold closed windows in columnar batches.

    ``add`` never raises on bad input; ``flush`` returns the snapshots of windows the watermark closed;
    ``close`` returns the rest (end of stream). Late and future events go to ``side_output`` (bounded; the
    counts in ``stats`` are always exact).
    """

    def __init__(
        self,
        window_seconds: int = SNAPSHOT_WINDOW_SECONDS,
        allowed_lateness_seconds: float = 5,
        max_future_seconds: float = 300,
        bounds: Sequence[float] = DEFAULT_LATENCY_BOUNDS_MS,
        *,
        clock: Callable[[], float] | None = None,
        max_side_output: int = 100_000,
        max_examples: int = 100,
    ) -> None:
        if window_seconds <= 0 or allowed_lateness_seconds < 0 or max_future_seconds < 0:
            raise ValueError("window_seconds must be positive; lateness and future limits not negative")
        _checked_bounds(bounds)
        self.window_seconds = window_seconds
        self.bounds = tuple(bounds)
        self._window_ms = window_seconds * 1000
        self._lateness_ms = round(allowed_lateness_seconds * 1000)
        self._future_ms = round(max_future_seconds * 1000)
        self._clock = clock
        self._max_side_output = max_side_output
        self._max_examples = max_examples
        self._ids: dict[str, int] = {}
        self._max_ts_ms: int | None = None
        self._closed = False
        self._rows: tuple[list[int], list[int], list[int], list[float], list[bool]] = ([], [], [], [], [])
        self._pending = EventColumns.empty()
        self._points: list[AggregatePoint] = []
        self.stats = AggregatorStats()
        self.side_output: list[dict[str, Any]] = []

    @property
    def watermark_ms(self) -> int | None:
        """Event time (epoch ms) up to which windows are complete; None before the first event."""
        if self._closed:
            return None
        return None if self._max_ts_ms is None else self._max_ts_ms - self._lateness_ms

    def _malformed(self, line: int, reason: str, detail: str) -> None:
        self.stats.malformed += 1
        self.stats.malformed_reasons[reason] = self.stats.malformed_reasons.get(reason, 0) + 1
        if len(self.stats.malformed_examples) < self._max_examples:
            self.stats.malformed_examples.append((line, detail))

    def _divert(self, line: int, reason: str, event: RawEvent) -> None:
        if len(self.side_output) < self._max_side_output:
            self.side_output.append({"line": line, "reason": reason, "event": event.model_dump(mode="json")})

    def add(self, record: Mapping[str, Any] | str | bytes, line_number: int | None = None) -> bool:
        """Offer one record (a dict or a JSON line). Returns True when it was accepted into a window."""
        self.stats.records += 1
        line = self.stats.records if line_number is None else line_number
        if isinstance(record, str | bytes):
            try:
                data = json.loads(record)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                self._malformed(line, "invalid JSON", f"line {line}: invalid JSON ({exc})")
                return False
        else:
            data = record
        if not isinstance(data, Mapping):
            self._malformed(line, "not a JSON object", f"line {line}: expected a JSON object")
            return False
        if is_otlp_export(data):
            return self._add_export(data, line)
        for unknown in data.keys() - _EVENT_FIELDS:
            self.stats.unknown_fields[str(unknown)] = self.stats.unknown_fields.get(str(unknown), 0) + 1
        try:
            event = RawEvent.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "record"
            self._malformed(line, f"invalid {where}", f"line {line}: {where}: {error['msg']}")
            return False
        if not np.isfinite(event.duration_ms):
            self._malformed(line, "invalid duration_ms", f"line {line}: duration_ms: must be a finite number")
            return False
        return self._accept(event, line)

    def _add_export(self, data: Mapping[str, Any], line: int) -> bool:
        """Each data point of one OTLP export, in document order; True when at least one was accepted."""
        accepted = False
        for row in decode_export(data, self.bounds):
            self.stats.points += 1
            if row.point is None:
                self._malformed(line, str(row.reason), f"line {line}: {row.reason}")
                continue
            verdict = self._verdict(row.point.ts_ms)
            if verdict is not None:
                self._count_refused(verdict)
                if len(self.side_output) < self._max_side_output:
                    self.side_output.append({"line": line, "reason": verdict, "point": asdict(row.point)})
                continue
            self._points.append(row.point)
            self._advance(row.point.ts_ms)
            accepted = True
        return accepted

    def _verdict(self, ts_ms: int) -> str | None:
        """``future`` or ``late`` for a well-formed row at ``ts_ms``; None when its window is still open."""
        watermark = self.watermark_ms
        if self._clock is not None and ts_ms > self._clock() * 1000 + self._future_ms:
            return "future"
        if watermark is not None and ts_ms > watermark + self._future_ms:
            return "future"
        window_end = (ts_ms // self._window_ms + 1) * self._window_ms
        if self._closed or (watermark is not None and window_end <= watermark):
            return "late"
        return None

    def _count_refused(self, verdict: str) -> None:
        if verdict == "future":
            self.stats.future += 1
        else:
            self.stats.late += 1

    def _advance(self, ts_ms: int) -> None:
        if self._max_ts_ms is None or ts_ms > self._max_ts_ms:
            self._max_ts_ms = ts_ms
        self.stats.accepted += 1

    def _accept(self, event: RawEvent, line: int) -> bool:
        ts_ms = (event.timestamp - _EPOCH) // _MILLISECOND
        verdict = self._verdict(ts_ms)
        if verdict is not None:
            self._count_refused(verdict)
            self._divert(line, verdict, event)
            return False
        service_ids, peer_ids, stamps, durations, errors = self._rows
        service_ids.append(self._ids.setdefault(event.service, len(self._ids)))
        peer_ids.append(self._ids.setdefault(event.peer, len(self._ids)) if event.peer else -1)
        stamps.append(ts_ms)
        durations.append(event.duration_ms)
        errors.append(event.error)
        self._advance(ts_ms)
        return True

    def _buffered(self) -> EventColumns:
        names = tuple(self._ids)
        fresh = EventColumns.of(names, *self._rows)
        self._rows = ([], [], [], [], [])
        if len(self._pending) == 0:
            return fresh
        pending = self._pending
        return EventColumns(
            names,
            np.concatenate([pending.service_id, fresh.service_id]),
            np.concatenate([pending.peer_id, fresh.peer_id]),
            np.concatenate([pending.ts_ms, fresh.ts_ms]),
            np.concatenate([pending.duration_ms, fresh.duration_ms]),
            np.concatenate([pending.error, fresh.error]),
        )

    def _emit(self, batch: EventColumns, points: Sequence[AggregatePoint] = ()) -> list[dict[str, Any]]:
        snapshots = aggregate_columnar(batch, self.window_seconds, self.bounds)
        snapshots = fold_points(snapshots, points, self.window_seconds, self.bounds)
        self.stats.snapshots += len(snapshots)
        return snapshots

    def flush(self) -> list[dict[str, Any]]:
        """Snapshots of every window the watermark has closed (each (service, window) is emitted once)."""
        watermark = self.watermark_ms
        if watermark is None:
            return []
        batch = self._buffered()
        window_end = (batch.ts_ms // self._window_ms + 1) * self._window_ms
        closed = window_end <= watermark
        self._pending = batch.select(~closed)
        points = [p for p in self._points if (p.ts_ms // self._window_ms + 1) * self._window_ms <= watermark]
        if points:
            self._points = [p for p in self._points if (p.ts_ms // self._window_ms + 1) * self._window_ms > watermark]
        if not closed.any() and not points:
            return []
        return self._emit(batch.select(closed), points)

    def close(self) -> list[dict[str, Any]]:
        """End of stream: snapshots of every window still open. Later records are counted as late."""
        batch = self._buffered()
        self._pending = EventColumns.empty(batch.names)
        points, self._points = self._points, []
        self._closed = True
        return self._emit(batch, points)

    def drain_side_output(self) -> list[dict[str, Any]]:
        drained, self.side_output = self.side_output, []
        return drained


@dataclass
class AggregationReport:
    """What ``aggregate_file`` read, kept, refused and wrote."""

    events_path: str
    out_path: str
    lines: int
    blank_lines: int
    points: int
    accepted: int
    late: int
    future: int
    malformed: int
    snapshots: int
    malformed_reasons: dict[str, int]
    malformed_examples: list[tuple[int, str]]
    unknown_fields: dict[str, int]
    side_output_path: str | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def aggregate_file(
    events_path: str | Path,
    out_path: str | Path,
    *,
    window_seconds: int = SNAPSHOT_WINDOW_SECONDS,
    allowed_lateness_seconds: float = 5,
    max_future_seconds: float = 300,
    bounds: Sequence[float] = DEFAULT_LATENCY_BOUNDS_MS,
    side_output_path: str | Path | None = None,
    flush_every: int = 50_000,
) -> AggregationReport:
    """Read raw events (JSON Lines), write snapshot JSON Lines; late and future events to ``side_output_path``.

    Blank lines are skipped; malformed lines are counted with their line numbers and never stop the run.
    """
    began = time.perf_counter()
    source, target = Path(events_path), Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    aggregator = SnapshotAggregator(
        window_seconds, allowed_lateness_seconds, max_future_seconds, bounds, max_side_output=2 * flush_every
    )
    encode = json.JSONEncoder(separators=(",", ":")).encode
    lines = blank = 0
    side_file = None
    if side_output_path is not None:
        Path(side_output_path).parent.mkdir(parents=True, exist_ok=True)
        side_file = Path(side_output_path).open("w", encoding="utf-8")  # noqa: SIM115 - closed below

    def write(out: Any, snapshots: list[dict[str, Any]]) -> None:
        if snapshots:
            out.write("\n".join(encode(s) for s in snapshots) + "\n")
        diverted = aggregator.drain_side_output()
        if side_file is not None and diverted:
            side_file.write("\n".join(encode(d) for d in diverted) + "\n")

    try:
        with source.open("r", encoding="utf-8", errors="replace") as events, target.open("w", encoding="utf-8") as out:
            for lines, text in enumerate(events, start=1):
                if not text.strip():
                    blank += 1
                    continue
                aggregator.add(text, line_number=lines)
                if lines % flush_every == 0:
                    write(out, aggregator.flush())
            write(out, aggregator.close())
    finally:
        if side_file is not None:
            side_file.close()
    stats = aggregator.stats
    return AggregationReport(
        events_path=str(source),
        out_path=str(target),
        lines=lines,
        blank_lines=blank,
        points=stats.points,
        accepted=stats.accepted,
        late=stats.late,
        future=stats.future,
        malformed=stats.malformed,
        snapshots=stats.snapshots,
        malformed_reasons=dict(Counter(stats.malformed_reasons).most_common()),
        malformed_examples=list(stats.malformed_examples),
        unknown_fields=dict(stats.unknown_fields),
        side_output_path=None if side_output_path is None else str(side_output_path),
        seconds=time.perf_counter() - began,
    )
