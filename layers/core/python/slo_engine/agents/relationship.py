"""Relationship Discovery: dependency ceilings, cycles and blast radius from the graph and observed edges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import networkx as nx

from slo_engine.graph.analysis import build_digraph, dependency_cycles
from slo_engine.graph.ceiling import Ceiling, fleet_ceilings, own_availability
from slo_engine.models import AgentFinding, Dependency, Evidence, SelfEvaluation, ServiceGraph
from slo_engine.ports import GraphStore, MetricStore

OBSERVED = "observed"


def stale_observed(dependencies: Sequence[Dependency], max_age_days: float | None) -> list[Dependency]:
    """Observed edges whose calls were last seen more than ``max_age_days`` before the freshest observed edge.

    The reference is the newest traffic, not the wall clock: when telemetry stops altogether (or the data is
    historical) nothing goes stale, since no traffic is no evidence that a dependency is gone. Edges without a time
    (loaded from a graph file) never go stale.
    """
    seen = [d.last_seen for d in dependencies if d.source == OBSERVED and d.last_seen is not None]
    if max_age_days is None or not seen:
        return []
    cutoff = max(seen) - timedelta(days=max_age_days)
    return [d for d in dependencies if d.source == OBSERVED and d.last_seen is not None and d.last_seen < cutoff]


def current_graph(
    graph_store: GraphStore, metrics: MetricStore, max_observed_age_days: float | None = None
) -> ServiceGraph:
    """Declared services and dependencies, plus services seen only in the metric store; observed dependencies whose
    calls stopped long ago (``stale_observed``) are left out (declared ones for the same pair stay)."""
    return graph_with_stale(graph_store, metrics, max_observed_age_days)[0]


def graph_with_stale(
    graph_store: GraphStore, metrics: MetricStore, max_observed_age_days: float | None = None
) -> tuple[ServiceGraph, list[Dependency]]:
    """``current_graph`` and the stale observed edges it left out."""
    services = {s.name: s for s in graph_store.services() if s.active}
    from slo_engine.models import ServiceNode

    for name in metrics.services():
        services.setdefault(name, ServiceNode(name=name))
    deps = [d for d in graph_store.dependencies() if d.from_ in services and d.to in services]
    stale = stale_observed(deps, max_observed_age_days)
    gone = {(d.from_, d.to, d.source) for d in stale}
    deps = [d for d in deps if (d.from_, d.to, d.source) not in gone]
    return ServiceGraph(services=list(services.values()), dependencies=deps), stale


class RelationshipDiscoveryAgent:
    def __init__(
        self, graph_store: GraphStore, metrics: MetricStore, max_observed_age_days: float | None = None
    ) -> None:
        self._graph_store = graph_store
        self._metrics = metrics
        self._max_observed_age_days = max_observed_age_days
        self._stale: list[Dependency] = []
        self._cache: tuple[ServiceGraph, dict[str, Ceiling], list[list[str]]] | None = None

    def analyze_fleet(self) -> tuple[ServiceGraph, dict[str, Ceiling], list[list[str]]]:
        if self._cache is not None:
            return self._cache
        graph, self._stale = graph_with_stale(self._graph_store, self._metrics, self._max_observed_age_days)
        availability: dict[str, float] = {}
        own: dict[str, float] = {}
        shares: dict[tuple[str, str], float] = {}
        hard = {(d.from_, d.to) for d in graph.dependencies if d.kind == "hard"}
        for node in graph.services:
            requests, errors = self._metrics.totals(node.name)
            if requests == 0:
                continue
            availability[node.name] = 1 - errors / requests
            dependency_errors = 0
            for edge in self._metrics.edges(node.name):
                if edge.direction != "downstream":
                    continue
                shares[(node.name, edge.peer)] = min(1.0, edge.requests / requests)
                if (node.name, edge.peer) in hard:
                    dependency_errors += edge.errors
            own[node.name] = own_availability(requests, errors, dependency_errors)
        ceilings = fleet_ceilings(graph, own, availability, shares)
        self._digraph = build_digraph(graph)
        # Who depends on whom over hard edges, built once: each blast radius is then one ancestor walk.
        self._hard = nx.DiGraph((a, b) for a, b, kind in self._digraph.edges(data="kind") if kind == "hard" and a != b)
        cycles = dependency_cycles(self._digraph)
        self._cache = (graph, ceilings, cycles)
        return self._cache

    def discover(self, service: str) -> AgentFinding:
        graph, ceilings, cycles = self.analyze_fleet()
        ceiling = ceilings.get(service)
        hard_deps = sorted(d.to for d in graph.dependencies if d.from_ == service and d.kind == "hard")
        soft_deps = sorted(d.to for d in graph.dependencies if d.from_ == service and d.kind == "soft")
        radius = sorted(nx.ancestors(self._hard, service) - {service}) if self._hard.has_node(service) else []
        in_cycles = [c for c in cycles if service in c]
        evidence = [
            Evidence(
                source="graph",
                statement=(
                    f"hard dependencies: {', '.join(hard_deps) or 'none'}; soft: {', '.join(soft_deps) or 'none'}"
                ),
            ),
            Evidence(source="graph", statement=f"{len(radius)} services depend on it transitively", value=len(radius)),
        ]
        still = {d.to for d in graph.dependencies if d.from_ == service}  # declared by another source: it counts
        for edge in (d for d in self._stale if d.from_ == service and d.to not in still):
            seen = edge.last_seen.date().isoformat() if edge.last_seen else "never"
            evidence.append(
                Evidence(
                    source="graph",
                    statement=(
                        f"observed calls to {edge.to} last seen {seen}, over {self._max_observed_age_days:g} days "
                        "before the newest traffic: not counted as a dependency"
                    ),
                )
            )
        data: dict[str, Any] = {
            "hard_dependencies": hard_deps,
            "soft_dependencies": soft_deps,
            "blast_radius": radius,
            "cycles": in_cycles,
            "ceiling": ceiling.model_dump() if ceiling else None,
        }
        reasons: list[str] = []
        confidence = 0.9
        if ceiling is not None:
            capped = f", capped by {ceiling.capped_by}" if ceiling.capped_by else ""
            evidence.append(
                Evidence(
                    source="graph+metric-store",
                    statement=f"dependency ceiling {ceiling.value:.5%}{capped}",
                    value=ceiling.value,
                )
            )
            if any("no data" in n for n in ceiling.notes):
                confidence -= 0.3
                reasons.extend(n for n in ceiling.notes if "no data" in n)
        else:
            confidence = 0.5
            reasons.append("no traffic to compute a ceiling from")
        for cycle in in_cycles:
            evidence.append(
                Evidence(source="graph", statement="circular dependency: " + " -> ".join([*cycle, cycle[0]]))
            )
        if not hard_deps and not soft_deps:
            reasons.append("no dependencies declared or observed")
        return AgentFinding(
            agent="relationship",
            service=service,
            summary=f"{service}: {len(hard_deps)} hard, {len(soft_deps)} soft dependencies",
            evidence=evidence,
            self_evaluation=SelfEvaluation(
                confidence=max(0.1, confidence), reasons=reasons or ["graph and edges agree"]
            ),
            data=data,
        )
