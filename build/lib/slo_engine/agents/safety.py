"""The Safety layer: backtests each reviewed target against history, then applies guardrails.

A breached SLO window in the backtest revises the target one rung down (at most twice); a
guardrail violation (the Rego policies in ``policies/``) revises the target or holds it for a named approver,
with the policy's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slo_engine.agents.guardrails import GuardrailFacts, RegoGuardrails, Violation, default_guardrails
from slo_engine.models import BacktestResult, SLIKind
from slo_engine.models.slo import ExclusionWindow
from slo_engine.ports import MetricStore
from slo_engine.slo.backtest import backtest
from slo_engine.slo.exclusions import exclusion_mask
from slo_engine.slo.series import CountSeries
from slo_engine.slo.sli import latency_good_counts
from slo_engine.slo.targets import step_down

MAX_REVISIONS = 2


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


def _facts(g: GuardrailInput) -> GuardrailFacts:
    return GuardrailFacts(
        service=g.service,
        sli=g.sli.value,
        target=g.target,
        tier=g.tier,
        history_days=g.history_days,
        dependency_ceiling=g.dependency_ceiling,
        attained=g.attained,
        approved_target=g.approved_target,
    )


def policy_violations(g: GuardrailInput, guardrails: RegoGuardrails | None = None) -> list[Violation]:
    """The Rego guardrails' verdict on ``g`` (ceiling, history, evidence, change, approval)."""
    return (guardrails or default_guardrails()).evaluate(_facts(g))


def guardrail_violations(g: GuardrailInput, guardrails: RegoGuardrails | None = None) -> list[str]:
    """The policies' messages; each names the rule it breaks."""
    return [v.message for v in policy_violations(g, guardrails)]


class SafetyLayer:
    def __init__(self, metrics: MetricStore, window_days: int, guardrails: RegoGuardrails | None = None) -> None:
        self._metrics = metrics
        self._window_days = window_days
        self._guardrails = guardrails or default_guardrails()

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
        for violation in policy_violations(g, self._guardrails):
            if violation.action == "revise":
                # Revise down to the highest rung that satisfies every revising rule.
                while step_down(g.target) < g.target and any(
                    v.action == "revise" for v in policy_violations(g, self._guardrails)
                ):
                    g.target = step_down(g.target)
                verdict.revisions.append(f"guardrail {violation.message}; revised to {g.target:.4%}")
            else:
                verdict.violations.append(violation.message)
                if violation.rule == "approval":
                    verdict.needs_named_approver = True
        verdict.target = g.target
        return verdict
