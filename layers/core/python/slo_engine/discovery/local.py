"""Discovery in one process (``slo-engine discover``): poll a registry reading against the local inventory and map
every change into the graph store at once, instead of through the event bus and one Lambda per change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from slo_engine.discovery.events import PollReport, RegistryReading, ServiceChange
from slo_engine.discovery.inventory import poll_registry
from slo_engine.discovery.mapping import MappingResult, StructuralMapper
from slo_engine.knowledge.service_documents import (
    DEFAULT_DOCUMENT_LIMIT,
    DEFAULT_DOCUMENT_MAX_CHARS,
    DOCUMENTS_CHANGED,
    ServiceDocumentsChanged,
)
from slo_engine.ports import InventoryStore, MetricStore, ServiceDocuments


class DiscoveryRun(BaseModel):
    """One local discovery: the poll's counts, each change, and what the mapping did with it."""

    poll: PollReport
    mapping: list[MappingResult] = Field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """What ``slo-engine discover --format json`` prints."""
        return {
            **self.poll.summary(),
            "changes": [{"kind": c.kind, "service": c.service, "namespace": c.namespace} for c in self.poll.changes],
            "mapping": [
                {
                    "service": m.service,
                    "change": m.change,
                    "dependencies": [
                        {"to": d.to, "from": d.from_, "kind": d.kind, "source": d.source, "confidence": d.confidence}
                        for d in m.dependencies
                    ],
                    "rejected": m.rejected,
                    "problems": m.problems,
                    "inactive_targets": m.inactive_targets,
                    "removed": m.removed,
                }
                for m in self.mapping
            ],
        }


class _CollectedChanges:
    """A ``ports.ChangePublisher`` that keeps the changes for the mapping that follows in the same process."""

    def __init__(self) -> None:
        self.changes: list[ServiceChange] = []

    def publish(self, changes: Sequence[ServiceChange]) -> int:
        self.changes.extend(changes)
        return len(changes)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def discover_once(
    reading: RegistryReading,
    inventory: InventoryStore,
    mapper: StructuralMapper,
    clock: Callable[[], datetime] = _utc_now,
    documents: ServiceDocuments | None = None,
) -> DiscoveryRun:
    """Poll, then map every change in order; the inventory is saved by the poll before any mapping runs. With a
    document store, each service's stored documents are read for declared URLs and by the reasoner."""
    collected = _CollectedChanges()
    report = poll_registry(reading, inventory, collected, clock=clock)

    def docs(change: ServiceChange) -> list[str] | None:
        if documents is None or change.kind == "deregistered":
            return None
        return documents.for_service(change.service, limit=DEFAULT_DOCUMENT_LIMIT, max_chars=DEFAULT_DOCUMENT_MAX_CHARS)

    return DiscoveryRun(
        poll=report,
        mapping=[mapper.apply_change(change, documents=docs(change)) for change in collected.changes],
    )


class RemapOnDocuments:
    """A ``ports.EventPublisher`` for one process (the local server): a ``Service Documents Changed`` event maps that
    service again at once, with its stored attributes, the calls observed in the metric store and its documents; what
    the AWS mapping Lambda does on the bus. Other events, and services unknown or inactive, are kept in ``skipped``."""

    def __init__(self, mapper: StructuralMapper, documents: ServiceDocuments, metrics: MetricStore | None = None):
        self.mapper = mapper
        self.documents = documents
        self.metrics = metrics
        self.results: list[MappingResult] = []
        self.skipped: list[str] = []

    def publish(self, detail_type: str, detail: dict[str, object]) -> None:
        if detail_type != DOCUMENTS_CHANGED:
            self.skipped.append(f"{detail_type}: not a documents change")
            return
        changed = ServiceDocumentsChanged.model_validate(detail)
        node = next((n for n in self.mapper.graph.services() if n.name == changed.service), None)
        if node is None or not node.active:
            self.skipped.append(f"{changed.service}: {'unknown' if node is None else 'inactive'}; not mapped")
            return
        observed = self.metrics.edges(changed.service) if self.metrics is not None else []
        documents = self.documents.for_service(
            changed.service, limit=DEFAULT_DOCUMENT_LIMIT, max_chars=DEFAULT_DOCUMENT_MAX_CHARS
        )
        result = self.mapper.map_service(
            changed.service, attributes=node.attributes, observed=observed, documents=documents
        )
        result.change = "documents"
        self.results.append(result)
