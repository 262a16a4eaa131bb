"""The discovery contracts: a registry entry as read, the inventory kept between polls, and the change events
(registered / changed / deregistered) that the poller publishes and the structural mapping consumes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from slo_engine.models.moments import in_utc

ChangeKind = Literal["registered", "changed", "deregistered"]
EVENT_SOURCE = "slo-engine.discovery"
DETAIL_TYPE = "ServiceChange"
REGISTRY_OWN_PREFIX = "AWS_"
"""Attributes Cloud Map sets per instance (AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT ...): not service metadata."""


class RegistryInstance(BaseModel):
    """One registered instance of a service and the attributes it was registered with."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    instance_id: str = Field(min_length=1)
    attributes: dict[str, str] = Field(default_factory=dict)


class RegistryEntry(BaseModel):
    """A service as the registry shows it now: service-level attributes plus its instances.

    ``name`` is the service's name in the dependency graph; ``service_id`` is the registry's own key.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    service_id: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=256)
    namespace: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    instances: tuple[RegistryInstance, ...] = ()

    @field_validator("instances", mode="after")
    @classmethod
    def _sorted_instances(cls, instances: tuple[RegistryInstance, ...]) -> tuple[RegistryInstance, ...]:
        return tuple(sorted(instances, key=lambda instance: instance.instance_id))

    def fingerprint(self) -> str:
        """A stable digest of what a change is judged on: name, namespace and merged attributes.

        Instance ids and the registry's own per-instance ``AWS_*`` attributes (addresses, ports) are left out:
        tasks coming and going is not a change of the service's structure.
        """
        canonical = json.dumps(
            {"name": self.name, "namespace": self.namespace, "attributes": self.merged_attributes()},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def merged_attributes(self) -> dict[str, str]:
        """Service attributes overlaid by the instance attributes whose instances agree on one value
        (``AWS_*`` registry attributes excluded)."""
        merged = dict(self.attributes)
        values: dict[str, set[str]] = {}
        for instance in self.instances:
            for key, value in instance.attributes.items():
                if not key.startswith(REGISTRY_OWN_PREFIX):
                    values.setdefault(key, set()).add(value)
        merged.update({key: next(iter(found)) for key, found in sorted(values.items()) if len(found) == 1})
        return merged


class RegistryProblem(BaseModel):
    """A registry entry that could not be read as a service (reported, never silently dropped)."""

    model_config = ConfigDict(frozen=True)

    reference: str = Field(description="where it was: namespace/service id, or instance id")
    problem: str


class RegistryReading(BaseModel):
    """One read of the whole registry: the services found and the entries that could not be used."""

    entries: list[RegistryEntry] = Field(default_factory=list)
    problems: list[RegistryProblem] = Field(default_factory=list)
    unreadable: list[str] = Field(
        default_factory=list, description="service ids seen but not readable: kept as they were, never deregistered"
    )


class ServiceChange(BaseModel):
    """One service registered, changed or deregistered between two polls (the event's ``detail``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: ChangeKind
    service: str = Field(min_length=1)
    service_id: str = Field(min_length=1)
    namespace: str = ""
    attributes: dict[str, str] = Field(default_factory=dict, description="current attributes (previous if removed)")
    previous_attributes: dict[str, str] | None = None
    fingerprint: str = ""
    detected_at: datetime

    @field_validator("detected_at", mode="after")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("detected_at must carry a time zone (UTC)")
        return in_utc(value)

    @property
    def idempotency_key(self) -> str:
        """Equal for the same change seen twice (retried publish, duplicated delivery)."""
        return f"{self.service_id}:{self.kind}:{self.fingerprint}"


class PollReport(BaseModel):
    """What one poll did: the changes published and the registry entries that were refused."""

    registered: int = 0
    changed: int = 0
    deregistered: int = 0
    unchanged: int = 0
    published: int = 0
    changes: list[ServiceChange] = Field(default_factory=list)
    problems: list[RegistryProblem] = Field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """The counts and problems, JSON-ready (what the poller Lambda returns)."""
        return {
            "registered": self.registered,
            "changed": self.changed,
            "deregistered": self.deregistered,
            "unchanged": self.unchanged,
            "published": self.published,
            "problems": [p.model_dump() for p in self.problems],
        }


class ExtractedDependency(BaseModel):
    """One dependency a reader (rules or a language model) found in a service's docs or config text.

    Validated before use: a name that is not a known service is rejected, never added to the graph.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    service: str = Field(min_length=1, max_length=256, description="the service depended upon")
    kind: Literal["hard", "soft"] = "hard"
    confidence: float = Field(default=0.5, ge=0, le=1)
    evidence: str = Field(default="", max_length=500, description="the words that support it")
