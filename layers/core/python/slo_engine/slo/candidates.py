"""From one service's history to candidate SLOs: the deterministic numbers every agent relies on.

Availability and latency candidates come from rolling-window attainment (sum/sum over windows,
never averaged ratios), a low percentile of it, a Wilson lower bound and the standard ladder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from slo_engine.models import SLIKind, TargetOption
from slo_engine.slo.confidence import wilson_lower_bound
from slo_engine.slo.series import CountSeries
from slo_engine.slo.targets import choose_target_options
from slo_engine.slo.windows import rolling_attainment, window_steps

DAY = 86400


@dataclass
class SLICandidate:
    """What history says about one SLI of one service."""

    sli: SLIKind
    good: int
    total: int
    history_days: float
    eval_window_days: float
    options: list[TargetOption]
    threshold_ms: float | None = None
    rolling_percentiles: dict[str, float] = field(default_factory=dict)
    trend_per_week: float | None = None
    diurnal_ratio: float | None = None
    method: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def attained(self) -> float | None:
        return self.good / self.total if self.total else None

    def option(self, name: str) -> TargetOption:
        return next(o for o in self.options if o.name == name)


BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20261124


def evaluation_window_days(history_days: float, window_days: int) -> float:
    """Length of the windows whose attainment distribution decides targets: always the SLO window."""
    del history_days
    return float(window_days)


def window_attainments(
    good: np.ndarray, total: np.ndarray, step: int, history_days: float, window_days: int
) -> tuple[np.ndarray, str]:
    """The distribution of SLO-window attainment that history supports, and how it was obtained.

    With at least two SLO windows of history: true rolling windows (hourly stride). With less: a seeded
    block bootstrap that draws whole days (hours under a week of history) with replacement until one SLO
    window is filled, so a short history yields a distribution rather than one optimistic number.
    Every value is sum(good) / sum(total) over its window.
    """
    if len(total) == 0:
        return np.array([]), "no data"
    if history_days >= 2 * window_days:
        w = min(len(total), max(1, window_steps(window_days, step)))
        return rolling_attainment(good, total, w, max(1, 3600 // step)), f"rolling {window_days}-day windows"
    block_seconds = DAY if history_days >= 7 else 3600
    per_block = max(1, block_seconds // step)
    blocks = len(total) // per_block
    if blocks < 2:
        return rolling_attainment(good, total, len(total), 1), "the whole history"
    g = good[: blocks * per_block].reshape(blocks, per_block).sum(axis=1)
    t = total[: blocks * per_block].reshape(blocks, per_block).sum(axis=1)
    active = t > 0
    g, t = g[active], t[active]
    if len(t) < 2:
        return rolling_attainment(good, total, len(total), 1), "the whole history"
    draws = max(1, round(window_days * DAY / block_seconds))
    times_drawn = _bootstrap_counts(len(t), draws)
    unit = "days" if block_seconds == DAY else "hours"
    attainment = (times_drawn @ g.astype(np.float64)) / (times_drawn @ t.astype(np.float64))
    return attainment, f"a bootstrap of {len(t)} {unit} into {window_days}-day windows"


@lru_cache(maxsize=64)
def _bootstrap_counts(blocks: int, draws: int) -> np.ndarray:
    """How often each block is drawn in each bootstrap sample (samples x blocks), seeded and cached.

    Summing counts this way equals summing the drawn blocks, at the cost of one matrix product.
    """
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    counts = rng.multinomial(draws, np.full(blocks, 1.0 / blocks), size=BOOTSTRAP_SAMPLES).astype(np.float64)
    counts.setflags(write=False)
    return counts


def _trend_per_week(series: CountSeries) -> float | None:
    """Slope of the daily error ratio (least squares), in ratio points per week; None under 7 days."""
    spd = DAY // series.step
    days = len(series) // spd
    if days < 7:
        return None
    req = series.requests[: days * spd].reshape(days, spd).sum(axis=1)
    err = series.errors[: days * spd].reshape(days, spd).sum(axis=1)
    mask = req > 0
    if mask.sum() < 7:
        return None
    x = np.arange(days)[mask]
    y = err[mask] / req[mask]
    slope = np.polyfit(x, y, 1)[0]
    return float(slope * 7)


def _diurnal_ratio(series: CountSeries) -> float | None:
    """Peak-hour over trough-hour traffic (hour of day, summed over the history)."""
    if series.total_requests == 0 or series.step > 3600:
        return None
    hours = ((series.start + np.arange(len(series)) * series.step) // 3600) % 24
    by_hour = np.bincount(hours, weights=series.requests, minlength=24)
    low = by_hour.min()
    return float(by_hour.max() / low) if low > 0 else None


def availability_candidate(
    series: CountSeries, window_days: int, *, history_days: float | None = None, confidence_level: float = 0.95
) -> SLICandidate:
    good_steps = series.requests - series.errors
    good, total = int(good_steps.sum()), int(series.requests.sum())
    history = history_days if history_days is not None else series.active_span_seconds() / DAY
    eval_days = evaluation_window_days(history, window_days)
    rolling, method = window_attainments(good_steps, series.requests, series.step, history, window_days)
    options = choose_target_options(rolling, good, total, confidence_level=confidence_level)
    valid = rolling[~np.isnan(rolling)]
    pct: dict[str, float] = {o.name: o.attainment_at_percentile for o in options} if valid.size else {}
    return SLICandidate(
        sli=SLIKind.AVAILABILITY,
        good=good,
        total=total,
        history_days=history,
        eval_window_days=eval_days,
        options=options,
        rolling_percentiles=pct,
        method=method,
        trend_per_week=_trend_per_week(series),
        diurnal_ratio=_diurnal_ratio(series),
    )


def latency_candidates(
    series: CountSeries,
    window_days: int,
    *,
    history_days: float | None = None,
    confidence_level: float = 0.95,
) -> list[SLICandidate]:
    """One latency candidate per histogram bound (empty without histograms)."""
    hist_total_steps = series.latency_counts.sum(axis=1)
    total = int(hist_total_steps.sum())
    if total == 0:
        return []
    history = history_days if history_days is not None else series.active_span_seconds() / DAY
    eval_days = evaluation_window_days(history, window_days)
    found = []
    # Requests at or under each bound, per step: one cumulative sum serves every threshold.
    at_or_under = np.cumsum(series.latency_counts[:, :-1], axis=1)
    for i, bound in enumerate(series.bounds):
        good_steps = np.ascontiguousarray(at_or_under[:, i])
        good = int(good_steps.sum())
        rolling, method = window_attainments(good_steps, hist_total_steps, series.step, history, window_days)
        options = choose_target_options(rolling, good, total, confidence_level=confidence_level)
        valid = rolling[~np.isnan(rolling)]
        pct: dict[str, float] = {o.name: o.attainment_at_percentile for o in options} if valid.size else {}
        found.append(
            SLICandidate(
                sli=SLIKind.LATENCY,
                good=good,
                total=total,
                history_days=history,
                eval_window_days=eval_days,
                options=options,
                threshold_ms=float(bound),
                rolling_percentiles=pct,
                method=method,
            )
        )
    return found


def pick_latency(
    candidates: list[SLICandidate], objective: float = 0.99, min_threshold_ms: float | None = None
) -> SLICandidate | None:
    """The smallest threshold whose balanced target reaches ``objective``.

    ``min_threshold_ms`` keeps the threshold at or above what synchronous dependencies need.
    """
    eligible = [c for c in candidates if min_threshold_ms is None or (c.threshold_ms or 0) >= min_threshold_ms]
    if not eligible:
        eligible = candidates[-1:]
    for c in eligible:
        if c.option("balanced").target >= objective - 1e-12:
            return c
    if not eligible:
        return None
    best = eligible[-1]
    best.notes.append(f"no latency bound reaches {objective:.2%} of requests; threshold set at the largest bound")
    return best


def wilson_floor(candidate: SLICandidate, confidence_level: float = 0.95) -> float:
    return wilson_lower_bound(candidate.good, candidate.total, confidence_level) if candidate.total else 0.0
