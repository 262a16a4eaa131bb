"""Structural analyses of the dependency graph (networkx): cycles, fan-in/out, blast radius, critical paths.

``analyze_graph`` gathers them into the ``GraphReport`` that ``slo-engine graph analyze`` prints as JSON.
Every analysis is linear in services + edges (whole-fleet blast radius uses bitsets on the condensation DAG).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypeAlias

import networkx as nx
from pydantic import BaseModel, Field

from slo_engine.graph.loader import merged_edges
from slo_engine.models.graph import DependencyKind, ServiceGraph

if TYPE_CHECKING:
    from slo_engine.graph.ceiling import Ceiling

GraphLike: TypeAlias = ServiceGraph | nx.DiGraph
"""Analyses accept the model or a digraph already built with ``build_digraph`` (to build it once)."""

ALL_KINDS: tuple[DependencyKind, ...] = ("hard", "soft")
HARD_ONLY: tuple[DependencyKind, ...] = ("hard",)


def build_digraph(graph: ServiceGraph) -> nx.DiGraph:
    """One node per service (attrs ``tier``, ``active``), one edge per (from, to) (attrs ``kind``, ``source``,
    ``confidence``); parallel edges from several sources are folded: hard wins, highest confidence."""
    digraph = nx.DiGraph()
    digraph.add_nodes_from(
        (service.name, {"tier": service.tier, "active": service.active}) for service in graph.services
    )
    digraph.add_edges_from(
        (caller, callee, {"kind": edge.kind, "source": edge.source, "confidence": edge.confidence})
        for (caller, callee), edge in merged_edges(graph.dependencies).items()
    )
    return digraph


def dependency_cycles(graph: GraphLike, kinds: Iterable[DependencyKind] = ALL_KINDS) -> list[list[str]]:
    """Strongly connected components of more than one service, plus services that list themselves.

    Members sorted, the list sorted: the same graph always gives the same answer.
    """
    return _cycles(_edges_of_kinds(_as_digraph(graph), kinds))


def self_loops(graph: GraphLike, kinds: Iterable[DependencyKind] = ALL_KINDS) -> list[str]:
    """Services that list themselves as a dependency (reported, never followed)."""
    return sorted(nx.nodes_with_selfloops(_edges_of_kinds(_as_digraph(graph), kinds)))


def fan_in(graph: GraphLike, kinds: Iterable[DependencyKind] = ALL_KINDS) -> dict[str, int]:
    """How many other services call each service directly."""
    digraph = _edges_of_kinds(_as_digraph(graph), kinds)
    return {name: digraph.in_degree(name) - digraph.has_edge(name, name) for name in sorted(digraph.nodes)}


def fan_out(graph: GraphLike, kinds: Iterable[DependencyKind] = ALL_KINDS) -> dict[str, int]:
    """How many other services each service calls directly."""
    digraph = _edges_of_kinds(_as_digraph(graph), kinds)
    return {name: digraph.out_degree(name) - digraph.has_edge(name, name) for name in sorted(digraph.nodes)}


def blast_radius(graph: GraphLike, service: str, kinds: Iterable[DependencyKind] = HARD_ONLY) -> list[str]:
    """Every service that depends on ``service``, directly or transitively (over hard edges by default), sorted."""
    digraph = _edges_of_kinds(_as_digraph(graph), kinds)
    _require_service(digraph, service)
    return sorted(nx.ancestors(digraph, service) - {service})


def blast_radius_sizes(graph: GraphLike, kinds: Iterable[DependencyKind] = HARD_ONLY) -> dict[str, int]:
    """``len(blast_radius(graph, s))`` for every service at once, in O((V + E) x V / 64)."""
    digraph = _edges_of_kinds(_as_digraph(graph), kinds)
    return _blast_radius_sizes(digraph, nx.condensation(digraph))


def critical_path(graph: GraphLike, service: str, kinds: Iterable[DependencyKind] = HARD_ONLY) -> list[str]:
    """The longest chain of (hard) dependencies below ``service``, starting with it.

    Computed on the condensation DAG, so cycles cannot loop: a cycle on the chain contributes all its members
    (sorted; the chain can pass through each), and the service's own cycle comes right after it.
    Ties go to the branch whose first service sorts first.
    """
    digraph = _edges_of_kinds(_as_digraph(graph), kinds)
    _require_service(digraph, service)
    condensation = nx.condensation(digraph)
    chains = _LongestChains(condensation)
    start = condensation.graph["mapping"][service]
    return [service, *sorted(set(chains.members[start]) - {service}), *chains.expand(chains.next[start])]


class CeilingSummary(BaseModel):
    """One service's dependency ceiling as the ``graph analyze`` JSON shows it."""

    ceiling: float
    capped_by: str | None = None
    path: list[str] = Field(default_factory=list)


class GraphReport(BaseModel):
    """What ``slo-engine graph analyze --format json`` prints (every mapping keyed by service name, sorted)."""

    services: int
    dependencies: int
    hard_dependencies: int
    cycles: list[list[str]] = Field(description="cycles over hard and soft edges (self-loops included)")
    hard_cycles: list[list[str]] = Field(description="cycles over hard edges only: these affect ceilings")
    self_loops: list[str]
    ceilings: dict[str, CeilingSummary] = Field(default_factory=dict)
    fan_in: dict[str, int]
    fan_out: dict[str, int]
    blast_radius: dict[str, int] = Field(description="how many services depend on it transitively over hard edges")
    critical_path_length: dict[str, int] = Field(
        description="services on the longest hard chain starting at it, itself included"
    )
    longest_critical_path: list[str]
    edges_to_inactive: list[tuple[str, str]] = Field(description="active callers of a deregistered service")


