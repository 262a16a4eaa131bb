"""Prometheus rules for approved SLOs: error-ratio recording rules per burn-rate window and the multiwindow,
multi-burn-rate page and ticket alerts, all derived from ``slo.burn_rate``'s table (no factor is typed here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from slo_engine.exports.metric_names import MetricNames
from slo_engine.models import AlertRule, Recommendation, SLIKind
from slo_engine.slo.burn_rate import alert_rules

RECORDING_PREFIX = "slo:sli_error:ratio_rate"


def window_label(minutes: int) -> str:
    """Prometheus duration for a window: 5m, 1h, 1d, 3d."""
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def slo_name(rec: Recommendation) -> str:
    """A stable, label-safe name: ``payments-availability``, ``payments-latency-300ms``."""
    base = f"{rec.service}-{rec.sli.value}"
    if rec.sli is SLIKind.LATENCY and rec.threshold_ms is not None:
        base += f"-{rec.threshold_ms:g}ms"
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", base).lower()


def _labels(rec: Recommendation) -> dict[str, str]:
    return {"slo_service": rec.service, "slo_sli": rec.sli.value, "slo_name": slo_name(rec), "slo_id": rec.id}


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items() if k in ("slo_name", "slo_id"))


def _group(rec: Recommendation, names: MetricNames) -> dict[str, Any]:
    rules_table: list[AlertRule] = alert_rules(rec.window_days)
    labels = _labels(rec)
    windows = sorted({m for r in rules_table for m in (r.long_window_minutes, r.short_window_minutes)})
    recording: list[dict[str, Any]] = []
    for minutes in windows:
        label = window_label(minutes)
        good, total = names.good_and_total(rec.service, rec.sli.value, rec.threshold_ms, label)
        recording.append(
            {"record": f"{RECORDING_PREFIX}{label}", "expr": f"1 - ({good} / {total})", "labels": dict(labels)}
        )
    recording.append({"record": "slo:objective:ratio", "expr": f"vector({rec.target!r})", "labels": dict(labels)})
    recording.append(
        {"record": "slo:error_budget:ratio", "expr": f"vector(1 - {rec.target!r})", "labels": dict(labels)}
    )
    budget = 1.0 - rec.target
    alerts: list[dict[str, Any]] = []
    for severity in ("page", "ticket"):
        clauses = []
        for rule in (r for r in rules_table if r.severity == severity):
            threshold = f"({rule.factor:.6g} * {budget:.6g})"
            long_w, short_w = window_label(rule.long_window_minutes), window_label(rule.short_window_minutes)
            sel = _selector(labels)
            long_ratio, short_ratio = f"{RECORDING_PREFIX}{long_w}{{{sel}}}", f"{RECORDING_PREFIX}{short_w}{{{sel}}}"
            clauses.append(f"({long_ratio} > {threshold} and {short_ratio} > {threshold})")
        what = "fast" if severity == "page" else "slow"
        alerts.append(
            {
                "alert": f"SLOErrorBudgetBurn{severity.capitalize()}",
                "expr": "\n or ".join(clauses),
                "labels": {**labels, "severity": severity},
                "annotations": {
                    "summary": f"{rec.service} {rec.sli.value} SLO ({rec.target:.4%} over {rec.window_days}d) "
                    f"is burning its error budget {what}",
                    "description": "Multiwindow multi-burn-rate alert (Google SRE workbook table, slo-engine).",
                },
            }
        )
    return {"name": f"slo-engine-{slo_name(rec)}", "rules": [*recording, *alerts]}


def prometheus_rules(recs: Sequence[Recommendation], names: MetricNames | None = None) -> dict[str, Any]:
    """One rule group per SLO (recording rules, then the page and ticket alerts)."""
    names = names or MetricNames()
    return {"groups": [_group(rec, names) for rec in recs]}


def prometheus_rules_yaml(recs: Sequence[Recommendation], names: MetricNames | None = None) -> str:
    return yaml.safe_dump(prometheus_rules(recs, names), sort_keys=False, width=1000)
