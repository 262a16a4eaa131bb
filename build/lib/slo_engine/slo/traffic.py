"""Whether a service has enough traffic for its target to be alertable.

Pyrra's rule, applied to the shortest long window of the burn-rate table (1 hour): when the error
budget allows fewer than one bad event per hour, a single failure looks like an outage to a
burn-rate alert, so confidence drops and a longer window or a lower target is advised.
"""

from __future__ import annotations

from slo_engine.slo.burn_rate import BURN_RATE_WINDOWS

LOW_TRAFFIC_CONFIDENCE_FACTOR = 0.4


def shortest_alert_window_hours() -> float:
    return min(w[2] for w in BURN_RATE_WINDOWS) / 60


def alerting_traffic(events: int, history_days: float, target: float) -> tuple[float, str | None]:
    """(confidence factor, risk) for ``events`` over ``history_days`` at ``target``."""
    if history_days <= 0 or events <= 0:
        return 0.0, "low traffic: no requests recorded"
    hours = shortest_alert_window_hours()
    per_window = events / (history_days * 24 / hours)
    bad_allowed = per_window * (1 - target)
    if bad_allowed >= 1:
        return 1.0, None
    return (
        LOW_TRAFFIC_CONFIDENCE_FACTOR,
        f"low traffic: about {per_window:,.0f} requests per {hours:g}-hour alert window; a {target:.4%} target "
        f"allows {bad_allowed:.2f} bad events in it, so one failure looks like an outage "
        "(prefer a longer window, a lower target, or synthetic traffic)",
    )
