"""The 10-second service snapshot: the contract between the Flink job and everything downstream.

One snapshot is one window of one service. Counts, never ratios or percentiles, so that
snapshots merge exactly across time, pods and windows.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from slo_engine.models.moments import in_utc

DEFAULT_LATENCY_BOUNDS_MS: tuple[float, ...] = (
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
)
"""Histogram bucket bounds (milliseconds) used by the sidecars, the Flink job and the synthetic fleet."""

SNAPSHOT_WINDOW_SECONDS = 10


class LatencyHistogram(BaseModel):
    """Cumulative-free latency histogram.

    ``counts[i]`` counts requests slower than ``bounds[i-1]`` and at most ``bounds[i]``;
    the last entry counts requests slower than every bound.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    bounds: list[float] = Field(min_length=1)
    counts: list[int]

    @field_validator("bounds")
    @classmethod
    def _ascending(cls, bounds: list[float]) -> list[float]:
        if any(b <= 0 for b in bounds):
            raise ValueError("latency bounds must be positive milliseconds")
        if any(b2 <= b1 for b1, b2 in itertools.pairwise(bounds)):
            raise ValueError("latency bounds must be strictly ascending")
        return bounds

    @field_validator("counts")
    @classmethod
    def _non_negative(cls, counts: list[int]) -> list[int]:
        if any(c < 0 for c in counts):
            raise ValueError("latency counts must not be negative")
        return counts

    @model_validator(mode="after")
    def _one_more_count_than_bounds(self) -> LatencyHistogram:
        if len(self.counts) != len(self.bounds) + 1:
            raise ValueError(
                f"latency counts must have one more entry than bounds "
                f"({len(self.bounds) + 1} expected, {len(self.counts)} given)"
            )
        return self

    @property
    def total(self) -> int:
        return sum(self.counts)


class EdgeCounts(BaseModel):
    """Calls over one edge (to a downstream or from an upstream service) in one window."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    requests: int = Field(ge=0)
    errors: int = Field(ge=0)

    @model_validator(mode="after")
    def _errors_within_requests(self) -> EdgeCounts:
        if self.errors > self.requests:
            raise ValueError(f"edge errors ({self.errors}) exceed requests ({self.requests})")
        return self


class ServiceSnapshot(BaseModel):
    """One window of one service, as folded by the Flink job (or the embedded aggregator)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    service: str = Field(min_length=1, max_length=256)
    window_start: datetime
    window_seconds: int = Field(default=SNAPSHOT_WINDOW_SECONDS, gt=0, le=86400)
    requests: int = Field(ge=0)
    errors: int = Field(ge=0)
    latency_ms: LatencyHistogram | None = None
    upstream: dict[str, EdgeCounts] = Field(default_factory=dict)
    downstream: dict[str, EdgeCounts] = Field(default_factory=dict)
    # Derived fields the Flink job also writes; recomputed, never trusted, on the way in.
    error_pct: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    @field_validator("window_start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("window_start must carry a UTC offset (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
        return in_utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> ServiceSnapshot:
        if self.errors > self.requests:
            raise ValueError(f"errors ({self.errors}) exceed requests ({self.requests})")
        if int(self.window_start.timestamp()) % self.window_seconds != 0:
            raise ValueError(
                f"window_start {self.window_start.isoformat()} is not aligned to a {self.window_seconds}-second window"
            )
        return self

    @property
    def epoch_seconds(self) -> int:
        return int(self.window_start.timestamp())


class RawEvent(BaseModel):
    """One edge-reduced request record, as the sidecar sends it to the stream.

    ``peer`` names the downstream service called (a client span) or is empty for a
    request served by ``service`` itself (a server span).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    service: str = Field(min_length=1, max_length=256)
    timestamp: datetime
    duration_ms: float = Field(ge=0)
    error: bool = False
    peer: str | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a UTC offset")
        return in_utc(value)
