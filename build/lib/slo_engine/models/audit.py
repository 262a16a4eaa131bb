"""Audit events: who changed what, and when, through the API (append-only; one record per state change)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.models.slo import utcnow

ActorKind = Literal["integration", "person", "system"]


class AuditEvent(BaseModel):
    """One state-changing action: the actor (a signed integration, a signed-in person or the system), the action,
    the service and object it touched, and when. Stored append-only; never updated or deleted."""

    model_config = ConfigDict(frozen=True)

    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(min_length=1, max_length=400, description="IAM ARN, access key's team, or user name")
    actor_kind: ActorKind
    action: str = Field(min_length=1, max_length=100, description="e.g. recommendation.start, feedback.submit")
    service: str = Field(default="*", max_length=200, description="the service touched; '*' for fleet-wide runs")
    target_id: str | None = Field(default=None, max_length=200, description="run, recommendation or approval id")
    detail: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None
    source_ip: str | None = None
