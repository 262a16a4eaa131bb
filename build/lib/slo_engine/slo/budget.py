"""Error budget arithmetic: budget = 1 - target, burn rate = error ratio / budget.

A burn rate of 1 spends exactly the budget over the SLO period; time to exhaustion = period / burn rate.
"""

from __future__ import annotations

import math


def _check_target(target: float) -> None:
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be strictly between 0 and 1, got {target}")


def error_budget(target: float) -> float:
    """The share of events allowed to be bad: 1 - target."""
    _check_target(target)
    return 1.0 - target


def allowed_bad_events(target: float, total: float) -> float:
    """Bad events the target allows among ``total`` events."""
    return error_budget(target) * total


def budget_consumed(bad: float, total: float, target: float) -> float:
    """Share of the error budget spent: bad / (budget x total); 0 when there were no events (1.0 = all of it)."""
    budget = error_budget(target)
    if total <= 0:
        return 0.0
    return bad / (budget * total)


def burn_rate(error_ratio: float, target: float) -> float:
    """How many times faster than sustainable the budget burns: error ratio / budget."""
    return error_ratio / error_budget(target)


def hours_to_exhaustion(period_days: float, burn_rate: float) -> float:
    """Hours until a whole period's budget is spent at ``burn_rate`` (infinite when nothing burns).

    14.4x over a 30-day period exhausts the budget in 50 hours, not in one hour.
    """
    if burn_rate < 0:
        raise ValueError(f"burn rate must not be negative, got {burn_rate}")
    if burn_rate == 0:
        return math.inf
    return period_days * 24.0 / burn_rate
