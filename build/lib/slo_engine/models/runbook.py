"""Runbook documents, chunks, extracted resolutions and retrieval hits."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Resolution(BaseModel):
    """A fix extracted from a runbook section (by the small model or the rule-based fallback)."""

    symptoms: list[str] = Field(default_factory=list, description="alert names or symptoms")
    services: list[str] = Field(default_factory=list)
    likely_cause: str = ""
    fix_steps: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)
    minutes_to_mitigate: float | None = Field(default=None, ge=0)


class RunbookChunk(BaseModel):
    repository: str = "local"
    path: str
    heading: str
    text: str
    chunk_index: int = 0
    services: list[str] = Field(default_factory=list)
    resolution: Resolution | None = None
    link: str | None = Field(default=None, description="the source at its commit (GitHub / Bitbucket web URL)")

    @property
    def key(self) -> str:
        return f"{self.repository}:{self.path}#{self.chunk_index}"


class RunbookHit(BaseModel):
    path: str
    heading: str
    score: float
    resolution: Resolution | None = None
    repository: str = "local"
    link: str | None = None
    text: str = ""
