"""Backtests of a candidate target: budget per window, breaches, alerts, and exclusion windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slo_engine.models.slo import ExclusionWindow
from slo_engine.slo.backtest import backtest
from slo_engine.slo.exclusions import exclusion_mask, parse_exclusions

T0 = datetime(2026, 11, 1, tzinfo=UTC)
START = int(T0.timestamp())
MINUTE = 60


def steady(days: int, per_minute: int = 1_000, errors_per_minute: int = 0) -> tuple[np.ndarray, np.ndarray]:
    total = np.full(days * 1440, per_minute, dtype=np.int64)
    return total - errors_per_minute, total


def with_burst(days: int = 10) -> tuple[np.ndarray, np.ndarray, slice]:
    good, total = steady(days)
    burst = slice(3 * 1440 + 600, 3 * 1440 + 660)  # day 3, 10:00-11:00, 20% errors
    good[burst] -= 200
    return good, total, burst


def run(good: np.ndarray, total: np.ndarray, **options: object):
    settings = {"step_seconds": MINUTE, "start_epoch": START, "target": 0.999, "window_days": 7} | options
    return backtest(good, total, **settings)  # type: ignore[arg-type]


def test_a_constant_error_ratio_below_budget_breaches_nothing_and_pages_nobody() -> None:
    # 0.01% on 99.9%: burn rate 0.1, under every factor of a 7-day period (the lowest, 3d/6h, is 0.233)
    good, total = steady(days=14, per_minute=10_000, errors_per_minute=1)
    result = run(good, total)
    assert result.windows_breached == 0
    assert result.page_alerts == 0 and result.ticket_alerts == 0
    assert result.budget_consumed == pytest.approx([0.1] * result.windows_evaluated)


def test_windows_step_by_the_stride_and_the_last_ends_at_the_last_step() -> None:
    good, total = steady(days=14)
    assert run(good, total).windows_evaluated == 8  # 7-day windows ending on days 7..14
    assert run(good, total, stride_days=0.5).windows_evaluated == 15


def test_a_one_hour_20_percent_burst_on_999_fires_exactly_one_page() -> None:
    good, total, _ = with_burst()
    result = run(good, total)
    assert result.page_alerts == 1
    assert {a.long_window_minutes for a in result.alerts if a.severity == "page"} == {60, 360}


def test_the_burst_breaches_the_windows_that_contain_it() -> None:
    good, total, _ = with_burst()
    result = run(good, total)  # 12,000 bad against 10,080 allowed per 7-day window
    assert result.worst_budget_consumed == pytest.approx(12_000 / (0.001 * 7 * 1440 * 1000))
    assert result.windows_breached == 4  # the windows ending on days 7, 8, 9 and 10 all hold day 3


def test_the_same_burst_inside_an_exclusion_window_fires_nothing() -> None:
    good, total, _ = with_burst()
    maintenance = ExclusionWindow(
        start=T0 + timedelta(days=3, hours=9, minutes=45), end=T0 + timedelta(days=3, hours=11), reason="upgrade"
    )
    excluded = exclusion_mask(START, MINUTE, total.shape[0], [maintenance])
    result = run(good, total, excluded=excluded)
    assert result.alerts == [] and result.page_alerts == 0 and result.ticket_alerts == 0
    assert result.windows_breached == 0
    assert result.excluded_minutes == 75


def test_history_shorter_than_a_window_is_one_window_over_all_of_it() -> None:
    good, total = steady(days=3, errors_per_minute=2)
    result = run(good, total, window_days=28)
    assert result.windows_evaluated == 1
    assert result.budget_consumed == pytest.approx([2.0])
    assert result.windows_breached == 1


def test_alert_listing_is_capped_but_alerts_are_all_counted() -> None:
    good, total = steady(days=7)
    for day in range(7):  # one burst a day
        good[day * 1440 + 600 : day * 1440 + 660] -= 200
    result = run(good, total, max_alerts_listed=3)
    assert len(result.alerts) == 3
    assert result.page_alerts == 7
    assert result.alerts == sorted(result.alerts, key=lambda a: a.started_at)


@settings(max_examples=50)
@given(
    arrays(np.int64, st.integers(1, 300), elements=st.integers(0, 500)),
    st.integers(0, 2**32),
    st.sampled_from([0.9, 0.99, 0.999]),
)
def test_budget_consumed_equals_brute_force(total: np.ndarray, seed: int, target: float) -> None:
    bad = np.random.default_rng(seed).integers(0, total + 1)
    result = backtest(total - bad, total, step_seconds=3600, start_epoch=START, target=target, window_days=2)
    window = 48
    if total.shape[0] < window:
        windows = [(bad.sum(), total.sum())]
    else:
        ends = range(total.shape[0] - 1, window - 2, -24)
        windows = [(bad[e - window + 1 : e + 1].sum(), total[e - window + 1 : e + 1].sum()) for e in ends][::-1]
    expected = [b / ((1 - target) * t) if t else 0.0 for b, t in windows]
    assert result.budget_consumed == pytest.approx(expected)


def test_backtest_rejects_more_good_than_total() -> None:
    with pytest.raises(ValueError, match="good <= total"):
        run(np.array([5]), np.array([4]))


def test_exclusion_mask_marks_every_step_a_window_overlaps() -> None:
    window = ExclusionWindow(start=T0 + timedelta(seconds=90), end=T0 + timedelta(seconds=200))
    assert exclusion_mask(START, MINUTE, 5, [window]).tolist() == [False, True, True, True, False]


def test_exclusion_mask_ignores_windows_outside_the_series() -> None:
    window = ExclusionWindow(start=T0 - timedelta(days=2), end=T0 - timedelta(days=1))
    assert not exclusion_mask(START, MINUTE, 5, [window]).any()


def test_parse_exclusions_reads_rfc3339_windows() -> None:
    windows = parse_exclusions([{"start": "2026-11-01T02:00:00Z", "end": "2026-11-01T04:00:00+01:00"}])
    assert windows[0].end == datetime(2026, 11, 1, 3, tzinfo=UTC)


def test_parse_exclusions_names_the_bad_item_and_the_problem() -> None:
    items = [
        {"start": "2026-11-01T02:00:00Z", "end": "2026-11-01T03:00:00Z"},
        {"start": "2026-11-01T05:00:00Z", "end": "2026-11-01T04:00:00Z"},
        {"start": "2026-11-01T05:00:00"},
    ]
    with pytest.raises(ValueError) as error:
        parse_exclusions(items)
    message = str(error.value)
    assert "exclusion window 2" in message and "must be after start" in message
    assert "exclusion window 3" in message and "UTC offset" in message and "end: Field required" in message
    assert "exclusion window 1" not in message
