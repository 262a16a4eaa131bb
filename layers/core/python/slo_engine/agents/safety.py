"""The Safety layer: backtests each reviewed target against history, then applies guardrails.

A breached SLO window in the backtest revises the target one rung down (at most twice); a
guardrail violation revises or holds the recommendation for a named approver, with the rule's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slo_engine.models import BacktestResult, SLIKind
from slo_engine.models.slo import ExclusionWindow
from slo_engine.ports import MetricStore
from slo_engine.slo.backtest import backtest
from slo_engine.slo.exclusions import exclusion_mask
from slo_engine.slo.series import CountSeries
from slo_engine.slo.sli import latency_good_counts
from slo_engine.slo.targets import ladder_steps_between, step_down

MAX_REVISIONS = 2
LONG_HISTORY_DAYS = 28
HIGH_TARGET = 0.9999


@dataclass
class GuardrailInput:
    service: str
    sli: SLIKind
    target: float
    tier: int | None
    history_days: float
    dependency_ceiling: float | None
    attained: float | None
    approved_target: float | None = None


@dataclass
class SafetyVerdict:
    target: float
    backtest: BacktestResult | None
    revisions: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    needs_named_approver: bool = False


def guardrail_violations(g: GuardrailInput) -> list[str]:
    """The policy rules; each message names the rule it breaks."""
    found: list[str] = []
    if g.dependency_ceiling is not None and g.target > g.dependency_ceiling + 1e-12:
        found.append(f"ceiling: target {g.target:.4%} is above the dependency ceiling {g.dependency_ceiling:.4%}")
    if g.attained is not None and g.target > g.attained + 1e-12:
        found.append(f"history: target {g.target:.4%} is above what history attained ({g.attained:.4%})")
    if g.target > HIGH_TARGET - 1e-12 and g.history_days < LONG_HISTORY_DAYS:
        found.append(
            f"evidence: a target of {g.target:.4%} needs {LONG_HISTORY_DAYS} days of data, {g.history_days:.1f} given"
        )
    if g.approved_target is not None and ladder_steps_between(g.approved_target, g.target) > 1:
        found.append(
            f"change: tightening from the approved {g.approved_target:.4%} to {g.target:.4%} is more than one step"
        )
    return found


class SafetyLayer:
    def __init__(self, metrics: MetricStore, window_days: int) -> None:
        self._metrics = metrics
        self._window_days = window_days

    def check(
        self,
        g: GuardrailInput,
        threshold_ms: float | None = None,
        exclusions: list[ExclusionWindow] | None = None,
        series: CountSeries | None = None,
    ) -> SafetyVerdict:
        series = series if series is not None else self._metrics.series(g.service)
        excluded = None
        if exclusions and len(series):
            excluded = exclusion_mask(series.start, series.step, len(series), exclusions)
        if g.sli is SLIKind.LATENCY and threshold_ms is not None:
            total = series.latency_counts.sum(axis=1)
            good = latency_good_counts(series.latency_counts, series.bounds, threshold_ms)
        else:
            total = series.requests
            good = series.requests - series.errors
        verdict = SafetyVerdict(target=g.target, backtest=None)
        for _ in range(MAX_REVISIONS + 1):
            result = backtest(
                good,
                total,
                step_seconds=series.step,
                start_epoch=series.start,
                target=verdict.target,
                window_days=self._window_days,
                excluded=excluded,
            )
            verdict.backtest = result
            if result.windows_breached == 0 or len(verdict.revisions) >= MAX_REVISIONS:
                break
            lowered = step_down(verdict.target)
            if lowered >= verdict.target:
                break
            verdict.revisions.append(
                f"backtest: {result.windows_breached} of {result.windows_evaluated} {self._window_days}-day windows "
                f"breached {verdict.target:.4%}; revised to {lowered:.4%}"
            )
            verdict.target = lowered
        g.target = verdict.target
        for violation in guardrail_violations(g):
            if violation.startswith(("ceiling", "history", "evidence")):
                # Revise down to the highest rung that satisfies the rule.
                while guardrail_violations(g) and step_down(g.target) < g.target:
                    g.target = step_down(g.target)
                verdict.revisions.append(f"guardrail {violation}; revised to {g.target:.4%}")
            else:
                verdict.violations.append(violation)
        verdict.target = g.target
        if g.tier == 0:
            verdict.needs_named_approver = True
            verdict.violations.append("approval: tier-0 services need a named human approver")
        return verdict
