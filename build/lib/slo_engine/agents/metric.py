"""Metric Discovery: availability and latency history of each planned service, from the metric store."""

from __future__ import annotations

from typing import Any

from slo_engine.config import EngineConfig
from slo_engine.models import AgentFinding, Evidence, SelfEvaluation, SLIKind
from slo_engine.models.slo import ExclusionWindow
from slo_engine.ports import MetricStore
from slo_engine.slo.candidates import SLICandidate, availability_candidate, latency_candidates, pick_latency
from slo_engine.slo.confidence import confidence_score
from slo_engine.slo.exclusions import exclusion_mask


def candidate_payload(c: SLICandidate) -> dict[str, Any]:
    return {
        "sli": c.sli.value,
        "good": c.good,
        "total": c.total,
        "attained": c.attained,
        "history_days": round(c.history_days, 3),
        "eval_window_days": c.eval_window_days,
        "threshold_ms": c.threshold_ms,
        "options": [o.model_dump() for o in c.options],
        "rolling_percentiles": c.rolling_percentiles,
        "method": c.method,
        "trend_per_week": c.trend_per_week,
        "diurnal_ratio": c.diurnal_ratio,
        "notes": c.notes,
    }


class MetricDiscoveryAgent:
    def __init__(self, metrics: MetricStore, config: EngineConfig) -> None:
        self._metrics = metrics
        self._config = config

    def discover(
        self, service: str, slis: list[SLIKind], exclusions: list[ExclusionWindow] | None = None
    ) -> AgentFinding:
        series = self._metrics.series(service)
        history_days = series.history_days()
        excluded_steps = 0
        if exclusions and len(series):
            mask = exclusion_mask(series.start, series.step, len(series), exclusions)
            excluded_steps = int(mask.sum())
            series = series.without(mask)
        window = self._config.window_days
        evidence: list[Evidence] = []
        data: dict[str, Any] = {"excluded_minutes": excluded_steps * series.step // 60}
        if series.total_requests == 0:
            return AgentFinding(
                agent="metric",
                service=service,
                summary=f"no traffic recorded for {service}",
                self_evaluation=SelfEvaluation(confidence=0.0, reasons=["no requests in the metric store"]),
                data=data,
            )
        avail = availability_candidate(
            series, window, history_days=history_days, confidence_level=self._config.confidence_level
        )
        data["availability"] = candidate_payload(avail)
        evidence.append(
            Evidence(
                source="metric-store",
                statement=(
                    f"availability {avail.attained:.5%} over {avail.total:,} requests in {history_days:.1f} days; "
                    f"10th percentile of {avail.method} "
                    f"{avail.rolling_percentiles.get('balanced', float('nan')):.5%}"
                ),
                value=avail.attained,
            )
        )
        if avail.trend_per_week is not None and abs(avail.trend_per_week) > 1e-5:
            direction = "worsening" if avail.trend_per_week > 0 else "improving"
            evidence.append(
                Evidence(
                    source="metric-store",
                    statement=f"error ratio {direction} by {abs(avail.trend_per_week):.4%} points per week",
                    value=avail.trend_per_week,
                )
            )
        if SLIKind.LATENCY in slis:
            by_threshold = latency_candidates(
                series, window, history_days=history_days, confidence_level=self._config.confidence_level
            )
            lat = pick_latency(by_threshold, self._config.latency_objective)
            if lat is not None:
                data["latency"] = candidate_payload(lat)
                data["latency_by_threshold"] = [candidate_payload(c) for c in by_threshold]
                evidence.append(
                    Evidence(
                        source="metric-store",
                        statement=f"{lat.attained:.4%} of {lat.total:,} requests at or under {lat.threshold_ms:g} ms",
                        value=lat.attained,
                    )
                )
            else:
                data["latency"] = None
                evidence.append(Evidence(source="metric-store", statement="no latency histogram recorded"))
        score, reasons = confidence_score(avail.total, avail.option("balanced").target, history_days, window)
        return AgentFinding(
            agent="metric",
            service=service,
            summary=f"{service}: availability {avail.attained:.4%} over {history_days:.1f} days",
            evidence=evidence,
            self_evaluation=SelfEvaluation(confidence=score, reasons=reasons or ["ample traffic and full history"]),
            data=data,
        )
