"""Service level indicators from counts: availability, latency from histogram buckets, quantiles.

Every function reads counts (never ratios or percentiles), so the results merge exactly across
time, pods and windows. Latency histograms are per-bucket (not cumulative), one column per bound plus overflow.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def availability(good: int, total: int) -> float | None:
    """Good events over valid events; None when there were no events."""
    if total < 0 or good < 0 or good > total:
        raise ValueError(f"need 0 <= good <= total, got good={good}, total={total}")
    if total == 0:
        return None
    return good / total


def _checked_bounds(bounds: Sequence[float]) -> tuple[float, ...]:
    checked = tuple(float(b) for b in bounds)
    if any(b2 <= b1 for b1, b2 in itertools.pairwise(checked)):
        raise ValueError(f"histogram bounds must be strictly ascending, got {list(checked)}")
    return checked


def _checked_counts(latency_counts: npt.ArrayLike, bounds: tuple[float, ...]) -> np.ndarray:
    counts = np.asarray(latency_counts)
    if counts.ndim not in (1, 2) or counts.shape[-1] != len(bounds) + 1:
        raise ValueError(
            f"latency counts must have shape (steps, {len(bounds) + 1}) or ({len(bounds) + 1},), got {counts.shape}"
        )
    return counts


def _sum_buckets(counts: np.ndarray) -> np.ndarray:
    """Sum along the bucket axis (einsum: several times faster than .sum(axis=-1) over a few short columns)."""
    if np.issubdtype(counts.dtype, np.integer) or counts.dtype == np.bool_:
        return np.asarray(np.einsum("...j->...", counts, dtype=np.int64, casting="unsafe"))
    return np.asarray(np.einsum("...j->...", counts))


def latency_good_counts(
    latency_counts: npt.ArrayLike,
    bounds: Sequence[float],
    threshold_ms: float,
    *,
    interpolate: bool = False,
) -> np.ndarray:
    """Requests at or under ``threshold_ms``, per step (or one value for a single histogram).

    ``latency_counts`` has shape (steps, len(bounds) + 1) or (len(bounds) + 1,): ``counts[i]`` counts requests
    slower than ``bounds[i-1]`` and at most ``bounds[i]``, the last column those slower than every bound.
    The threshold must be one of the bounds (the count is then exact); otherwise a ValueError names the nearest
    bounds, unless ``interpolate=True``: the containing bucket is then split linearly (a float estimate, the
    first bucket's lower edge being 0). Above the highest bound the overflow bucket has no upper edge, so its
    requests count as slow. Percentiles are never averaged: this reads merged counts only.
    """
    checked_bounds = _checked_bounds(bounds)
    counts = _checked_counts(latency_counts, checked_bounds)
    if not threshold_ms > 0:
        raise ValueError(f"latency threshold must be positive milliseconds, got {threshold_ms}")
    threshold = float(threshold_ms)
    position = bisect.bisect_left(checked_bounds, threshold)
    if position < len(checked_bounds) and checked_bounds[position] == threshold:
        return _sum_buckets(counts[..., : position + 1])
    if position == len(checked_bounds):
        # Above every bound: only the overflow bucket is unknown, and it is counted as slow.
        if interpolate:
            return _sum_buckets(counts[..., :position]).astype(np.float64)
        raise ValueError(
            f"latency threshold {threshold:g} ms is not a histogram bound; it is above the highest bound "
            f"{checked_bounds[-1]:g} ms (use that bound, or pass interpolate=True)"
        )
    lower = checked_bounds[position - 1] if position > 0 else 0.0
    upper = checked_bounds[position]
    if not interpolate:
        below = f"{lower:g} ms" if position > 0 else "none"
        raise ValueError(
            f"latency threshold {threshold:g} ms is not a histogram bound; nearest bounds: {below} below, "
            f"{upper:g} ms above (use one of them, or pass interpolate=True for a linear estimate)"
        )
    fraction = (threshold - lower) / (upper - lower)
    below_bucket = _sum_buckets(counts[..., :position])
    return np.asarray(below_bucket + fraction * counts[..., position], dtype=np.float64)


def rebucket(
    latency_counts: npt.ArrayLike,
    from_bounds: Sequence[float],
    to_bounds: Sequence[float],
) -> IntArray:
    """Exactly coarsen histogram counts to ``to_bounds``, which must be a subset of ``from_bounds``."""
    source = _checked_bounds(from_bounds)
    target = _checked_bounds(to_bounds)
    counts = _checked_counts(latency_counts, source)
    missing = sorted(set(target) - set(source))
    if missing:
        raise ValueError(f"cannot rebucket exactly: bounds {missing} are not among the source bounds {list(source)}")
    index_of = {bound: i for i, bound in enumerate(source)}
    # Each coarse bucket starts right after the previous coarse bound; the last one is the overflow.
    starts = np.array([0] + [index_of[bound] + 1 for bound in target], dtype=np.intp)
    return np.add.reduceat(counts.astype(np.int64, copy=False), starts, axis=-1)


def common_bounds(bounds_list: Sequence[Sequence[float]]) -> tuple[float, ...]:
    """The bounds every histogram shares (sorted): the finest layout all of them rebucket to exactly."""
    if not bounds_list:
        return ()
    shared = set(float(b) for b in bounds_list[0])
    for bounds in bounds_list[1:]:
        shared &= {float(b) for b in bounds}
    return tuple(sorted(shared))


def histogram_quantile(counts: Sequence[int] | np.ndarray, bounds: Sequence[float], q: float) -> float | None:
    """The q-quantile of one per-bucket histogram, with Prometheus ``histogram_quantile`` semantics.

    The rank ``q * total`` is located in the first bucket whose cumulative count reaches it, and the value is
    interpolated linearly between that bucket's lower and upper bound (the first bucket's lower edge is 0).
    If the rank falls in the overflow bucket, the highest bound is returned (the quantile is at least that).
    Returns None for an empty histogram. ``q`` must be in [0, 1]; q=0 returns the first bucket's lower edge, 0.
    Quantiles of merged counts are exact in this sense; averaging quantiles of parts is not, never do it.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    checked_bounds = _checked_bounds(bounds)
    per_bucket = np.asarray(counts, dtype=np.float64)
    if per_bucket.shape != (len(checked_bounds) + 1,):
        raise ValueError(f"need {len(checked_bounds) + 1} bucket counts for {len(checked_bounds)} bounds")
    cumulative = np.cumsum(per_bucket)
    total = float(cumulative[-1])
    if total <= 0:
        return None
    rank = q * total
    bucket = int(np.searchsorted(cumulative[:-1], rank, side="left"))
    if bucket == len(checked_bounds):
        return checked_bounds[-1]
    lower = checked_bounds[bucket - 1] if bucket > 0 else 0.0
    upper = checked_bounds[bucket]
    before = float(cumulative[bucket - 1]) if bucket > 0 else 0.0
    in_bucket = float(cumulative[bucket]) - before
    if in_bucket <= 0:
        return lower
    return lower + (upper - lower) * (rank - before) / in_bucket
