"""Rolling windows over a regular step grid, by cumulative-sum differences (O(n), no loops over steps).

Attainment over a window is always sum(good) / sum(total) over that window, never an average of
per-step ratios: with uneven traffic the average is biased.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SECONDS_PER_DAY = 86_400

FloatArray = npt.NDArray[np.float64]


def steps_per_day(step_seconds: int) -> int:
    """How many steps of ``step_seconds`` make one day (the step must divide a day)."""
    if step_seconds <= 0 or SECONDS_PER_DAY % step_seconds != 0:
        raise ValueError(f"a step of {step_seconds} s does not divide a day evenly")
    return SECONDS_PER_DAY // step_seconds


def window_steps(days: float, step_seconds: int) -> int:
    """Steps in a window of ``days`` (rounded to the nearest step, at least one)."""
    if days <= 0:
        raise ValueError(f"a window must be longer than zero days, got {days}")
    if step_seconds <= 0:
        raise ValueError(f"step_seconds must be positive, got {step_seconds}")
    return max(1, round(days * SECONDS_PER_DAY / step_seconds))


def window_end_indices(steps: int, window_steps: int, stride_steps: int = 1) -> npt.NDArray[np.intp]:
    """Index of the last step of each full window, ascending, spaced by ``stride_steps``, the last one ``steps-1``."""
    if window_steps < 1 or stride_steps < 1:
        raise ValueError(f"window and stride must be at least one step, got {window_steps} and {stride_steps}")
    if steps < window_steps:
        return np.empty(0, dtype=np.intp)
    count = (steps - window_steps) // stride_steps + 1
    return (steps - 1) - stride_steps * np.arange(count - 1, -1, -1, dtype=np.intp)


def _prefix_sums(values: np.ndarray) -> np.ndarray:
    """Cumulative sums along the steps with a leading zero row: window sums are differences of two rows."""
    accumulate_as = np.int64 if np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_ else np.float64
    prefix = np.zeros((values.shape[0] + 1, *values.shape[1:]), dtype=accumulate_as)
    np.cumsum(values, axis=0, dtype=accumulate_as, out=prefix[1:])
    return prefix


def rolling_sums(values: npt.ArrayLike, window_steps: int, stride_steps: int = 1) -> np.ndarray:
    """Sums over full windows of ``window_steps`` ending every ``stride_steps``, the last ending at the last step.

    Works on 1-D arrays (steps,) and 2-D arrays (steps, k), summing along the steps. Returns an empty array
    (zero windows) when the series is shorter than one window.
    """
    array = np.asarray(values)
    if array.ndim not in (1, 2):
        raise ValueError(f"values must be 1-D or 2-D (steps, k), got shape {array.shape}")
    ends = window_end_indices(array.shape[0], window_steps, stride_steps)
    prefix = _prefix_sums(array)
    return prefix[ends + 1] - prefix[ends + 1 - window_steps]


def rolling_attainment(
    good: npt.ArrayLike, total: npt.ArrayLike, window_steps: int, stride_steps: int = 1
) -> FloatArray:
    """sum(good) / sum(total) over each rolling window (see ``rolling_sums``); NaN where a window has no events."""
    good_sums = rolling_sums(good, window_steps, stride_steps).astype(np.float64)
    total_sums = rolling_sums(total, window_steps, stride_steps).astype(np.float64)
    if good_sums.shape != total_sums.shape:
        raise ValueError(f"good and total must have the same shape, got {good_sums.shape} and {total_sums.shape}")
    attainment = np.full(total_sums.shape, np.nan)
    np.divide(good_sums, total_sums, out=attainment, where=total_sums > 0)
    return attainment
