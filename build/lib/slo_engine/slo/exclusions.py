"""Exclusion (maintenance) windows: parsed from user input and turned into a step mask.

Masked steps are left out of SLIs and backtests (their counts are zeroed, never reweighted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from slo_engine.models.slo import ExclusionWindow

BoolArray = npt.NDArray[np.bool_]


def exclusion_mask(start_epoch: int, step_seconds: int, steps: int, windows: Sequence[ExclusionWindow]) -> BoolArray:
    """True for every step (covering [start, start + step)) that overlaps any window [window.start, window.end)."""
    if step_seconds <= 0:
        raise ValueError(f"step_seconds must be positive, got {step_seconds}")
    if steps < 0:
        raise ValueError(f"steps must not be negative, got {steps}")
    mask = np.zeros(steps, dtype=np.bool_)
    for window in windows:
        first = math.floor((window.start.timestamp() - start_epoch) / step_seconds)
        after_last = math.ceil((window.end.timestamp() - start_epoch) / step_seconds)
        first, after_last = max(0, first), min(steps, after_last)
        if first < after_last:
            mask[first:after_last] = True
    return mask


def parse_exclusions(items: Sequence[Mapping[str, Any]]) -> list[ExclusionWindow]:
    """Validate user-given windows ({"start", "end", "reason"?}, RFC 3339 UTC); errors name every bad item."""
    windows: list[ExclusionWindow] = []
    problems: list[str] = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            problems.append(f"exclusion window {position}: expected an object with start and end, got {item!r}")
            continue
        try:
            windows.append(ExclusionWindow.model_validate(dict(item)))
        except ValidationError as error:
            details = "; ".join(
                f"{'.'.join(str(part) for part in detail['loc']) or 'window'}: {detail['msg']}"
                for detail in error.errors()
            )
            problems.append(f"exclusion window {position}: {details}")
    if problems:
        raise ValueError("invalid exclusion windows:\n" + "\n".join(problems))
    return windows
