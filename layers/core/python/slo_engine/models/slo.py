"""SLI and SLO specifications, target options, budgets, backtests and recommendations."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from slo_engine.models.moments import in_utc


def utcnow() -> datetime:
    return datetime.now(UTC)


class SLIKind(StrEnum):
    AVAILABILITY = "availability"
    LATENCY = "latency"


class RecommendationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SLISpec(BaseModel):
    """What is measured: good events over valid events."""

    model_config = ConfigDict(frozen=True)

    kind: SLIKind
    threshold_ms: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _threshold_for_latency(self) -> SLISpec:
        if self.kind is SLIKind.LATENCY and self.threshold_ms is None:
            raise ValueError("a latency SLI needs threshold_ms")
        if self.kind is SLIKind.AVAILABILITY and self.threshold_ms is not None:
            raise ValueError("an availability SLI takes no threshold_ms")
        return self


class SLOSpec(BaseModel):
    """A target for an SLI over a rolling window."""

    model_config = ConfigDict(frozen=True)

    service: str
    sli: SLISpec
    target: float = Field(gt=0, lt=1)
    window_days: int = Field(ge=1, le=366)

    @property
    def error_budget(self) -> float:
        return 1.0 - self.target


class TargetOption(BaseModel):
    """One of the three candidate targets (conservative, balanced, aggressive)."""

    model_config = ConfigDict(frozen=True)

    name: Literal["conservative", "balanced", "aggressive"]
    target: float
    percentile: float = Field(description="percentile of rolling-window attainment it came from")
    attainment_at_percentile: float


class AlertRule(BaseModel):
    """One multiwindow, multi-burn-rate alert rule (derived from the burn-rate table)."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["page", "ticket"]
    budget_consumed: float
    long_window_minutes: int
    short_window_minutes: int
    factor: float


class AlertFiring(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Literal["page", "ticket"]
    long_window_minutes: int
    started_at: datetime
    ended_at: datetime


class BacktestResult(BaseModel):
    """What a candidate target would have meant over the history given."""

    target: float
    window_days: int
    windows_evaluated: int
    windows_breached: int
    budget_consumed: list[float] = Field(description="share of error budget consumed per evaluated window")
    worst_budget_consumed: float
    page_alerts: int
    ticket_alerts: int
    alerts: list[AlertFiring] = Field(default_factory=list)
    excluded_minutes: int = 0


class ExclusionWindow(BaseModel):
    """A maintenance (or otherwise excused) period, [start, end), left out of SLIs and backtests."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    reason: str = ""

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("exclusion window times must carry a UTC offset (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
        return in_utc(value)

    @model_validator(mode="after")
    def _start_before_end(self) -> ExclusionWindow:
        if self.end <= self.start:
            raise ValueError(
                f"exclusion window end ({self.end.isoformat()}) must be after start ({self.start.isoformat()})"
            )
        return self


class Recommendation(BaseModel):
    """One recommended SLO for one (service, SLI): the engine's public output."""

    model_config = ConfigDict(extra="forbid")

    id: str
    service: str
    sli: SLIKind
    target: float
    window_days: int
    threshold_ms: float | None = None
    attained: float | None = Field(description="the SLI over the whole history given")
    events: int
    history_days: float
    confidence: float = Field(ge=0, le=1)
    dependency_ceiling: float | None = None
    capped_by: str | None = None
    status: RecommendationStatus = RecommendationStatus.PENDING
    risks: list[str] = Field(default_factory=list)
    rationale: str = ""
    options: list[TargetOption] = Field(default_factory=list)
    backtest: BacktestResult | None = None
    error_budget_events: float | None = Field(default=None, description="bad events the target allows per window")
    alert_rules: list[AlertRule] = Field(default_factory=list)
    decided_by: str | None = None
    decision_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    def public(self) -> dict[str, object]:
        """The CLI's JSON shape (a stable contract; extra fields may be added, never renamed)."""
        return self.model_dump(mode="json")
