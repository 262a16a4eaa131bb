"""Availability and latency SLIs from counts, histogram rebucketing and Prometheus-style quantiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slo_engine.slo.sli import (
    availability,
    common_bounds,
    histogram_quantile,
    latency_good_counts,
    rebucket,
)

BOUNDS = (5.0, 10.0, 25.0, 50.0, 100.0)

histograms = arrays(np.int64, st.tuples(st.integers(1, 20), st.just(len(BOUNDS) + 1)), elements=st.integers(0, 1000))


def prometheus_bucket_quantile(q: float, counts: list[int], bounds: list[float]) -> float | None:
    """A line-by-line transliteration of Prometheus' bucketQuantile (promql/quantile.go), the test oracle."""
    upper_bounds = [*bounds, float("inf")]
    cumulative = list(np.cumsum(counts))
    observations = cumulative[-1]
    if observations == 0:
        return None
    rank = q * observations
    b = next((i for i in range(len(upper_bounds) - 1) if cumulative[i] >= rank), len(upper_bounds) - 1)
    if b == len(upper_bounds) - 1:
        return upper_bounds[-2]
    bucket_start, bucket_end, count = 0.0, upper_bounds[b], cumulative[b]
    if b > 0:
        bucket_start = upper_bounds[b - 1]
        count -= cumulative[b - 1]
        rank -= cumulative[b - 1]
    return bucket_start + (bucket_end - bucket_start) * (rank / count)


def test_availability_is_good_over_total() -> None:
    assert availability(999, 1000) == 0.999


def test_availability_is_none_without_events() -> None:
    assert availability(0, 0) is None


def test_availability_rejects_more_good_than_total() -> None:
    with pytest.raises(ValueError, match="good <= total"):
        availability(5, 4)


def test_latency_good_counts_sums_buckets_up_to_the_threshold_bound() -> None:
    counts = np.array([[1, 2, 3, 4, 5, 6], [10, 0, 0, 0, 0, 1]])
    assert latency_good_counts(counts, BOUNDS, 25).tolist() == [6, 10]


def test_latency_good_counts_accepts_a_single_histogram() -> None:
    assert int(latency_good_counts(np.array([1, 2, 3, 4, 5, 6]), BOUNDS, 5)) == 1


def test_latency_good_counts_names_the_nearest_bounds_when_threshold_is_not_a_bound() -> None:
    with pytest.raises(ValueError, match=r"25 ms below, 50 ms above"):
        latency_good_counts(np.zeros(6, np.int64), BOUNDS, 30)


def test_latency_good_counts_refuses_a_threshold_above_every_bound_without_interpolation() -> None:
    with pytest.raises(ValueError, match="highest bound 100 ms"):
        latency_good_counts(np.zeros(6, np.int64), BOUNDS, 200)


def test_latency_good_counts_interpolates_linearly_inside_the_containing_bucket() -> None:
    counts = np.array([1, 2, 3, 40, 5, 6])  # 40 requests in (25, 50]
    assert latency_good_counts(counts, BOUNDS, 30, interpolate=True) == pytest.approx(6 + 40 * 5 / 25)


def test_latency_good_counts_interpolates_the_first_bucket_from_zero() -> None:
    counts = np.array([10, 0, 0, 0, 0, 0])
    assert latency_good_counts(counts, BOUNDS, 2, interpolate=True) == pytest.approx(4.0)


def test_latency_good_counts_counts_overflow_as_slow_above_the_highest_bound() -> None:
    counts = np.array([1, 1, 1, 1, 1, 7])
    assert latency_good_counts(counts, BOUNDS, 1000, interpolate=True) == pytest.approx(5.0)


def test_latency_good_counts_rejects_counts_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="shape"):
        latency_good_counts(np.zeros((3, 4), np.int64), BOUNDS, 25)


@given(histograms)
def test_latency_good_counts_never_exceed_totals(counts: np.ndarray) -> None:
    totals = counts.sum(axis=1)
    for bound in BOUNDS:
        assert np.all(latency_good_counts(counts, BOUNDS, bound) <= totals)


