"""Structural mapping: one service's dependency edges from (a) traffic observed in snapshots, (b) declared
metadata (registry attributes, Backstage ``dependsOn``, ``NAME_URL=...``) and (c) the reasoner's reading of its
docs and config, each edge carrying its source, confidence, kind and last-seen time, written to the graph store.

Nothing is trusted blindly: unknown names from docs, self-loops and malformed answers are refused and reported;
edges to a deregistered service are kept (history) and reported. A deregistered service is marked inactive.
An edge that a source read in this run no longer reports is removed, and reported; a source not read this run
(or a reasoner that failed) leaves its edges alone, and observed edges are never removed here: they carry the time
their calls were last seen, and the Relationship Discovery agent stops counting one that traffic has not shown for
``EngineConfig.observed_edge_max_age_days`` (``agents/relationship.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from slo_engine.discovery.declared import (
    DeclaredDependency,
    DeclaredReading,
    from_catalog_info,
    from_env_text,
    from_registry_attributes,
)
from slo_engine.discovery.events import ServiceChange
from slo_engine.discovery.extraction import validate_extracted
from slo_engine.discovery.naming import ServiceNames
from slo_engine.models.graph import Dependency, ServiceNode
from slo_engine.ports import EdgeTotals, GraphStore, Reasoner

SOURCE_CONFIDENCE = {"observed": 1.0, "registry": 0.9, "catalog": 0.9, "env": 0.8}
"""How far each source is trusted; the reasoner's own confidence (at most ``MAX_DOCS_CONFIDENCE``) for docs."""
MAX_DOCS_CONFIDENCE = 0.7
TIER_ATTRIBUTES = ("tier", "slo-engine:tier")


