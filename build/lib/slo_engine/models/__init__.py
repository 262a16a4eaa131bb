"""Pydantic contracts shared by every stage (one place each)."""

from slo_engine.models.approval import ApprovalDecision, ApprovalRequest, ContextEntry, FeedbackRecord
from slo_engine.models.findings import AgentFinding, Evidence, Plan, ReviewVerdict, SelfEvaluation, ServicePlan
from slo_engine.models.graph import Dependency, ServiceGraph, ServiceNode
from slo_engine.models.runbook import Resolution, RunbookChunk, RunbookHit
from slo_engine.models.slo import (
    AlertFiring,
    AlertRule,
    BacktestResult,
    ExclusionWindow,
    Recommendation,
    RecommendationStatus,
    SLIKind,
    SLISpec,
    SLOSpec,
    TargetOption,
)
from slo_engine.models.snapshot import (
    DEFAULT_LATENCY_BOUNDS_MS,
    EdgeCounts,
    LatencyHistogram,
    RawEvent,
    ServiceSnapshot,
)

__all__ = [
    "DEFAULT_LATENCY_BOUNDS_MS",
    "AgentFinding",
    "AlertFiring",
    "AlertRule",
    "ApprovalDecision",
    "ApprovalRequest",
    "BacktestResult",
    "ContextEntry",
    "Dependency",
    "EdgeCounts",
    "Evidence",
    "ExclusionWindow",
    "FeedbackRecord",
    "LatencyHistogram",
    "Plan",
    "RawEvent",
    "Recommendation",
    "RecommendationStatus",
    "Resolution",
    "ReviewVerdict",
    "RunbookChunk",
    "RunbookHit",
    "SLIKind",
    "SLISpec",
    "SLOSpec",
    "SelfEvaluation",
    "ServiceGraph",
    "ServiceNode",
    "ServicePlan",
    "ServiceSnapshot",
    "TargetOption",
]
