"""Approval requests, human decisions, feedback and the Context Manager's Q&A records."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from slo_engine.models.slo import utcnow


class ApprovalRequest(BaseModel):
    id: str
    recommendation_ids: list[str]
    summary: str
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None


class ApprovalDecision(BaseModel):
    recommendation_id: str
    approved: bool
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=4000)
    at: datetime = Field(default_factory=utcnow)


class FeedbackRecord(BaseModel):
    service: str
    recommendation_id: str | None = None
    by: str = Field(default="anonymous", max_length=200)
    kind: Literal["too_strict", "too_loose", "wrong_dependency", "comment"] = "comment"
    text: str = Field(default="", max_length=4000)
    at: datetime = Field(default_factory=utcnow)


class ContextEntry(BaseModel):
    """One remembered exchange about a service: a question and its answer, or a decision."""

    service: str
    question: str
    answer: str
    at: datetime = Field(default_factory=utcnow)
