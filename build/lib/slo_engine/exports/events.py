"""The ``SLOApproved`` domain event: what downstream systems (dashboards, alert managers) need about a new SLO."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slo_engine.models import Recommendation, RecommendationStatus
from slo_engine.ports import EventPublisher

SLO_APPROVED = "SLOApproved"


def slo_approved_detail(rec: Recommendation) -> dict[str, Any]:
    return {
        "recommendation_id": rec.id,
        "service": rec.service,
        "sli": rec.sli.value,
        "target": rec.target,
        "window_days": rec.window_days,
        "threshold_ms": rec.threshold_ms,
        "approved_by": rec.decided_by,
        "reason": rec.decision_reason,
        "confidence": rec.confidence,
        "alert_rules": [r.model_dump(mode="json") for r in rec.alert_rules],
    }


def publish_approved(events: EventPublisher, recs: Sequence[Recommendation]) -> int:
    """One ``SLOApproved`` per approved recommendation; returns how many were published."""
    published = 0
    for rec in recs:
        if rec.status == RecommendationStatus.APPROVED:
            events.publish(SLO_APPROVED, slo_approved_detail(rec))
            published += 1
    return published
