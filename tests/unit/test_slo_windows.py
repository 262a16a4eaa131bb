"""Rolling windows by cumulative sums, attainment as sum/sum, and roll-ups that keep every count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slo_engine.slo.series import CountSeries
from slo_engine.slo.windows import (
    rolling_attainment,
    rolling_sums,
    steps_per_day,
    window_end_indices,
    window_steps,
)


def brute_force_sums(values: np.ndarray, window: int, stride: int) -> list:
    ends = list(range(len(values) - 1, window - 2, -stride))[::-1]
    return [values[end - window + 1 : end + 1].sum(axis=0).tolist() for end in ends]


def test_steps_per_day_at_one_minute() -> None:
    assert steps_per_day(60) == 1440


def test_steps_per_day_rejects_a_step_that_does_not_divide_a_day() -> None:
    with pytest.raises(ValueError, match="divide a day"):
        steps_per_day(7)


def test_window_steps_for_28_days_of_one_minute_steps() -> None:
    assert window_steps(28, 60) == 40_320


def test_window_steps_is_at_least_one_step() -> None:
    assert window_steps(1 / 86_400, 60) == 1


@given(
    arrays(np.int64, st.integers(0, 60), elements=st.integers(0, 10**6)),
    st.integers(1, 20),
    st.integers(1, 7),
)
def test_rolling_sums_equal_brute_force_sums(values: np.ndarray, window: int, stride: int) -> None:
    assert rolling_sums(values, window, stride).tolist() == brute_force_sums(values, window, stride)


@given(
    arrays(np.int64, st.tuples(st.integers(0, 40), st.integers(1, 4)), elements=st.integers(0, 1000)),
    st.integers(1, 10),
    st.integers(1, 5),
)
def test_rolling_sums_of_2d_arrays_sum_each_column(values: np.ndarray, window: int, stride: int) -> None:
    result = rolling_sums(values, window, stride)
    assert result.shape[1:] == values.shape[1:]
    assert result.tolist() == brute_force_sums(values, window, stride)


def test_the_last_window_ends_at_the_last_step() -> None:
    values = np.arange(10)
    assert window_end_indices(10, 3, 4).tolist() == [5, 9]  # a window ending at step 1 would not be full
    assert rolling_sums(values, 3, 4).tolist() == [3 + 4 + 5, 7 + 8 + 9]


def test_rolling_sums_are_empty_when_history_is_shorter_than_a_window() -> None:
    assert rolling_sums(np.ones(5, np.int64), 6).shape == (0,)


def test_rolling_attainment_is_sum_over_sum_not_an_average_of_ratios() -> None:
    # A busy hour with 1% errors and a quiet hour with 50% errors.
    good = np.array([9_900, 5])
    total = np.array([10_000, 10])
    attainment = rolling_attainment(good, total, window_steps=2)
    assert attainment[0] == pytest.approx(9_905 / 10_010)  # 0.99051
    average_of_ratios = np.mean(good / total)  # 0.745: biased by the quiet hour
    assert abs(attainment[0] - average_of_ratios) > 0.2


def test_rolling_attainment_is_nan_for_windows_without_events() -> None:
    attainment = rolling_attainment(np.array([0, 0, 3]), np.array([0, 0, 4]), window_steps=2)
    assert np.isnan(attainment[0])
    assert attainment[1] == pytest.approx(0.75)


@st.composite
def count_series(draw: st.DrawFn) -> CountSeries:
    steps = draw(st.integers(0, 50))
    bounds = (10.0, 100.0)
    latency = draw(arrays(np.int64, (steps, 3), elements=st.integers(0, 100)))
    requests = latency.sum(axis=1)
    errors = np.minimum(requests, draw(arrays(np.int64, steps, elements=st.integers(0, 50))))
    return CountSeries(
        start=draw(st.integers(0, 10**6)) * 10,
        step=10,
        requests=requests,
        errors=errors,
        latency_counts=latency,
        bounds=bounds,
    )


@given(count_series(), st.sampled_from([10, 60, 300, 3600]))
def test_rollup_preserves_totals(series: CountSeries, step: int) -> None:
    rolled = series.rollup(step)
    assert rolled.total_requests == series.total_requests
    assert rolled.total_errors == series.total_errors
    assert np.array_equal(rolled.latency_counts.sum(axis=0), series.latency_counts.sum(axis=0))
    assert rolled.start <= series.start and rolled.end >= series.end