@given(histograms, st.floats(0.1, 200), st.floats(0.1, 200))
def test_latency_good_counts_are_monotone_in_the_threshold(counts: np.ndarray, t1: float, t2: float) -> None:
    low, high = sorted((t1, t2))
    assert np.all(
        latency_good_counts(counts, BOUNDS, low, interpolate=True)
        <= latency_good_counts(counts, BOUNDS, high, interpolate=True) + 1e-9
    )


@given(histograms)
def test_latency_good_counts_at_bounds_are_monotone(counts: np.ndarray) -> None:
    at_bounds = np.stack([latency_good_counts(counts, BOUNDS, bound) for bound in BOUNDS])
    assert np.all(np.diff(at_bounds, axis=0) >= 0)


@given(histograms, st.sets(st.sampled_from(BOUNDS)))
def test_rebucket_keeps_totals_and_good_counts_at_kept_bounds(counts: np.ndarray, kept: set[float]) -> None:
    to_bounds = tuple(sorted(kept))
    coarse = rebucket(counts, BOUNDS, to_bounds)
    assert coarse.shape == (counts.shape[0], len(to_bounds) + 1)
    assert np.array_equal(coarse.sum(axis=1), counts.sum(axis=1))
    for bound in to_bounds:
        assert np.array_equal(latency_good_counts(coarse, to_bounds, bound), latency_good_counts(counts, BOUNDS, bound))


def test_rebucket_rejects_bounds_that_are_not_a_subset() -> None:
    with pytest.raises(ValueError, match=r"\[30.0\]"):
        rebucket(np.zeros(6, np.int64), BOUNDS, (10.0, 30.0))


def test_common_bounds_is_the_sorted_intersection() -> None:
    assert common_bounds([(5, 10, 25, 50), (10, 50, 100), (50, 10)]) == (10.0, 50.0)


def test_histogram_quantile_interpolates_inside_the_bucket_holding_the_rank() -> None:
    # 100 requests: 50 in (0, 5], 50 in (5, 10]; rank 75 is halfway through the second bucket.
    assert histogram_quantile([50, 50, 0, 0, 0, 0], BOUNDS, 0.75) == pytest.approx(7.5)


def test_histogram_quantile_returns_the_highest_bound_when_the_rank_is_in_overflow() -> None:
    assert histogram_quantile([1, 0, 0, 0, 0, 99], BOUNDS, 0.99) == 100.0


def test_histogram_quantile_is_none_for_an_empty_histogram() -> None:
    assert histogram_quantile([0] * 6, BOUNDS, 0.5) is None


def test_histogram_quantile_rejects_q_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="quantile"):
        histogram_quantile([1] * 6, BOUNDS, 1.5)


@given(st.lists(st.integers(0, 50), min_size=6, max_size=6), st.floats(0.01, 1.0))
def test_histogram_quantile_matches_prometheus(counts: list[int], q: float) -> None:
    expected = prometheus_bucket_quantile(q, counts, list(BOUNDS))
    actual = histogram_quantile(counts, BOUNDS, q)
    assert (actual is None) == (expected is None)
    if expected is not None:
        assert actual == pytest.approx(expected)


def test_quantile_of_merged_counts_differs_from_the_average_of_quantiles() -> None:
    busy, quiet = [900, 100, 0, 0, 0, 0], [0, 0, 0, 10, 0, 0]
    merged = [a + b for a, b in zip(busy, quiet, strict=True)]
    busy_p50, quiet_p50 = histogram_quantile(busy, BOUNDS, 0.5), histogram_quantile(quiet, BOUNDS, 0.5)
    assert busy_p50 is not None and quiet_p50 is not None
    merged_p50 = histogram_quantile(merged, BOUNDS, 0.5)
    assert merged_p50 == pytest.approx(5 * 505 / 900)  # rank 505 of 1,010 sits in the busy (0, 5] bucket
    assert (busy_p50 + quiet_p50) / 2 > 4 * merged_p50
