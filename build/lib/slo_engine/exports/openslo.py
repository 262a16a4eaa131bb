"""OpenSLO v1 documents for approved SLOs: one ``Service`` per service and one ``SLO`` (inline ratio indicator over
Prometheus counters, rolling window, Occurrences budgeting) per (service, SLI).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from slo_engine.exports.metric_names import MetricNames
from slo_engine.exports.prometheus_rules import slo_name
from slo_engine.models import Recommendation, SLIKind

API_VERSION = "openslo/v1"
RATE_WINDOW = "5m"


def dns_name(text: str) -> str:
    """RFC 1123 label: lowercase alphanumerics and '-', at most 63 characters, alphanumeric at both ends."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return cleaned[:63].strip("-") or "slo"


def _metric(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def slo_document(rec: Recommendation, names: MetricNames | None = None) -> dict[str, Any]:
    names = names or MetricNames()
    good, total = names.good_and_total(rec.service, rec.sli.value, rec.threshold_ms, RATE_WINDOW)
    what = (
        f"share of requests at or under {rec.threshold_ms:g} ms"
        if rec.sli is SLIKind.LATENCY and rec.threshold_ms is not None
        else "share of requests that succeed"
    )
    name = dns_name(slo_name(rec).replace(".", "-"))
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {
            "name": name,
            "displayName": f"{rec.service} {rec.sli.value}",
            "annotations": {
                "slo-engine/recommendation-id": rec.id,
                "slo-engine/approved-by": rec.decided_by or "",
                "slo-engine/confidence": f"{rec.confidence:.3f}",
            },
        },
        "spec": {
            "description": (rec.rationale or f"{rec.service}: {what}")[:1000],
            "service": dns_name(rec.service),
            "indicator": {
                "metadata": {"name": dns_name(f"{name}-sli"), "displayName": what},
                "spec": {"ratioMetric": {"counter": True, "good": _metric(good), "total": _metric(total)}},
            },
            "timeWindow": [{"duration": f"{rec.window_days}d", "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"displayName": f"{rec.target:.4%} {what}", "target": rec.target}],
        },
    }


def openslo_documents(recs: Sequence[Recommendation], names: MetricNames | None = None) -> list[dict[str, Any]]:
    services = sorted({r.service for r in recs})
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": "Service",
            "metadata": {"name": dns_name(s), "displayName": s},
            "spec": {"description": f"{s} (SLOs recommended by slo-engine and approved by a human)"},
        }
        for s in services
    ]
    docs += [slo_document(r, names) for r in recs]
    return docs


def openslo_yaml(recs: Sequence[Recommendation], names: MetricNames | None = None) -> str:
    """All documents as one multi-document YAML stream."""
    return yaml.safe_dump_all(openslo_documents(recs, names), sort_keys=False, width=1000)
