"""Wilson intervals (scipy as the oracle), the minimum-events rule and the confidence score."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest

from slo_engine.slo.confidence import (
    confidence_score,
    min_events_for_target,
    wilson_interval,
    wilson_lower_bound,
)


@st.composite
def trials(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 10**7))
    return draw(st.integers(0, n)), n


@given(trials(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_interval_matches_scipy(trial: tuple[int, int], confidence: float) -> None:
    k, n = trial
    oracle = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson_interval(k, n, confidence)
    assert low == pytest.approx(oracle.low, abs=1e-12)
    assert high == pytest.approx(oracle.high, abs=1e-12)


def test_wilson_interval_of_999_in_1000_matches_the_documented_example() -> None:
    low, high = wilson_interval(999, 1000)
    assert low == pytest.approx(0.99436, abs=5e-6)
    assert high == pytest.approx(0.99982, abs=5e-6)


def test_wilson_interval_without_trials_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_lower_bound_is_below_the_observed_ratio() -> None:
    assert wilson_lower_bound(999, 1000) < 0.999


def test_wilson_interval_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="k <= n"):
        wilson_interval(11, 10)


def test_min_events_follows_the_rule_of_three() -> None:
    assert min_events_for_target(0.999) == 2996  # -ln(0.05) / 0.001 = 2995.7, "about 3,000"


def test_min_events_grows_tenfold_per_nine() -> None:
    assert min_events_for_target(0.99) == 300
    assert min_events_for_target(0.9999) == 29_958


def test_low_traffic_scores_below_one_half_and_says_so() -> None:
    score, reasons = confidence_score(events=1_000, target=0.999, history_days=30, window_days=28)
    assert score < 0.5
    assert any("low traffic" in reason for reason in reasons)


def test_short_history_lowers_the_score_and_says_so() -> None:
    full, _ = confidence_score(events=10**6, target=0.999, history_days=28, window_days=28)
    short, reasons = confidence_score(events=10**6, target=0.999, history_days=7, window_days=28)
    assert short < full
    assert any("short history" in reason for reason in reasons)


def test_ample_traffic_over_full_history_scores_at_least_0_9() -> None:
    score, reasons = confidence_score(events=10 * 2996, target=0.999, history_days=28, window_days=28)
    assert score >= 0.9
    assert not any("low traffic" in reason or "short history" in reason for reason in reasons)


@given(
    st.integers(0, 10**8),
    st.integers(0, 10**8),
    st.sampled_from([0.9, 0.99, 0.999, 0.9999]),
    st.floats(0, 60),
    st.sampled_from([7, 28, 30]),
)
def test_score_never_drops_when_events_grow(e1: int, e2: int, target: float, history: float, window: int) -> None:
    fewer, more = sorted((e1, e2))
    assert confidence_score(fewer, target, history, window)[0] <= confidence_score(more, target, history, window)[0]


@given(
    st.integers(0, 10**8),
    st.sampled_from([0.9, 0.99, 0.999, 0.9999]),
    st.floats(0, 60),
    st.floats(0, 60),
    st.sampled_from([7, 28, 30]),
)
def test_score_never_drops_when_history_grows(events: int, target: float, h1: float, h2: float, window: int) -> None:
    shorter, longer = sorted((h1, h2))
    assert confidence_score(events, target, shorter, window)[0] <= confidence_score(events, target, longer, window)[0]


@given(st.integers(0, 10**9), st.floats(0.5, 0.99999), st.floats(0, 400), st.integers(1, 366))
def test_score_is_between_zero_and_one(events: int, target: float, history: float, window: int) -> None:
    score, reasons = confidence_score(events, target, history, window)
    assert 0.0 <= score <= 1.0
    assert reasons
