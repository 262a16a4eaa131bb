"""Engine settings: one pydantic model, read from the environment (``SLO_ENGINE_*``) or given directly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class EngineConfig(BaseModel):
    window_days: int = Field(default=28, ge=1, le=366, description="SLO window (rolling days)")
    min_events_per_window: int = Field(default=1000, ge=0, description="below this, confidence drops")
    latency_objective: float = Field(default=0.99, description="share of fast requests the latency SLI aims for")
    runbook_hits: int = Field(default=3, ge=1, le=20)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    max_context_entries: int = Field(default=12, ge=0, description="Context Manager bound on remembered items")
    max_context_chars: int = Field(default=6000, ge=500, description="Context Manager bound on text handed over")
    observed_edge_max_age_days: float = Field(
        default=14,
        gt=0,
        description="an observed dependency whose calls were last seen this long before the freshest one is stale",
    )
    data_dir: Path = Field(default=Path(".slo-engine"))
    graph_store: Literal["sqlite", "cypher"] = Field(
        default="sqlite", description="embedded graph store: SQLite, or the embedded Cypher database (needs ladybug)"
    )

    @classmethod
    def from_env(cls, **overrides: object) -> EngineConfig:
        values: dict[str, object] = {}
        for name in cls.model_fields:
            env = os.environ.get(f"SLO_ENGINE_{name.upper()}")
            if env is not None:
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
