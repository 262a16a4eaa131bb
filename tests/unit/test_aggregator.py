"""The embedded aggregator: raw events -> 10-second snapshots, columnar core and streaming row path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.embedded.fleet import generate_fleet
from slo_engine.ingest import (
    EventColumns,
    SnapshotAggregator,
    aggregate_columnar,
    aggregate_file,
)
from slo_engine.ingest import aggregator as aggregator_module
from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS, ServiceSnapshot
from slo_engine.slo.sli import histogram_quantile

T0 = datetime(2026, 11, 1, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def event(
    service: str, at_ms: int, duration: float = 20.0, error: bool = False, peer: str | None = None
) -> dict[str, Any]:
    stamp = (T0 + timedelta(milliseconds=at_ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"service": service, "timestamp": stamp, "duration_ms": duration, "error": error, "peer": peer}


def columns(*events: dict[str, Any]) -> EventColumns:
    return EventColumns.from_records(events)


def by_key(snapshots: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["service"], s["window_start"]): s for s in snapshots}


# ---- the columnar core ------------------------------------------------------------------------------------------


def test_requests_and_errors_equal_the_server_spans_of_each_service_and_window() -> None:
    snapshots = aggregate_columnar(
        columns(
            event("cart", 100),
            event("cart", 9_999, error=True),
            event("cart", 10_000),
            event("auth", 500, error=True),
        )
    )
    found = by_key(snapshots)
    assert (found[("cart", "2026-11-01T00:00:00Z")]["requests"], found[("cart", "2026-11-01T00:00:00Z")]["errors"]) == (
        2,
        1,
    )
    assert found[("cart", "2026-11-01T00:00:10Z")]["requests"] == 1
    assert found[("auth", "2026-11-01T00:00:00Z")]["errors"] == 1
    assert len(snapshots) == 3


def test_error_pct_is_errors_over_requests_in_percent() -> None:
    (snapshot,) = aggregate_columnar(columns(*(event("cart", i, error=i < 1) for i in range(8))))
    assert snapshot["error_pct"] == 100.0 * 1 / 8


def test_client_span_counts_downstream_of_the_caller_and_upstream_of_the_callee() -> None:
    snapshots = by_key(
        aggregate_columnar(
            columns(
                event("checkout", 10),
                event("checkout", 20, peer="payments"),
                event("checkout", 30, peer="payments", error=True),
                event("payments", 40),
            )
        )
    )
    checkout = snapshots[("checkout", "2026-11-01T00:00:00Z")]
    payments = snapshots[("payments", "2026-11-01T00:00:00Z")]
    assert checkout["downstream"] == {"payments": {"requests": 2, "errors": 1}}
    assert payments["upstream"] == {"checkout": {"requests": 2, "errors": 1}}
    assert checkout["requests"] == 1 and payments["requests"] == 1  # client spans are not the caller's requests


def test_a_service_seen_only_through_edges_gets_a_snapshot_with_zero_requests() -> None:
    snapshots = by_key(aggregate_columnar(columns(event("payments", 10, peer="legacy-ledger"))))
    ledger = snapshots[("legacy-ledger", "2026-11-01T00:00:00Z")]
    assert (ledger["requests"], ledger["errors"], ledger["error_pct"], ledger["p99_ms"]) == (0, 0, None, None)
    assert ledger["upstream"] == {"payments": {"requests": 1, "errors": 0}}
    assert sum(ledger["latency_ms"]["counts"]) == 0
    assert snapshots[("payments", "2026-11-01T00:00:00Z")]["requests"] == 0


def test_a_duration_equal_to_a_bound_goes_into_that_bounds_bucket() -> None:
    bounds = DEFAULT_LATENCY_BOUNDS_MS
    (snapshot,) = aggregate_columnar(
        columns(
            event("cart", 1, duration=0.0),
            event("cart", 2, duration=5.0),
            event("cart", 3, duration=5.0001),
            event("cart", 4, duration=10.0),
            event("cart", 5, duration=10_000.0),
            event("cart", 6, duration=10_000.5),
        )
    )
    counts = snapshot["latency_ms"]["counts"]
    assert snapshot["latency_ms"]["bounds"] == list(bounds)
    assert counts[0] == 2  # 0 and exactly 5 ms: (0, 5]
    assert counts[1] == 2  # just over 5 and exactly 10 ms: (5, 10]
    assert counts[len(bounds) - 1] == 1  # exactly the last bound
    assert counts[len(bounds)] == 1  # slower than every bound


@given(st.lists(st.floats(min_value=0, max_value=20_000, allow_nan=False), min_size=1, max_size=200))
def test_bucket_index_matches_searchsorted_left(durations: list[float]) -> None:
    bounds = np.asarray(DEFAULT_LATENCY_BOUNDS_MS, dtype=np.float64)
    values = np.asarray(durations + list(DEFAULT_LATENCY_BOUNDS_MS), dtype=np.float64)
    expected = np.searchsorted(bounds, values, side="left")
    assert np.array_equal(aggregator_module._bucket_index(values, bounds), expected)


def test_windows_are_tumbling_and_aligned_to_the_window_length() -> None:
    snapshots = aggregate_columnar(columns(event("cart", 29_999), event("cart", 30_000)), window_seconds=30)
    assert [s["window_start"] for s in snapshots] == ["2026-11-01T00:00:00Z", "2026-11-01T00:00:30Z"]
    assert {s["window_seconds"] for s in snapshots} == {30}


def test_quantiles_come_from_the_windows_histogram() -> None:
    (snapshot,) = aggregate_columnar(columns(*(event("search", i, duration=float(i % 300)) for i in range(500))))
    counts, bounds = snapshot["latency_ms"]["counts"], snapshot["latency_ms"]["bounds"]
    for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        assert snapshot[key] == histogram_quantile(counts, bounds, q)
    assert snapshot["p50_ms"] < snapshot["p95_ms"] <= snapshot["p99_ms"]


def test_snapshots_validate_against_the_snapshot_contract() -> None:
    snapshots = aggregate_columnar(
        columns(event("cart", 5, error=True), event("cart", 15, peer="pricing"), event("pricing", 16))
    )
    for snapshot in snapshots:
        parsed = ServiceSnapshot.model_validate(snapshot)
        assert parsed.window_seconds == 10
        assert parsed.latency_ms is not None and parsed.latency_ms.total == parsed.requests


def test_snapshots_are_sorted_by_window_then_service() -> None:
    snapshots = aggregate_columnar(
        columns(event("zeta", 15_000), event("alpha", 15_000), event("zeta", 1), event("beta", 2))
    )
    assert [(s["window_start"][-3:-1], s["service"]) for s in snapshots] == [
        ("00", "beta"),
        ("00", "zeta"),
        ("10", "alpha"),
        ("10", "zeta"),
    ]


def test_an_empty_batch_gives_no_snapshots() -> None:
    assert aggregate_columnar(EventColumns.empty(("cart",))) == []


def test_mismatched_column_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="peer_id"):
        EventColumns.of(("a",), [0, 0], [-1], [1, 2], [1.0, 2.0], [False, False])


event_rows = st.lists(
    st.tuples(
        st.integers(0, 3),  # service
        st.integers(-1, 3),  # peer (-1: server span)
        st.integers(0, 45_000),  # ms after T0
        st.sampled_from([0.0, 1.0, 5.0, 7.5, 10.0, 99.0, 100.0, 2_500.0, 12_000.0]),
        st.booleans(),
    ),
    min_size=1,
    max_size=300,
)


def _batch(rows: list[tuple[int, int, int, float, bool]]) -> EventColumns:
    service, peer, at, duration, error = zip(*rows, strict=True)
    return EventColumns.of(
        ("a", "b", "c", "d"),
        np.asarray(service),
        np.asarray(peer),
        T0_MS + np.asarray(at, dtype=np.int64),
        np.asarray(duration),
        np.asarray(error),
    )


@settings(max_examples=60, deadline=None)
@given(event_rows)
def test_every_event_is_counted_exactly_once(rows: list[tuple[int, int, int, float, bool]]) -> None:
    snapshots = aggregate_columnar(_batch(rows))
    server = [r for r in rows if r[1] < 0]
    client = [r for r in rows if r[1] >= 0]
    assert sum(s["requests"] for s in snapshots) == len(server)
    assert sum(s["errors"] for s in snapshots) == sum(r[4] for r in server)
    assert sum(sum(s["latency_ms"]["counts"]) for s in snapshots) == len(server)
    assert sum(e["requests"] for s in snapshots for e in s["downstream"].values()) == len(client)
    assert sum(e["requests"] for s in snapshots for e in s["upstream"].values()) == len(client)
    assert sum(e["errors"] for s in snapshots for e in s["downstream"].values()) == sum(r[4] for r in client)


@settings(max_examples=40, deadline=None)
@given(event_rows)
def test_sparse_and_dense_grouping_give_the_same_snapshots(
    rows: list[tuple[int, int, int, float, bool]],
) -> None:
    batch = _batch(rows)
    dense = aggregate_columnar(batch)
    original = aggregator_module._DENSE_CELLS_MIN, aggregator_module._DENSE_CELLS_PER_EVENT
    aggregator_module._DENSE_CELLS_MIN, aggregator_module._DENSE_CELLS_PER_EVENT = 0, 0
    try:
        assert not aggregator_module._dense(1, len(batch))
        sparse = aggregate_columnar(batch)
    finally:
        aggregator_module._DENSE_CELLS_MIN, aggregator_module._DENSE_CELLS_PER_EVENT = original
    assert sparse == dense


def test_columnar_core_folds_a_million_events_counting_each_once() -> None:
    rng = np.random.default_rng(1)
    n = 1_000_000
    batch = EventColumns.of(
        tuple(f"svc-{i}" for i in range(36)),
        rng.integers(0, 36, n),
        np.where(rng.random(n) < 0.5, rng.integers(0, 36, n), -1),
        T0_MS + rng.integers(0, 60_000, n),
        rng.lognormal(3.0, 1.0, n),
        rng.random(n) < 0.01,
    )
    snapshots = aggregate_columnar(batch)
    assert sum(s["requests"] for s in snapshots) == int((batch.peer_id < 0).sum())


# ---- the streaming row path -------------------------------------------------------------------------------------


def test_out_of_order_event_within_the_allowed_lateness_is_accepted() -> None:
    aggregator = SnapshotAggregator(allowed_lateness_seconds=5)
    assert aggregator.add(event("cart", 12_000))
    assert aggregator.add(event("cart", 8_000))  # watermark 7 s: window [0, 10) still open
    snapshots = by_key(aggregator.close())
    assert snapshots[("cart", "2026-11-01T00:00:00Z")]["requests"] == 1
    assert aggregator.stats.late == 0


def test_event_for_a_closed_window_is_counted_late_into_the_side_output() -> None:
    aggregator = SnapshotAggregator(allowed_lateness_seconds=5)
    aggregator.add(event("cart", 1_000))
    aggregator.add(event("cart", 16_000))  # watermark 11 s: window [0, 10) is closed
    assert not aggregator.add(event("cart", 5_000, error=True))
    assert aggregator.stats.late == 1
    (diverted,) = aggregator.side_output
    assert diverted["reason"] == "late" and diverted["line"] == 3
    assert diverted["event"]["service"] == "cart" and diverted["event"]["error"] is True
    snapshots = by_key(aggregator.flush() + aggregator.close())
    assert snapshots[("cart", "2026-11-01T00:00:00Z")]["errors"] == 0  # the late error did not leak in


def test_a_window_closes_when_the_watermark_reaches_its_end() -> None:
    aggregator = SnapshotAggregator(allowed_lateness_seconds=5)
    aggregator.add(event("cart", 1_000))
    aggregator.add(event("cart", 15_000))  # watermark exactly 10 s: the end of window [0, 10)
    assert [s["window_start"] for s in aggregator.flush()] == ["2026-11-01T00:00:00Z"]
    assert not aggregator.add(event("cart", 9_999))
    assert aggregator.add(event("cart", 10_000))
    assert aggregator.stats.late == 1


def test_every_record_is_accounted_for() -> None:
    aggregator = SnapshotAggregator()
    records: list[Any] = [event("a", 0), event("a", 60_000), event("a", 1), "{oops", event("a", 10**9)]
    for record in records:
        aggregator.add(record)
    stats = aggregator.stats
    assert (stats.accepted, stats.late, stats.malformed, stats.future) == (2, 1, 1, 1)
    assert stats.accepted + stats.late + stats.malformed + stats.future == stats.records == len(records)


def test_malformed_lines_are_counted_with_their_line_numbers_and_reasons() -> None:
    aggregator = SnapshotAggregator()
    aggregator.add('{"service": "cart", "timestamp": "2026-11-01T00:00:00Z", "duration', line_number=7)
    aggregator.add(json.dumps({**event("cart", 1), "duration_ms": -3}), line_number=8)
    aggregator.add("[1, 2]", line_number=9)
    aggregator.add(json.dumps({"service": "cart", "duration_ms": 3}), line_number=10)
    aggregator.add(json.dumps({**event("cart", 1), "timestamp": "2026-11-01T00:00:00"}), line_number=11)
    aggregator.add(json.dumps({**event("cart", 1), "timestamp": "0001-01-01T00:00:00+01:00"}), line_number=12)
    stats = aggregator.stats
    assert stats.malformed == 6 and stats.accepted == 0
    assert [line for line, _ in stats.malformed_examples] == [7, 8, 9, 10, 11, 12]
    assert stats.malformed_reasons["invalid JSON"] == 1
    assert stats.malformed_reasons["invalid duration_ms"] == 1
    assert stats.malformed_reasons["not a JSON object"] == 1
    assert stats.malformed_reasons["invalid timestamp"] == 3  # naive; before year 1 once in UTC
    assert "line 8: duration_ms" in stats.malformed_examples[1][1]


def test_unknown_fields_are_ignored_and_counted() -> None:
    aggregator = SnapshotAggregator()
    assert aggregator.add({**event("cart", 1), "trace_id": "abc", "pod": "cart-7"})
    assert aggregator.stats.unknown_fields == {"trace_id": 1, "pod": 1}
    assert aggregator.close()[0]["requests"] == 1


def test_a_timestamp_far_ahead_of_the_watermark_is_refused_as_future() -> None:
    aggregator = SnapshotAggregator(max_future_seconds=300)
    aggregator.add(event("cart", 0))
    assert not aggregator.add(event("cart", 3_600_000))
    assert aggregator.add(event("cart", 200_000))
    assert aggregator.stats.future == 1
    assert aggregator.side_output[0]["reason"] == "future"
    assert aggregator.watermark_ms == T0_MS + 200_000 - 5_000  # the refused event did not move the watermark


def test_a_clock_refuses_future_events_before_the_first_one_sets_a_watermark() -> None:
    aggregator = SnapshotAggregator(clock=lambda: T0.timestamp())
    assert not aggregator.add(event("cart", 86_400_000))
    assert aggregator.add(event("cart", 1_000))
    assert aggregator.stats.future == 1


def test_flush_emits_only_windows_the_watermark_closed_and_close_emits_the_rest() -> None:
    aggregator = SnapshotAggregator(allowed_lateness_seconds=5)
    for at in (1_000, 11_000, 21_000, 26_000):
        aggregator.add(event("cart", at))
    flushed = aggregator.flush()  # watermark 21 s: [0, 10) and [10, 20) are closed
    assert [s["window_start"] for s in flushed] == ["2026-11-01T00:00:00Z", "2026-11-01T00:00:10Z"]
    assert aggregator.flush() == []
    rest = aggregator.close()
    assert [(s["window_start"], s["requests"]) for s in rest] == [("2026-11-01T00:00:20Z", 2)]
    assert aggregator.stats.snapshots == 3


def test_records_after_close_are_late_not_lost() -> None:
    aggregator = SnapshotAggregator()
    aggregator.add(event("cart", 1))
    aggregator.close()
    assert not aggregator.add(event("cart", 2))
    assert aggregator.stats.late == 1


def test_row_path_gives_the_same_snapshots_as_the_columnar_core() -> None:
    rng = np.random.default_rng(4)
    records = [
        event(
            str(rng.choice(["cart", "pricing", "auth"])),
            int(rng.integers(0, 40_000)),
            float(rng.choice([1.0, 5.0, 30.0, 400.0])),
            bool(rng.random() < 0.1),
            None if rng.random() < 0.6 else str(rng.choice(["pricing", "auth"])),
        )
        for _ in range(400)
    ]
    records.sort(key=lambda r: r["timestamp"])
    aggregator = SnapshotAggregator()
    streamed: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        aggregator.add(record)
        if i % 50 == 0:
            streamed += aggregator.flush()
    streamed += aggregator.close()
    assert sorted(streamed, key=lambda s: (s["window_start"], s["service"])) == aggregate_columnar(
        EventColumns.from_records(records)
    )


# ---- files and the fleet round trip -----------------------------------------------------------------------------


def test_aggregate_file_writes_snapshot_lines_and_reports_what_it_refused(tmp_path: Path) -> None:
    events_path, out_path, side_path = tmp_path / "events.jsonl", tmp_path / "snapshots.jsonl", tmp_path / "late.jsonl"
    lines = [
        json.dumps(event("cart", 1_000)),
        "",
        "not json",
        json.dumps(event("cart", 30_000, peer="pricing")),
        json.dumps(event("cart", 2_000)),  # late: the watermark is at 25 s
    ]
    events_path.write_text("\n".join(lines) + "\n")
    report = aggregate_file(events_path, out_path, side_output_path=side_path)
    assert (report.lines, report.blank_lines, report.accepted, report.late, report.malformed) == (5, 1, 2, 1, 1)
    assert report.malformed_examples[0][0] == 3
    snapshots = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert report.snapshots == len(snapshots) == 3
    for snapshot in snapshots:
        ServiceSnapshot.model_validate(snapshot)
    side = [json.loads(line) for line in side_path.read_text().splitlines()]
    assert [(s["reason"], s["line"]) for s in side] == [("late", 5)]


def test_fleet_raw_events_round_trip_through_the_aggregator(tmp_path: Path) -> None:
    fleet = generate_fleet(seed=7, days=1)
    events = list(fleet.raw_events(minutes=3, rate_scale=0.02))
    events_path, out_path = tmp_path / "events.jsonl", tmp_path / "snapshots.jsonl"
    events_path.write_text("".join(json.dumps(e) + "\n" for e in events))
    report = aggregate_file(events_path, out_path)
    assert (report.accepted, report.late, report.malformed, report.future) == (len(events), 0, 0, 0)
    snapshots = [ServiceSnapshot.model_validate_json(line) for line in out_path.read_text().splitlines()]
    for name in ("edge-gateway", "payments", "legacy-ledger"):
        served = [e for e in events if e["service"] == name and e["peer"] is None]
        assert sum(s.requests for s in snapshots if s.service == name) == len(served)
        assert sum(s.errors for s in snapshots if s.service == name) == sum(e["error"] for e in served)
    calls = [e for e in events if e["service"] == "payments" and e["peer"] == "legacy-ledger"]
    down = sum(s.downstream["legacy-ledger"].requests for s in snapshots if "legacy-ledger" in s.downstream)
    up = sum(
        s.upstream["payments"].requests for s in snapshots if "payments" in s.upstream and s.service == "legacy-ledger"
    )
    assert down == up == len(calls)
    assert {s.window_start.second % 10 for s in snapshots} == {0}
