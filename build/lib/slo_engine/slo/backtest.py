"""Backtest a candidate target: replay history for budget consumed per window, breaches and alerts.

Excluded steps (maintenance windows) are left out of every count; alerts come from the one burn-rate table
scaled to the SLO window, so a team sees the cost of a target before agreeing to it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from slo_engine.models.slo import BacktestResult
from slo_engine.slo.budget import error_budget
from slo_engine.slo.burn_rate import (
    FiringEpisodes,
    alert_rules,
    episode_bounds,
    episodes_to_firings,
    firing_masks,
    severity_episode_counts,
)
from slo_engine.slo.windows import rolling_sums, window_steps

BREACH_TOLERANCE = 1e-9
"""A window breaches when it consumes more than 1 + this share of its budget (float noise is not a breach)."""


def backtest(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    *,
    step_seconds: int,
    start_epoch: int,
    target: float,
    window_days: int,
    stride_days: float = 1.0,
    excluded: npt.NDArray[np.bool_] | None = None,
    max_alerts_listed: int = 100,
) -> BacktestResult:
    """What ``target`` would have meant over the history given (per-step good and total counts).

    Rolling windows of ``window_days`` end every ``stride_days`` (the last at the last step); a history shorter
    than one window is evaluated as one window over all of it. Per window: budget consumed =
    bad / (budget x total) (0 without events); breached when that exceeds 1 (attainment below target).
    Alerts: the burn-rate rules for a ``window_days`` period. ``page_alerts`` / ``ticket_alerts`` count episodes
    of each severity's alert (its rules OR-ed, as deployed: a burst tripping both page rules pages once);
    ``alerts`` lists the first ``max_alerts_listed`` per-rule episodes in time order.
    """
    good_counts = np.asarray(good, dtype=np.int64)
    total_counts = np.asarray(total, dtype=np.int64)
    if good_counts.ndim != 1 or good_counts.shape != total_counts.shape:
        raise ValueError(f"good and total must be 1-D of equal length, got {good_counts.shape}, {total_counts.shape}")
    if np.any(good_counts < 0) or np.any(good_counts > total_counts):
        raise ValueError("need 0 <= good <= total at every step")
    budget = error_budget(target)
    excluded_steps = 0
    if excluded is not None:
        mask = np.asarray(excluded, dtype=np.bool_)
        if mask.shape != total_counts.shape:
            raise ValueError(f"excluded must have one entry per step ({total_counts.shape}), got {mask.shape}")
        good_counts = np.where(mask, 0, good_counts)
        total_counts = np.where(mask, 0, total_counts)
        excluded_steps = int(np.count_nonzero(mask))
    bad_counts = total_counts - good_counts

    steps = total_counts.shape[0]
    window = window_steps(window_days, step_seconds)
    if steps < window:
        window_bad = np.array([bad_counts.sum()], dtype=np.float64)
        window_total = np.array([total_counts.sum()], dtype=np.float64)
    else:
        stride = window_steps(stride_days, step_seconds)
        window_bad = rolling_sums(bad_counts, window, stride).astype(np.float64)
        window_total = rolling_sums(total_counts, window, stride).astype(np.float64)
    consumed = np.zeros(window_bad.shape, dtype=np.float64)
    np.divide(window_bad, budget * window_total, out=consumed, where=window_total > 0)

    rules = alert_rules(window_days)
    masks = firing_masks(good_counts, total_counts, step_seconds, target, rules)
    episodes = [FiringEpisodes(rule, *episode_bounds(mask)) for rule, mask in zip(rules, masks, strict=True)]
    alerts_per_severity = severity_episode_counts(masks, rules)
    return BacktestResult(
        target=target,
        window_days=window_days,
        windows_evaluated=int(consumed.size),
        windows_breached=int(np.count_nonzero(consumed > 1.0 + BREACH_TOLERANCE)),
        budget_consumed=[float(value) for value in consumed],
        worst_budget_consumed=float(consumed.max()) if consumed.size else 0.0,
        page_alerts=alerts_per_severity["page"],
        ticket_alerts=alerts_per_severity["ticket"],
        alerts=episodes_to_firings(episodes, step_seconds, start_epoch, limit=max_alerts_listed),
        excluded_minutes=round(excluded_steps * step_seconds / 60),
    )
