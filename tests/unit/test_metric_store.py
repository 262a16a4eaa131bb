"""The embedded metric store: exact counts, idempotent writes, roll-ups, clear rejections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from slo_engine.embedded.metric_store import MetricStoreError, SqliteMetricStore
from slo_engine.models import DEFAULT_LATENCY_BOUNDS_MS, ServiceSnapshot
from slo_engine.slo.series import CountSeries

T0 = datetime(2026, 11, 1, tzinfo=UTC)
BOUNDS = list(DEFAULT_LATENCY_BOUNDS_MS)


def snap(
    service: str = "api", at: timedelta = timedelta(0), requests: int = 10, errors: int = 1, **extra
) -> ServiceSnapshot:
    counts = [0] * (len(BOUNDS) + 1)
    counts[3] = requests
    return ServiceSnapshot.model_validate(
        {
            "service": service,
            "window_start": (T0 + at).isoformat(),
            "window_seconds": extra.pop("window_seconds", 10),
            "requests": requests,
            "errors": errors,
            "latency_ms": {"bounds": BOUNDS, "counts": counts},
            **extra,
        }
    )


def test_ten_second_snapshots_roll_up_to_minutes_without_changing_counts():
    store = SqliteMetricStore()
    store.write_snapshots([snap(at=timedelta(seconds=10 * i), requests=i + 1, errors=i % 2) for i in range(12)])
    series = store.series("api")
    assert series.step == 60
    assert series.total_requests == sum(range(1, 13))
    assert series.total_errors == 6
    assert series.requests[0] == sum(range(1, 7)) and series.requests[1] == sum(range(7, 13))
    assert int(series.latency_counts.sum()) == series.total_requests


def test_replaying_a_snapshot_changes_no_count():
    store = SqliteMetricStore()
    batch = [snap(at=timedelta(seconds=10 * i)) for i in range(5)]
    first = store.write_snapshots(batch)
    second = store.write_snapshots(batch)
    assert (first.written, first.duplicates) == (5, 0)
    assert (second.written, second.duplicates) == (0, 5)
    assert store.series("api").total_requests == 50
    assert store.totals("api") == (50, 5)


def test_edges_are_summed_per_direction():
    store = SqliteMetricStore()
    store.write_snapshots(
        [
            snap(at=timedelta(seconds=0), downstream={"db": {"requests": 4, "errors": 1}}),
            snap(at=timedelta(seconds=10), downstream={"db": {"requests": 6, "errors": 0}}),
        ]
    )
    (edge,) = store.edges("api")
    assert (edge.peer, edge.direction, edge.requests, edge.errors) == ("db", "downstream", 10, 1)


def test_window_coarser_than_the_store_is_rejected_with_a_reason():
    store = SqliteMetricStore(resolution_seconds=60)
    report = store.write_snapshots([snap(window_seconds=300)])
    assert report.written == 0
    assert "300" in report.rejected[0] and "60-second" in report.rejected[0]


def test_finer_histograms_are_coarsened_exactly_to_the_store_bounds():
    store = SqliteMetricStore()
    bounds = sorted({*BOUNDS, 7.0, 75.0})
    counts = [1] * (len(bounds) + 1)
    s = ServiceSnapshot.model_validate(
        {
            "service": "api",
            "window_start": T0.isoformat(),
            "requests": sum(counts),
            "errors": 0,
            "latency_ms": {"bounds": bounds, "counts": counts},
        }
    )
    store.write_snapshots([s])
    lat = store.series("api").latency_counts.sum(axis=0)
    assert int(lat.sum()) == sum(counts)
    assert lat[1] == 2  # (5, 7] and (7, 10] both land in the 10 ms bucket
    assert lat[4] == 2  # (50, 75] and (75, 100]


def test_missing_store_bounds_in_a_snapshot_are_rejected():
    store = SqliteMetricStore()
    s = ServiceSnapshot.model_validate(
        {
            "service": "api",
            "window_start": T0.isoformat(),
            "requests": 1,
            "errors": 0,
            "latency_ms": {"bounds": [100.0], "counts": [1, 0]},
        }
    )
    assert store.write_snapshots([s]).rejected


def test_bulk_series_round_trip_across_days(tmp_path):
    steps = 2 * 1440
    rng = np.random.default_rng(1)
    req = rng.integers(0, 5000, steps)
    err = (req * 0.01).astype(np.int64)
    lat = np.zeros((steps, len(BOUNDS) + 1), dtype=np.int64)
    lat[:, 2] = req
    start = int(T0.timestamp())
    series = CountSeries(start, 60, req, err, lat, tuple(DEFAULT_LATENCY_BOUNDS_MS))
    store = SqliteMetricStore(tmp_path / "m.db")
    assert store.write_series("api", series) == 2
    store.close()
    again = SqliteMetricStore(tmp_path / "m.db")
    back = again.series("api")
    assert back.start == start and len(back) == steps
    np.testing.assert_array_equal(back.requests, req)
    np.testing.assert_array_equal(back.errors, err)
    np.testing.assert_array_equal(back.latency_counts, lat)
    window = again.series("api", start + 86400, start + 86400 + 3600)
    assert len(window) == 60 and window.start == start + 86400


def test_bulk_series_must_start_on_a_day_boundary():
    series = CountSeries.empty(int(T0.timestamp()) + 60, 60, 10, tuple(DEFAULT_LATENCY_BOUNDS_MS))
    with pytest.raises(MetricStoreError):
        SqliteMetricStore().write_series("api", series)


def test_unknown_service_has_an_empty_series():
    assert len(SqliteMetricStore().series("nobody")) == 0


def test_compressed_and_raw_blocks_read_back_alike(tmp_path):
    steps = 1440
    req = np.arange(steps, dtype=np.int64) * 1000  # wide enough to need 32-bit counts
    series = CountSeries(
        int(T0.timestamp()),
        60,
        req,
        req // 10,
        np.zeros((steps, len(BOUNDS) + 1), np.int64),
        tuple(DEFAULT_LATENCY_BOUNDS_MS),
    )
    for level in (0, 6):
        store = SqliteMetricStore(tmp_path / f"m{level}.db", compress_level=level)
        store.write_series("api", series)
        np.testing.assert_array_equal(store.series("api").requests, req)
