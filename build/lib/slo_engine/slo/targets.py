"""Target choice: the standard target ladder and three options proposed from rolling-window attainment.

History bounds what is achievable; a target is a low percentile of rolling attainment, capped by what the
traffic can demonstrate (Wilson lower bound) and by the overall attainment, then rounded down to the ladder.
"""

from __future__ import annotations

import bisect
import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from slo_engine.models.slo import TargetOption
from slo_engine.slo.confidence import wilson_lower_bound

TARGET_LADDER: tuple[float, ...] = (
    0.5,
    0.75,
    0.8,
    0.85,
    0.9,
    0.95,
    0.975,
    0.98,
    0.99,
    0.995,
    0.999,
    0.9995,
    0.9999,
    0.99995,
    0.99999,
)
"""The standard targets, ascending: the single source every recommendation rounds down to."""

LADDER_TOLERANCE = 1e-12
"""A value this close under a rung still reaches it (0.999 computed as 0.99899999... maps to 0.999)."""

OptionName = Literal["conservative", "balanced", "aggressive"]

TARGET_PERCENTILES: dict[OptionName, float] = {"conservative": 5.0, "balanced": 10.0, "aggressive": 25.0}
"""Percentile of rolling-window attainment each option starts from (a lower percentile is safer)."""


def _rung_index(value: float) -> int:
    """Index of the largest rung <= value (with the tolerance), or -1 below the ladder."""
    return bisect.bisect_right(TARGET_LADDER, value + LADDER_TOLERANCE) - 1


def round_down_to_ladder(value: float) -> float | None:
    """The largest standard target not above ``value``; None below the lowest rung (or for NaN)."""
    if math.isnan(value):
        return None
    index = _rung_index(value)
    return TARGET_LADDER[index] if index >= 0 else None


def step_down(target: float, steps: int = 1) -> float:
    """The rung ``steps`` below ``target`` (rounding an off-ladder target down counts as the first step).

    Clamped at the lowest rung; a target already below the ladder is returned unchanged.
    """
    if steps < 0:
        raise ValueError(f"steps must not be negative, got {steps}")
    if steps == 0:
        return target
    index = _rung_index(target)
    if index < 0:
        return target
    on_rung = abs(TARGET_LADDER[index] - target) <= LADDER_TOLERANCE
    remaining = steps if on_rung else steps - 1
    return TARGET_LADDER[max(0, index - remaining)]


def ladder_steps_between(a: float, b: float) -> int:
    """Signed rung distance from ``a`` to ``b`` (positive when ``b`` is tighter), each read at its rung or below.

    Values below the ladder sit one rung under the lowest. Used by the "tighten by at most one step" guardrail.
    """
    return _rung_index(b) - _rung_index(a)


def _floor_to_hundredth(value: float) -> float:
    """Below the lowest rung there is still a target: floor to 0.01 (0.4391 -> 0.43)."""
    return math.floor(value * 100.0 + 1e-9) / 100.0 if value > 0 else 0.0


def _target_from(value: float) -> float:
    rung = round_down_to_ladder(value)
    return rung if rung is not None else _floor_to_hundredth(value)


def choose_target_options(
    attainments: npt.ArrayLike,
    good: int,
    total: int,
    *,
    confidence_level: float = 0.95,
) -> list[TargetOption]:
    """Conservative, balanced and aggressive targets from rolling-window attainments and the overall counts.

    Each option takes its percentile (``TARGET_PERCENTILES``) of the finite attainments, caps it by the Wilson
    lower bound of good/total at ``confidence_level`` (low traffic never raises a target) and by the overall
    attainment, and rounds down to the ladder (below it, floors to 0.01). With no finite attainment, the
    overall attainment is used. Options are ordered conservative <= balanced <= aggressive, none above the
    overall attainment (up to the 1e-12 ladder tolerance). Raises ValueError when there are no events.
    """
    if total <= 0:
        raise ValueError("cannot choose a target without events (total is 0)")
    if good < 0 or good > total:
        raise ValueError(f"need 0 <= good <= total, got good={good}, total={total}")
    overall = good / total
    cap = min(overall, wilson_lower_bound(good, total, confidence_level))
    values = np.asarray(attainments, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    options: list[TargetOption] = []
    percentiles = list(TARGET_PERCENTILES.values())
    at = np.percentile(finite, percentiles) if finite.size else np.full(len(percentiles), overall)
    for (name, percentile), value in zip(TARGET_PERCENTILES.items(), at, strict=True):
        at_percentile = float(value)
        options.append(
            TargetOption(
                name=name,
                target=_target_from(min(at_percentile, cap)),
                percentile=percentile,
                attainment_at_percentile=at_percentile,
            )
        )
    return options
