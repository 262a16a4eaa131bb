"""The multiwindow, multi-burn-rate alert policy (Google SRE workbook) as one table, and its replay.

Factor = share of budget consumed x period / long window; a rule fires while the error ratio over both
its long and its short window exceeds factor x budget. Every alert rule in the product derives from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from slo_engine.models.slo import AlertFiring, AlertRule
from slo_engine.slo.budget import error_budget

BoolArray = npt.NDArray[np.bool_]


class BurnRateWindow(NamedTuple):
    severity: Literal["page", "ticket"]
    budget_consumed: float
    """Share of the period's error budget this rule lets burn within its long window before alerting."""
    long_window_minutes: int
    short_window_minutes: int


BURN_RATE_WINDOWS: tuple[BurnRateWindow, ...] = (
    BurnRateWindow("page", 0.02, 60, 5),
    BurnRateWindow("page", 0.05, 360, 30),
    BurnRateWindow("ticket", 0.10, 1440, 120),
    BurnRateWindow("ticket", 0.10, 4320, 360),
)
"""Google SRE workbook policy (as in sloth's google-30d.yaml); short window = long / 12."""


def alert_rules(period_days: int = 30) -> list[AlertRule]:
    """The table's rules for an SLO period: 30 days gives 14.4 / 6 / 3 / 1, 28 days 13.44 / 5.6 / 2.8 / 0.933."""
    if period_days < 1:
        raise ValueError(f"period_days must be at least 1, got {period_days}")
    period_minutes = period_days * 24 * 60
    return [
        AlertRule(
            severity=window.severity,
            budget_consumed=window.budget_consumed,
            long_window_minutes=window.long_window_minutes,
            short_window_minutes=window.short_window_minutes,
            factor=window.budget_consumed * period_minutes / window.long_window_minutes,
        )
        for window in BURN_RATE_WINDOWS
    ]


def _trailing_sums_into(prefix: npt.NDArray[np.int64], window: int, out: npt.NDArray[np.int64]) -> None:
    """Sum of the ``window`` steps ending at each step (fewer at the start of the history), written to ``out``."""
    steps = prefix.shape[0] - 1
    head = min(window, steps)
    out[:head] = prefix[1 : head + 1]
    if window < steps:
        np.subtract(prefix[window + 1 :], prefix[1 : steps - window + 1], out=out[window:])


