"""The standard target ladder and the three target options chosen from rolling attainment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slo_engine.slo.confidence import wilson_lower_bound
from slo_engine.slo.targets import (
    LADDER_TOLERANCE,
    TARGET_LADDER,
    choose_target_options,
    ladder_steps_between,
    round_down_to_ladder,
    step_down,
)


def by_name(options: list) -> dict[str, float]:
    return {option.name: option.target for option in options}


def test_ladder_is_strictly_ascending() -> None:
    assert all(b > a for a, b in itertools.pairwise(TARGET_LADDER))


def test_round_down_keeps_a_rung_as_is() -> None:
    assert round_down_to_ladder(0.999) == 0.999


def test_round_down_tolerates_float_noise_just_under_a_rung() -> None:
    assert round_down_to_ladder(0.999 - 1e-13) == 0.999


def test_round_down_goes_to_the_rung_below() -> None:
    assert round_down_to_ladder(0.99899) == 0.995


def test_round_down_is_none_below_the_lowest_rung() -> None:
    assert round_down_to_ladder(0.49) is None


def test_round_down_of_perfect_attainment_is_the_top_rung() -> None:
    assert round_down_to_ladder(1.0) == 0.99999


def test_step_down_moves_one_rung() -> None:
    assert step_down(0.999) == 0.995


def test_step_down_counts_rounding_an_off_ladder_target_as_a_step() -> None:
    assert step_down(0.9993) == 0.999


def test_step_down_is_clamped_at_the_lowest_rung() -> None:
    assert step_down(0.75, steps=5) == 0.5


def test_ladder_steps_between_is_signed() -> None:
    assert ladder_steps_between(0.99, 0.999) == 2
    assert ladder_steps_between(0.999, 0.99) == -2
    assert ladder_steps_between(0.999, 0.999) == 0


def test_options_record_the_percentile_and_the_attainment_there() -> None:
    options = choose_target_options(np.linspace(0.99, 1.0, 101), good=10**9 - 10, total=10**9)
    assert [(o.name, o.percentile) for o in options] == [
        ("conservative", 5.0),
        ("balanced", 10.0),
        ("aggressive", 25.0),
    ]
    assert [o.attainment_at_percentile for o in options] == pytest.approx([0.9905, 0.991, 0.9925])


def test_options_differ_when_attainment_spreads_across_rungs() -> None:
    attainments = np.concatenate([np.full(6, 0.991), np.full(10, 0.996), np.full(84, 0.9995)])
    options = by_name(choose_target_options(attainments, good=10**9 - 10, total=10**9))
    assert options == {"conservative": 0.99, "balanced": 0.995, "aggressive": 0.9995}


def test_low_traffic_caps_targets_at_the_wilson_lower_bound() -> None:
    options = by_name(choose_target_options(np.ones(50), good=100, total=100))
    assert wilson_lower_bound(100, 100) == pytest.approx(0.963, abs=1e-3)
    assert set(options.values()) == {0.95}


def test_targets_never_exceed_the_overall_attainment() -> None:
    # Rolling windows look better than the whole history (e.g. the bad windows were cut by the stride).
    options = by_name(choose_target_options(np.full(20, 0.9999), good=9_980_000, total=10_000_000))
    assert set(options.values()) == {0.995}


def test_below_the_lowest_rung_targets_floor_to_a_hundredth() -> None:
    options = by_name(choose_target_options(np.full(10, 0.4391), good=4_391_000, total=10_000_000))
    assert set(options.values()) == {0.43}


@pytest.mark.parametrize("attainments", [np.array([]), np.full(5, np.nan)])
def test_without_rolling_attainment_the_overall_attainment_is_used(attainments: np.ndarray) -> None:
    options = choose_target_options(attainments, good=9_993_000, total=10_000_000)
    assert {option.target for option in options} == {0.999}
    assert all(option.attainment_at_percentile == pytest.approx(0.9993) for option in options)


def test_choosing_without_events_is_an_error() -> None:
    with pytest.raises(ValueError, match="without events"):
        choose_target_options(np.array([]), good=0, total=0)


@given(
    arrays(np.float64, st.integers(0, 40), elements=st.one_of(st.floats(0.3, 1.0), st.just(np.nan))),
    st.integers(1, 10**9),
    st.floats(0.0, 1.0),
)
def test_options_are_ordered_and_never_above_attained(attainments: np.ndarray, total: int, share: float) -> None:
    good = int(total * share)
    options = by_name(choose_target_options(attainments, good, total))
    assert options["conservative"] <= options["balanced"] <= options["aggressive"]
    assert options["aggressive"] <= good / total + LADDER_TOLERANCE