class MappingResult(BaseModel):
    """What the mapping wrote for one service and everything it refused, with the reason."""

    service: str
    change: str | None = None
    active: bool = True
    dependencies: list[Dependency] = Field(default_factory=list, description="edges written (one per source)")
    rejected: list[str] = Field(default_factory=list, description="names or edges refused, with why")
    problems: list[str] = Field(default_factory=list, description="input that could not be read")
    inactive_targets: list[str] = Field(
        default_factory=list, description="deregistered services this one still depends on"
    )
    remapped: list[str] = Field(
        default_factory=list, description="services mapped again because they declared this newly registered one"
    )
    removed: list[str] = Field(
        default_factory=list, description="edges of this service removed because their source no longer reports them"
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StructuralMapper:
    """Builds and stores dependency edges for one service at a time, behind the graph and reasoner ports."""

    def __init__(
        self, graph: GraphStore, reasoner: Reasoner | None = None, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._graph = graph
        self._reasoner = reasoner
        self._clock = clock

    @property
    def graph(self) -> GraphStore:
        return self._graph

    def apply_change(
        self,
        change: ServiceChange,
        *,
        observed: Sequence[EdgeTotals] = (),
        catalog_info: str | None = None,
        documents: Sequence[str] | None = None,
    ) -> MappingResult:
        """Registered/changed: store the service (active) and map its edges. Deregistered: mark it inactive,
        keeping it and its edges as history."""
        if change.kind == "deregistered":
            return self.deregister(change.service)
        tier, problems = tier_from_attributes(change.attributes)
        self._graph.upsert_services([ServiceNode(name=change.service, tier=tier, attributes=change.attributes)])
        result = self.map_service(
            change.service,
            attributes=change.attributes,
            observed=observed,
            catalog_info=catalog_info,
            documents=documents,
        )
        result.change = change.kind
        result.problems[:0] = problems
        if change.kind == "registered":
            result.remapped = self._remap_dependents_declaring(change.service)
        return result

    def _remap_dependents_declaring(self, service: str) -> list[str]:
        """Services whose registry attributes name ``service``, mapped again now that it exists: changes arrive one
        by one and in any order, so a dependency declared before its target registered is not lost."""
        names = ServiceNames([service])
        remapped = []
        for node in self._graph.services():
            if node.name == service or not node.active or not node.attributes:
                continue
            declared = from_registry_attributes(node.attributes).dependencies
            if any(_resolve(names, dependency) == service for dependency in declared):
                self.map_service(node.name, attributes=node.attributes)
                remapped.append(node.name)
        return remapped

    def deregister(self, service: str) -> MappingResult:
        stored = {node.name: node for node in self._graph.services()}
        node = stored.get(service)
        result = MappingResult(service=service, change="deregistered", active=False)
        if node is None:
            result.problems.append(f"{service!r} was never in the graph; nothing to mark inactive")
            return result
        if node.active:
            self._graph.upsert_services([node.model_copy(update={"active": False})])
        callers = sorted(
            {
                d.from_
                for d in self._graph.dependencies()
                if d.to == service and d.from_ != service and d.from_ in stored and stored[d.from_].active
            }
        )
        if callers:
            result.problems.append(f"still called by active services: {', '.join(callers)}")
        return result

    def map_service(
        self,
        service: str,
        *,
        attributes: dict[str, str] | None = None,
        observed: Sequence[EdgeTotals] = (),
        catalog_info: str | None = None,
        documents: Sequence[str] | None = None,
    ) -> MappingResult:
        """Edges of ``service`` from every source given, validated, written with ``upsert_dependencies``; its old
        edges from a source read here that did not report them again are removed with ``remove_dependencies``.

        A source counts as read when it was given: ``attributes`` not None (an empty dict declares nothing),
        ``catalog_info`` not None, ``documents`` not None for env URLs (an empty list: the service has no documents
        any more) and, for docs, a reasoner that answered every document with a list (a failure or a malformed
        answer says nothing about the docs). ``documents`` None: no document store was consulted."""
        now = self._clock()
        stored = {node.name: node for node in self._graph.services()}
        known = ServiceNames([*stored, service])
        result = MappingResult(service=service)
        edges: dict[tuple[str, str, str], Dependency] = {}

        def add(
            caller: str, callee: str, source: str, kind: str, confidence: float, seen: datetime | None = None
        ) -> None:
            if caller == callee:
                result.rejected.append(f"self-loop: {caller} -> {callee} ({source}); ignored")
                return
            key = (caller, callee, source)
            edge = Dependency.model_validate(
                {
                    "from": caller,
                    "to": callee,
                    "kind": kind,
                    "source": source,
                    "confidence": confidence,
                    "last_seen": seen or now,
                }
            )
            previous = edges.get(key)
            if previous is None or (edge.kind, edge.confidence) > (previous.kind, previous.confidence):
                edges[key] = edge

        for edge_totals in observed:  # (a) traffic: real calls, so names outside the registry are added too
            if edge_totals.requests <= 0:
                continue
            # An observed edge was last seen when its calls were (the ledger's time), not when it is mapped.
            seen = edge_totals.last_seen
            if edge_totals.direction == "downstream":
                add(edge_totals.service, edge_totals.peer, "observed", "hard", SOURCE_CONFIDENCE["observed"], seen)
            elif edge_totals.direction == "upstream":
                add(edge_totals.peer, edge_totals.service, "observed", "hard", SOURCE_CONFIDENCE["observed"], seen)
            else:
                result.problems.append(f"observed edge with unknown direction {edge_totals.direction!r}; ignored")

        readings: list[DeclaredReading] = []  # (b) declared metadata
        read: set[str] = set()  # the sources whose silence now means "no such dependency"
        if attributes is not None:
            readings.append(from_registry_attributes(attributes))
            read.add("registry")
        if catalog_info is not None:
            readings.append(from_catalog_info(catalog_info, service))
            read.add("catalog")
        if documents is not None:
            read.add("env")
            readings.extend(from_env_text(document) for document in documents)
        for reading in readings:
            result.problems.extend(reading.problems)
            for declared in reading.dependencies:
                target = _resolve(known, declared)
                if target is None:
                    result.rejected.append(
                        f"{declared.source}: {service!r} declares unknown service {declared.target!r} "
                        f"({declared.evidence}); ignored"
                    )
                    continue
                add(service, target, declared.source, declared.kind, SOURCE_CONFIDENCE[declared.source])

        if self._reasoner is not None and documents is not None:  # (c) the reasoner reads the docs and config
            candidates = [name for name in known.names if name != service]
            docs_read = True
            for document in documents:
                try:
                    answer: object = self._reasoner.extract_dependencies(service, document, candidates)
                except Exception as exc:  # a model or network failure loses this source only, visibly
                    result.problems.append(f"reasoner failed to read the docs of {service!r}: {exc}")
                    docs_read = False
                    continue
                docs_read = docs_read and isinstance(answer, list | tuple)
                verdict = validate_extracted(service, answer, known.names)
                result.rejected.extend(verdict.rejected)
                for item in verdict.accepted:
                    add(service, item.service, "docs", item.kind, min(item.confidence, MAX_DOCS_CONFIDENCE))
            if docs_read:
                read.add("docs")

        result.dependencies = [edges[key] for key in sorted(edges)]
        result.inactive_targets = sorted(
            {d.to for d in result.dependencies if d.to in stored and not stored[d.to].active}
        )
        if result.dependencies:
            self._graph.upsert_dependencies(result.dependencies)
        if read:
            stale = sorted(
                key
                for key in ((d.from_, d.to, d.source) for d in self._graph.dependencies())
                if key[0] == service and key[2] in read and key not in edges
            )
            if stale:
                self._graph.remove_dependencies(stale)
                result.removed = [
                    f"{source}: {caller} -> {callee} no longer declared; edge removed"
                    for caller, callee, source in stale
                ]
        return result


def tier_from_attributes(attributes: dict[str, str]) -> tuple[int | None, list[str]]:
    """The ``tier`` attribute (0-5) if present and valid; otherwise None and, if present, why it was refused."""
    for key in TIER_ATTRIBUTES:
        if key in attributes:
            raw = attributes[key].strip()
            if raw.isdigit() and 0 <= int(raw) <= 5:
                return int(raw), []
            return None, [f"attribute {key}={attributes[key]!r} is not a tier from 0 to 5; tier left unset"]
    return None, []


def _resolve(known: ServiceNames, declared: DeclaredDependency) -> str | None:
    for spelling in (declared.target, *declared.alternatives):
        name = known.resolve(spelling)
        if name is not None:
            return name
    return None
