"""Error budget arithmetic, the burn-rate table, and replaying its alert rules over counts."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slo_engine.models.slo import AlertRule
from slo_engine.slo.budget import (
    allowed_bad_events,
    budget_consumed,
    burn_rate,
    error_budget,
    hours_to_exhaustion,
)
from slo_engine.slo.burn_rate import BURN_RATE_WINDOWS, alert_rules, evaluate_alerts, firing_masks

START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
MINUTE = 60


def test_error_budget_is_one_minus_target() -> None:
    assert error_budget(0.999) == pytest.approx(0.001)


def test_allowed_bad_events_scale_with_traffic() -> None:
    assert allowed_bad_events(0.999, 1_000_000) == pytest.approx(1_000)


def test_budget_consumed_is_bad_over_allowed() -> None:
    assert budget_consumed(bad=500, total=1_000_000, target=0.999) == pytest.approx(0.5)


def test_budget_consumed_without_events_is_zero() -> None:
    assert budget_consumed(bad=0, total=0, target=0.999) == 0.0


def test_burn_rate_is_error_ratio_over_budget() -> None:
    assert burn_rate(0.0144, 0.999) == pytest.approx(14.4)


def test_14_4x_exhausts_a_30_day_budget_in_50_hours_not_one() -> None:
    assert hours_to_exhaustion(30, 14.4) == pytest.approx(50.0)


def test_nothing_burning_never_exhausts() -> None:
    assert hours_to_exhaustion(30, 0.0) == math.inf


def test_error_budget_rejects_a_target_of_one() -> None:
    with pytest.raises(ValueError, match="target"):
        error_budget(1.0)


# The table in /work/shared/SLO-MATH.md: severity, budget consumed, long / short minutes, factor 30 d, factor 28 d.
SLO_MATH_TABLE = [
    ("page", 0.02, 60, 5, 14.4, 13.44),
    ("page", 0.05, 360, 30, 6.0, 5.6),
    ("ticket", 0.10, 1440, 120, 3.0, 2.8),
    ("ticket", 0.10, 4320, 360, 1.0, 0.933),
]


@pytest.mark.parametrize(("period_days", "column"), [(30, 4), (28, 5)])
def test_alert_rules_reproduce_the_documented_factors(period_days: int, column: int) -> None:
    rules = alert_rules(period_days)
    assert [rule.factor for rule in rules] == pytest.approx([row[column] for row in SLO_MATH_TABLE], abs=5e-4)


def test_alert_rules_carry_the_table_windows_and_severities() -> None:
    rules = alert_rules()
    assert [(r.severity, r.budget_consumed, r.long_window_minutes, r.short_window_minutes) for r in rules] == [
        row[:4] for row in SLO_MATH_TABLE
    ]


def test_short_windows_are_a_twelfth_of_long_windows() -> None:
    assert all(window.short_window_minutes * 12 == window.long_window_minutes for window in BURN_RATE_WINDOWS)


def traffic(days: float, per_minute: int = 1_000) -> tuple[np.ndarray, np.ndarray]:
    total = np.full(round(days * 1440), per_minute, dtype=np.int64)
    return total.copy(), total


def test_steady_errors_below_budget_fire_no_alert() -> None:
    good, total = traffic(days=4, per_minute=2_000)
    good -= 1  # 0.05% errors on a 99.9% target: burn rate 0.5, under the lowest (1x) factor
    assert evaluate_alerts(good, total, MINUTE, START, 0.999, alert_rules(30)) == []


def test_a_20_percent_burst_fires_both_page_rules_from_the_right_minutes() -> None:
    good, total = traffic(days=1)
    burst = slice(600, 660)  # 10:00-11:00, 20% errors
    good[burst] -= 200
    pages = [a for a in evaluate_alerts(good, total, MINUTE, START, 0.999, alert_rules(30)) if a.severity == "page"]
    assert [a.long_window_minutes for a in pages] == [60, 360]
    fast, slow = pages
    # 1h/5m at 14.4 x 0.1% = 1.44%: the hour's ratio passes it at the 5th burst minute (5 x 20% / 60 = 1.67%);
    # it stops when the 5-minute window is clean again.
    assert fast.started_at == datetime(2026, 11, 1, 10, 4, tzinfo=UTC)
    assert fast.ended_at == datetime(2026, 11, 1, 11, 4, tzinfo=UTC)
    # 6h/30m at 0.6%: 11 burst minutes (0.61%) are needed; it stops 30 minutes after the burst.
    assert slow.started_at == datetime(2026, 11, 1, 10, 10, tzinfo=UTC)
    assert slow.ended_at == datetime(2026, 11, 1, 11, 29, tzinfo=UTC)


def test_alerts_need_both_windows_above_the_threshold() -> None:
    good, total = traffic(days=1)
    good[600] -= 500  # one minute at 50%: the 5-minute window is at 10%, the hour only at 0.83% (< 1.44%)
    fired = evaluate_alerts(good, total, MINUTE, START, 0.999, alert_rules(30)[:1])
    assert fired == []


def test_windows_shorter_than_a_step_use_one_step() -> None:
    good, total = traffic(days=1, per_minute=5_000)
    good, total = good.reshape(-1, 10).sum(axis=1), total.reshape(-1, 10).sum(axis=1)  # 10-minute steps
    good[60:66] -= 10_000  # 10:00-11:00 at 20%; the 5-minute short window is one 10-minute step
    fired = evaluate_alerts(good, total, 600, START, 0.999, alert_rules(30)[:1])
    assert [(a.started_at.hour, a.ended_at.hour) for a in fired] == [(10, 11)]


def test_steps_without_traffic_never_fire() -> None:
    good, total = np.zeros(1440, np.int64), np.zeros(1440, np.int64)
    assert evaluate_alerts(good, total, MINUTE, START, 0.999, alert_rules(30)) == []


@given(arrays(np.int64, st.integers(1, 80), elements=st.integers(0, 20)), st.integers(0, 2**32))
def test_firing_masks_equal_a_brute_force_replay(total: np.ndarray, seed: int) -> None:
    bad = np.random.default_rng(seed).integers(0, total + 1)
    rule = AlertRule(severity="page", budget_consumed=0.02, long_window_minutes=12, short_window_minutes=3, factor=5.0)
    target = 0.95  # threshold: 5 x 5% = 25% errors

    def ratio_above(end: int, window: int) -> bool:
        start = max(0, end - window + 1)
        window_total = total[start : end + 1].sum()
        return bool(window_total > 0 and bad[start : end + 1].sum() / window_total > 0.25)

    expected = [ratio_above(i, 12) and ratio_above(i, 3) for i in range(total.shape[0])]
    assert firing_masks(total - bad, total, MINUTE, target, [rule])[0].tolist() == expected
