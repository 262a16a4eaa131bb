"""Approval records: one pending request per workflow execution, and the human decision that closes it.

The task token lives only in the stored record; links and messages carry the opaque ``approval_id``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from slo_engine.models.slo import utcnow

Action = Literal["approve", "reject"]


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def new_approval_id() -> str:
    """An opaque, unguessable id (128 random bits): never derived from the task token."""
    return "apr-" + secrets.token_hex(16)


class PendingApproval(BaseModel):
    """A workflow waiting for a human: what to decide, and where to send the answer (the task token)."""

    approval_id: str = Field(default_factory=new_approval_id, pattern=r"^apr-[0-9a-f]{32}$")
    execution_id: str = Field(min_length=1, max_length=2048)
    task_token: str = Field(min_length=1, max_length=8192, repr=False)
    recommendation_ids: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    summary: str = Field(default="", max_length=100_000)
    needs_named_approver: bool = False
    status: ApprovalStatus = ApprovalStatus.PENDING
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    decided_by: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    decided_from: str | None = Field(default=None, description="channel and client (email link, slack, ip)")


class HumanDecision(BaseModel):
    """What a person submitted: approve or reject, who they are and why."""

    action: Action
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=4000)
    channel: Literal["link", "slack", "cli"] = "link"
    client: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=utcnow)