def _prefix_sums(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    prefix = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(values, out=prefix[1:])
    return prefix


def _window_steps(minutes: int, step_seconds: int) -> int:
    return max(1, round(minutes * 60 / step_seconds))


def _to_datetime(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def firing_masks(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    step_seconds: int,
    target: float,
    rules: Sequence[AlertRule],
) -> list[BoolArray]:
    """Per rule, per step: whether the rule fires there (both trailing windows above factor x budget).

    Windows end at (and include) the step; near the start of the history they hold only the steps there are
    (the ratio of what was observed), and windows shorter than one step use one step. Steps whose windows saw
    no events never fire.
    """
    good_counts = np.asarray(good, dtype=np.int64)
    total_counts = np.asarray(total, dtype=np.int64)
    if good_counts.ndim != 1 or good_counts.shape != total_counts.shape:
        raise ValueError(f"good and total must be 1-D of equal length, got {good_counts.shape}, {total_counts.shape}")
    if step_seconds <= 0:
        raise ValueError(f"step_seconds must be positive, got {step_seconds}")
    budget = error_budget(target)
    bad_prefix, total_prefix = _prefix_sums(total_counts - good_counts), _prefix_sums(total_counts)
    # Work buffers reused across windows and rules: fresh large arrays cost page faults, not arithmetic.
    steps = total_counts.shape[0]
    bad_sums, total_sums = np.empty(steps, np.int64), np.empty(steps, np.int64)
    allowed, above = np.empty(steps, np.float64), np.empty(steps, np.bool_)
    masks: list[BoolArray] = []
    for rule in rules:
        threshold = rule.factor * budget
        firing = np.ones(steps, dtype=np.bool_)
        for minutes in (rule.long_window_minutes, rule.short_window_minutes):
            window = _window_steps(minutes, step_seconds)
            _trailing_sums_into(bad_prefix, window, bad_sums)
            _trailing_sums_into(total_prefix, window, total_sums)
            # bad / total > threshold without dividing; an empty window (0 > 0) never fires.
            np.multiply(total_sums, threshold, out=allowed)
            np.greater(bad_sums, allowed, out=above)
            firing &= above
        masks.append(firing)
    return masks


def episode_bounds(mask: BoolArray) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Contiguous runs of True in ``mask``: (first step, step after the last) of each run."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


class FiringEpisodes(NamedTuple):
    """One rule's firing episodes as step indices: each covers steps [first, after_last)."""

    rule: AlertRule
    first: npt.NDArray[np.intp]
    after_last: npt.NDArray[np.intp]


def firing_episodes(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    step_seconds: int,
    target: float,
    rules: Sequence[AlertRule],
) -> list[FiringEpisodes]:
    """Each rule's contiguous firing episodes as step-index arrays (cheap to count; no objects per episode)."""
    masks = firing_masks(good, total, step_seconds, target, rules)
    return [FiringEpisodes(rule, *episode_bounds(mask)) for rule, mask in zip(rules, masks, strict=True)]


def severity_episode_counts(masks: Sequence[BoolArray], rules: Sequence[AlertRule]) -> dict[str, int]:
    """Episodes per severity when a severity's rules are one alert (their OR), as sloth and the workbook wire them.

    A burst that trips both page rules at once pages once, not twice.
    """
    counts: dict[str, int] = {"page": 0, "ticket": 0}
    for severity in counts:
        union: BoolArray | None = None
        for rule, mask in zip(rules, masks, strict=True):
            if rule.severity == severity:
                union = mask.copy() if union is None else union | mask
        if union is not None:
            counts[severity] = int(episode_bounds(union)[0].shape[0])
    return counts


def episodes_to_firings(
    episodes: Sequence[FiringEpisodes], step_seconds: int, start_epoch: int, limit: int | None = None
) -> list[AlertFiring]:
    """The episodes as ``AlertFiring`` records in time order (the first ``limit`` only, when given)."""
    if not episodes:
        return []
    firsts = np.concatenate([episode.first for episode in episodes])
    after_lasts = np.concatenate([episode.after_last for episode in episodes])
    rule_indices = np.concatenate([np.full(len(e.first), i, dtype=np.intp) for i, e in enumerate(episodes)])
    long_minutes = np.array([episode.rule.long_window_minutes for episode in episodes])[rule_indices]
    order = np.lexsort((rule_indices, long_minutes, firsts))
    if limit is not None:
        order = order[: max(0, limit)]
    return [
        AlertFiring(
            severity=episodes[rule_indices[i]].rule.severity,
            long_window_minutes=episodes[rule_indices[i]].rule.long_window_minutes,
            started_at=_to_datetime(start_epoch + int(firsts[i]) * step_seconds),
            ended_at=_to_datetime(start_epoch + int(after_lasts[i]) * step_seconds),
        )
        for i in order
    ]


def evaluate_alerts(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    step_seconds: int,
    start_epoch: int,
    target: float,
    rules: Sequence[AlertRule],
) -> list[AlertFiring]:
    """Replay ``rules`` over the counts and return each rule's contiguous firing episodes, in time order.

    An episode covers the steps during which the rule fired: ``started_at`` is the start of its first step and
    ``ended_at`` the end of its last (UTC). Vectorized with cumulative sums; see ``firing_masks`` for windows.
    """
    episodes = firing_episodes(good, total, step_seconds, target, rules)
    return episodes_to_firings(episodes, step_seconds, start_epoch)
