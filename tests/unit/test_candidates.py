"""From one service's history to candidate SLOs: attainment distributions and latency thresholds."""

from __future__ import annotations

import numpy as np

from slo_engine.models import DEFAULT_LATENCY_BOUNDS_MS
from slo_engine.slo.candidates import (
    availability_candidate,
    latency_candidates,
    pick_latency,
    window_attainments,
)
from slo_engine.slo.series import CountSeries

DAY = 86400
START = 1_790_000_000 - 1_790_000_000 % DAY


def series(days: int, error_ratio: float = 0.001, burst_day: int | None = None, rps: int = 50) -> CountSeries:
    steps = days * 1440
    req = np.full(steps, rps * 60, dtype=np.int64)
    err = (req * error_ratio).astype(np.int64)
    if burst_day is not None:
        at = burst_day * 1440 + 600
        err[at : at + 60] = req[at : at + 60] // 2
    lat = np.zeros((steps, len(DEFAULT_LATENCY_BOUNDS_MS) + 1), dtype=np.int64)
    lat[:, 3] = req - req // 200  # 99.5% at or under 50 ms
    lat[:, 6] = req // 200
    return CountSeries(START, 60, req, err, lat, DEFAULT_LATENCY_BOUNDS_MS)


def test_long_history_uses_true_rolling_windows():
    s = series(60, burst_day=40)
    values, method = window_attainments(s.good, s.requests, 60, 60.0, 28)
    assert method == "rolling 28-day windows"
    assert values.min() < values.max()  # windows with and without the burst


def test_short_history_uses_a_deterministic_day_bootstrap_of_sums():
    s = series(10, burst_day=3)
    a, method = window_attainments(s.good, s.requests, 60, 10.0, 28)
    b, _ = window_attainments(s.good, s.requests, 60, 10.0, 28)
    assert "bootstrap of 10 days" in method
    np.testing.assert_array_equal(a, b)
    daily_good = s.good.reshape(10, 1440).sum(axis=1)
    daily_total = s.requests.reshape(10, 1440).sum(axis=1)
    assert a.min() >= (daily_good / daily_total).min() - 1e-12
    assert a.max() <= 1.0


def test_a_burst_lowers_the_low_percentile_target_not_the_overall_attainment_alone():
    calm = availability_candidate(series(60), 28)
    bursty = availability_candidate(series(60, burst_day=40), 28)
    assert bursty.option("conservative").target <= calm.option("conservative").target
    for c in (calm, bursty):
        assert all(o.target <= c.attained + 1e-12 for o in c.options)


def test_latency_threshold_is_the_smallest_bound_meeting_the_objective():
    candidates = latency_candidates(series(30), 28)
    chosen = pick_latency(candidates, objective=0.99)
    assert chosen is not None and chosen.threshold_ms == 50.0
    raised = pick_latency(candidates, objective=0.99, min_threshold_ms=200)
    assert raised is not None and raised.threshold_ms == 250.0


def test_no_histogram_means_no_latency_candidate():
    s = series(3)
    bare = CountSeries(s.start, s.step, s.requests, s.errors, np.zeros_like(s.latency_counts), s.bounds)
    assert latency_candidates(bare, 28) == []


def test_history_days_counts_whole_hours_with_traffic():
    s = series(3)
    req = s.requests.copy()
    req[:90] = 0  # the first hour and a half are silent
    trimmed = CountSeries(s.start, 60, req, np.minimum(s.errors, req), s.latency_counts, s.bounds)
    assert trimmed.history_days() == (72 - 1) / 24
