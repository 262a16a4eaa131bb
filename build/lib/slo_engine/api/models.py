"""Pydantic request and response models of the REST API: the one source of the OpenAPI document's schemas.

Requests forbid unknown fields, so a typo is a clear 422, never a silently ignored option.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from slo_engine.models import AgentFinding, Recommendation, SLIKind
from slo_engine.models.audit import ActorKind
from slo_engine.models.slo import ExclusionWindow

ServiceName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
ResourceId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
RunStatus = Literal["running", "awaiting_approval", "finalized", "rejected", "failed"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Caller(BaseModel):
    """Who is calling, as the authenticator established it (IAM ARN, Cognito user, local session or access key)."""

    kind: ActorKind
    id: str = Field(min_length=1, max_length=400)
    source_ip: str | None = None
    request_id: str | None = None


class StartRecommendationRequest(_Request):
    services: list[ServiceName] = Field(default_factory=list, max_length=500, description="all known when empty")
    slis: list[SLIKind] = Field(
        default_factory=lambda: [SLIKind.AVAILABILITY, SLIKind.LATENCY], min_length=1, max_length=2
    )
    window_days: int | None = Field(default=None, ge=1, le=366)
    exclusions: list[ExclusionWindow] = Field(default_factory=list, max_length=50)


class RunAccepted(BaseModel):
    id: str
    status: RunStatus
    location: str = Field(description="where to poll: GET /recommendations/{id}")


class RecommendationView(BaseModel):
    """A workflow run (or one recommendation): status, findings, review, pre-approval summary and result."""

    id: str
    kind: Literal["run", "recommendation"]
    status: RunStatus
    requested_by: str | None = None
    created_at: datetime | None = None
    services: list[str] = Field(default_factory=list)
    states: list[str] = Field(default_factory=list, description="states taken, in order")
    findings: list[AgentFinding] = Field(default_factory=list)
    review: list[dict[str, Any]] = Field(default_factory=list)
    summary: str | None = Field(default=None, description="the pre-approval summary")
    result: dict[str, Any] | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
    error: str | None = None


class SloHistoryItem(BaseModel):
    id: str
    sli: SLIKind
    target: float
    threshold_ms: float | None = None
    window_days: int
    status: str
    decided_by: str | None = None
    decision_reason: str | None = None
    created_at: datetime


class ServiceSlos(BaseModel):
    service: str
    approved: list[Recommendation] = Field(description="the newest approved SLO per SLI")
    history: list[SloHistoryItem] = Field(description="every recommendation for the service, newest first")


class FeedbackRequest(_Request):
    kind: Literal["too_strict", "too_loose", "wrong_dependency", "comment"] = "comment"
    text: str = Field(min_length=1, max_length=4000)


class FeedbackAccepted(BaseModel):
    recommendation_id: str
    service: str
    kind: str
    by: str
    recorded_at: datetime


class ConverseRequest(_Request):
    service: ServiceName
    question: str = Field(min_length=1, max_length=2000)
    recommendation_id: ResourceId | None = None


class ConverseResponse(BaseModel):
    service: str
    question: str
    answer: str
    asked_by: str
    sources: list[str] = Field(description="what the answer was built from")


class DecisionRequest(_Request):
    approve: bool
    reason: str = Field(default="", max_length=4000)


class DecisionRecorded(BaseModel):
    recommendation: Recommendation


class ErrorBody(BaseModel):
    message: str
    details: list[str] = Field(default_factory=list)
