"""What agents hand each other: plans, findings with evidence and self-evaluation, review verdicts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.models.slo import SLIKind

AgentName = Literal["master", "metric", "relationship", "runbook", "reviewer", "safety", "context"]


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str = Field(description="where it came from: metric store, graph, runbook path, policy ...")
    statement: str
    value: float | None = None
    ref: str | None = Field(default=None, description="a link or path a reader can follow")


class SelfEvaluation(BaseModel):
    """An agent's own judgement of how far its finding can be trusted."""

    model_config = ConfigDict(frozen=True)

    confidence: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)


class AgentFinding(BaseModel):
    agent: AgentName
    service: str
    summary: str
    evidence: list[Evidence] = Field(default_factory=list)
    self_evaluation: SelfEvaluation
    data: dict[str, Any] = Field(default_factory=dict, description="typed payload, validated by the consumer")
    failed: bool = Field(default=False, description="the agent failed; this is a placeholder finding")


class ServicePlan(BaseModel):
    service: str
    slis: list[SLIKind]
    tier: int | None = None
    notes: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """The Master agent's plan: which services and SLIs, and what each discovery agent must look at."""

    services: list[ServicePlan]
    window_days: int
    rationale: str = ""


class ReviewVerdict(BaseModel):
    service: str
    sli: SLIKind
    proposed_target: float
    reviewed_target: float
    adjustments: list[str] = Field(default_factory=list)
    follow_up: str | None = Field(default=None, description="one follow-up request back to a discovery agent")

    @property
    def lowered(self) -> bool:
        return self.reviewed_target < self.proposed_target