def analyze_graph(graph: GraphLike, ceilings: Mapping[str, Ceiling] | None = None) -> GraphReport:
    """All structural analyses of the fleet in one pass over the graph (linear in services + edges)."""
    digraph = _as_digraph(graph)
    hard = _edges_of_kinds(digraph, HARD_ONLY)
    condensation = nx.condensation(hard)
    chains = _LongestChains(condensation)
    mapping: dict[str, int] = condensation.graph["mapping"]
    longest_start = min(
        condensation.nodes, key=lambda component: (-chains.length[component], chains.first[component]), default=None
    )
    active = {name for name, is_active in digraph.nodes(data="active", default=True) if is_active}
    return GraphReport(
        services=digraph.number_of_nodes(),
        dependencies=digraph.number_of_edges(),
        hard_dependencies=hard.number_of_edges(),
        cycles=_cycles(digraph),
        hard_cycles=_cycles(hard, condensation),
        self_loops=self_loops(digraph),
        ceilings={
            name: CeilingSummary.model_construct(ceiling=ceiling.value, capped_by=ceiling.capped_by, path=ceiling.path)
            for name, ceiling in sorted((ceilings or {}).items())
        },
        fan_in=fan_in(digraph),
        fan_out=fan_out(digraph),
        blast_radius=_blast_radius_sizes(hard, condensation),
        critical_path_length={name: chains.length[mapping[name]] for name in sorted(hard.nodes)},
        longest_critical_path=chains.expand(longest_start),
        edges_to_inactive=sorted(
            (caller, callee) for caller, callee in digraph.edges if caller in active and callee not in active
        ),
    )


class _LongestChains:
    """Longest chain (counted in services) from each component of a condensation DAG, by dynamic programming."""

    def __init__(self, condensation: nx.DiGraph) -> None:
        self.members: dict[int, list[str]] = {
            component: sorted(members) for component, members in condensation.nodes(data="members")
        }
        self.first = {component: members[0] for component, members in self.members.items()}
        self.length: dict[int, int] = {}
        self.next: dict[int, int | None] = {}
        for component in reversed(list(nx.topological_sort(condensation))):
            below = min(
                condensation.successors(component),
                key=lambda successor: (-self.length[successor], self.first[successor]),
                default=None,
            )
            self.next[component] = below
            self.length[component] = len(self.members[component]) + (0 if below is None else self.length[below])

    def expand(self, component: int | None) -> list[str]:
        chain: list[str] = []
        while component is not None:
            chain.extend(self.members[component])
            component = self.next[component]
        return chain


def _blast_radius_sizes(digraph: nx.DiGraph, condensation: nx.DiGraph) -> dict[str, int]:
    # Callers come before callees in topological order, so each component's set of dependents (a bitset over
    # services) is its own members plus its callers' sets.
    bit = {name: 1 << index for index, name in enumerate(digraph.nodes)}
    dependents: dict[int, int] = {}
    for component in nx.topological_sort(condensation):
        reached = 0
        for member in condensation.nodes[component]["members"]:
            reached |= bit[member]
        for caller in condensation.predecessors(component):
            reached |= dependents[caller]
        dependents[component] = reached
    mapping: dict[str, int] = condensation.graph["mapping"]
    return {name: dependents[mapping[name]].bit_count() - 1 for name in sorted(digraph.nodes)}


def _cycles(digraph: nx.DiGraph, condensation: nx.DiGraph | None = None) -> list[list[str]]:
    if condensation is None:
        components: Iterable[set[str]] = nx.strongly_connected_components(digraph)
    else:
        components = (members for _, members in condensation.nodes(data="members"))
    cycles = [sorted(members) for members in components if len(members) > 1]
    in_larger_cycle = {name for cycle in cycles for name in cycle}
    cycles.extend([name] for name in nx.nodes_with_selfloops(digraph) if name not in in_larger_cycle)
    return sorted(cycles)


def _edges_of_kinds(digraph: nx.DiGraph, kinds: Iterable[DependencyKind]) -> nx.DiGraph:
    wanted = set(kinds)
    unknown = wanted - set(ALL_KINDS)
    if unknown:
        raise ValueError(f"unknown dependency kind(s): {', '.join(sorted(unknown))} (expected 'hard' or 'soft')")
    if wanted == set(ALL_KINDS):
        return digraph
    subgraph = nx.DiGraph()
    subgraph.add_nodes_from(digraph.nodes(data=True))
    subgraph.add_edges_from(
        (caller, callee, data)
        for caller, callee, data in digraph.edges(data=True)
        if data.get("kind", "hard") in wanted
    )
    return subgraph


def _as_digraph(graph: GraphLike) -> nx.DiGraph:
    return graph if isinstance(graph, nx.DiGraph) else build_digraph(graph)


def _require_service(digraph: nx.DiGraph, service: str) -> None:
    if service not in digraph:
        raise ValueError(f"unknown service {service!r}")
