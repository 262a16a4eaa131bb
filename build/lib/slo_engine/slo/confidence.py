"""How much the history supports a target: Wilson intervals, the minimum-events rule, a confidence score.

Low traffic lowers confidence; it never raises a target (the Wilson lower bound caps targets elsewhere).
"""

from __future__ import annotations

import math
from statistics import NormalDist

LOW_CONFIDENCE_CEILING = 0.45
"""The highest score a target gets when the events cannot demonstrate it (below ``min_events_for_target``)."""

AMPLE_TRAFFIC_MULTIPLE = 10.0
"""Events at this multiple of the minimum count as ample: traffic no longer limits the score."""


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Wilson score interval for a binomial proportion k/n (e.g. good/total).

    With no trials the interval is the whole [0, 1]. 999 of 1,000 at 95 % gives about [0.99436, 0.99982].
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    _check_confidence(confidence)
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    z2 = z * z
    p = k / n
    denominator = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denominator
    half_width = (z / denominator) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    lower = 0.0 if k == 0 else max(0.0, center - half_width)
    upper = 1.0 if k == n else min(1.0, center + half_width)
    return lower, upper


def wilson_lower_bound(k: int, n: int, confidence: float = 0.95) -> float:
    """Lower end of the two-sided Wilson interval: the proportion the data supports at ``confidence``."""
    return wilson_interval(k, n, confidence)[0]


def min_events_for_target(target: float, confidence: float = 0.95) -> int:
    """Events needed for zero errors to demonstrate ``target``: -ln(1 - confidence) / (1 - target), rounded up.

    The rule of three: 99.9 % at 95 % confidence needs about 3,000 events.
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be strictly between 0 and 1, got {target}")
    _check_confidence(confidence)
    return math.ceil(-math.log(1.0 - confidence) / (1.0 - target) - 1e-9)


def _traffic_score(events: int, minimum: int) -> float:
    """Below the minimum: up to LOW_CONFIDENCE_CEILING; from the minimum: 0.5 rising (log) to 1 at ample traffic."""
    ratio = events / minimum
    if ratio < 1.0:
        return LOW_CONFIDENCE_CEILING * ratio
    return 0.5 + 0.5 * min(1.0, math.log(ratio) / math.log(AMPLE_TRAFFIC_MULTIPLE))


def _history_factor(history_days: float, window_days: int) -> float:
    """1 with a full window of history, down to 0.5 with none."""
    return 0.5 + 0.5 * min(1.0, history_days / window_days)


def confidence_score(events: int, target: float, history_days: float, window_days: int) -> tuple[float, list[str]]:
    """A deterministic score in [0, 1] for how well ``events`` over ``history_days`` support ``target``.

    score = traffic score x history factor, each non-decreasing, so the score never drops when traffic or
    history grows. Fewer events than ``min_events_for_target`` give a score below 0.5 ("low traffic"); less
    history than one window scales the score down ("short history"); ample traffic (10x the minimum) over a full
    window scores 1.
    """
    if events < 0:
        raise ValueError(f"events must not be negative, got {events}")
    if history_days < 0:
        raise ValueError(f"history_days must not be negative, got {history_days}")
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    minimum = min_events_for_target(target)
    reasons: list[str] = []
    if events < minimum:
        reasons.append(
            f"low traffic: {events:,} events, {minimum:,} needed to demonstrate {target:.4%} "
            f"with 95% confidence even with zero errors"
        )
    elif events < AMPLE_TRAFFIC_MULTIPLE * minimum:
        reasons.append(f"moderate traffic: {events:,} events, {minimum:,} needed to demonstrate {target:.4%}")
    else:
        reasons.append(f"ample traffic: {events:,} events, over {AMPLE_TRAFFIC_MULTIPLE:g}x the {minimum:,} needed")
    if history_days < window_days:
        reasons.append(f"short history: {history_days:.1f} days of history for a {window_days}-day window")
    else:
        reasons.append(f"full history: {history_days:.1f} days cover the {window_days}-day window")
    score = _traffic_score(events, minimum) * _history_factor(history_days, window_days)
    return round(min(1.0, max(0.0, score)), 4), reasons
