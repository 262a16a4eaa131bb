"""The graph file format and the dependency model (services, hard and soft edges)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DependencyKind = Literal["hard", "soft"]


class ServiceNode(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=256)
    tier: int | None = Field(default=None, ge=0, le=5)
    active: bool = True
    attributes: dict[str, str] = Field(default_factory=dict)


class Dependency(BaseModel):
    """``from_`` calls ``to``. Hard: synchronous and critical (its failure fails the caller)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    kind: DependencyKind = "hard"
    source: str = "declared"
    confidence: float = Field(default=1.0, ge=0, le=1)
    last_seen: datetime | None = None


class ServiceGraph(BaseModel):
    """The graph file: ``{"services": [...], "dependencies": [{"from", "to", "kind"}]}``."""

    model_config = ConfigDict(extra="ignore")

    services: list[ServiceNode] = Field(default_factory=list)
    dependencies: list[Dependency] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_services(self) -> ServiceGraph:
        names = {s.name for s in self.services}
        if len(names) != len(self.services):
            seen: set[str] = set()
            dupes = sorted({s.name for s in self.services if s.name in seen or seen.add(s.name)})  # type: ignore[func-returns-value]
            raise ValueError(f"services listed twice: {', '.join(dupes)}")
        for i, dep in enumerate(self.dependencies):
            for end in (dep.from_, dep.to):
                if end not in names:
                    raise ValueError(f"dependencies[{i}] names unknown service {end!r}")
        return self

    def tiers(self) -> dict[str, int | None]:
        return {s.name: s.tier for s in self.services}
