"""The dependency availability ceiling: a service cannot promise more than its own reliability times the
observed availability of its hard dependencies, each weighted by the share of its requests that call it.

Soft dependencies never cap. Members of a cycle of hard edges are all capped at the weakest member's ceiling.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from slo_engine.graph.loader import merged_edges
from slo_engine.models.graph import DependencyKind, ServiceGraph


class DependencyObservation(BaseModel):
    """One dependency of a service as observed: its availability and the share of the caller's requests that
    call it (``None``: every request does)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    availability: float = Field(ge=0, le=1)
    share: float | None = Field(default=None, ge=0, le=1)
    kind: DependencyKind = "hard"

    @property
    def factor(self) -> float:
        """The caller's availability if this were its only failure: ``1 - share x (1 - availability)``."""
        return _factor(self.availability, self.share)


class Ceiling(BaseModel):
    """The highest availability a service can promise, and what holds it down."""

    value: float = Field(ge=0, le=1)
    capped_by: str | None = Field(
        default=None, description="the dependency (or cycle member) lowering the ceiling most; None if none does"
    )
    factors: dict[str, float] = Field(default_factory=dict, description="each hard dependency's factor")
    path: list[str] = Field(
        default_factory=list, description="the capping chain, following capped_by transitively (the service excluded)"
    )
    cycle: list[str] | None = Field(default=None, description="members of the hard-edge cycle it belongs to")
    notes: list[str] = Field(default_factory=list)


def own_availability(requests: int, errors: int, dependency_errors: int) -> float:
    """The availability of the service's own work: errors it caused, not those coming from its dependencies.

    ``1 - max(0, errors - dependency_errors) / requests``; 1.0 with no requests.
    """
    if requests < 0 or errors < 0 or dependency_errors < 0:
        raise ValueError(
            f"counts must not be negative (requests={requests}, errors={errors}, dependency_errors={dependency_errors})"
        )
    if errors > requests:
        raise ValueError(f"errors ({errors}) exceed requests ({requests})")
    if requests == 0:
        return 1.0
    return 1.0 - max(0, errors - dependency_errors) / requests


def dependency_ceiling(own: float, dependencies: Sequence[DependencyObservation]) -> Ceiling:
    """``own x prod(1 - share x (1 - availability))`` over the HARD dependencies; soft ones never cap.

    With no hard dependency the ceiling is ``own``. ``capped_by`` is the dependency with the lowest factor,
    when that factor is below ``own`` (otherwise the service's own reliability dominates). A dependency listed
    twice keeps its lower factor.
    """
    by_name: dict[str, DependencyObservation] = {}
    for dependency in dependencies:
        if dependency.kind != "hard":
            continue
        earlier = by_name.get(dependency.name)
        if earlier is None or dependency.factor < earlier.factor:
            by_name[dependency.name] = dependency
    return _combine(
        own,
        {name: (by_name[name].availability, by_name[name].share) for name in by_name},
    )


def fleet_ceilings(
    graph: ServiceGraph,
    own: Mapping[str, float],
    availability: Mapping[str, float],
    shares: Mapping[tuple[str, str], float],
) -> dict[str, Ceiling]:
    """The ceiling of every service in ``graph``, from each hard dependency's OBSERVED availability.

    ``own[s]``: the service's own availability (missing: 1.0, with a note). ``availability[d]``: what ``d``
    delivered (missing: ``d`` is skipped with a note "no data for d"). ``shares[(s, d)]``: share of ``s``'s
    requests calling ``d`` (missing: 1.0). Every member of a cycle of hard edges is capped at the lowest
    ceiling among its members. Deterministic, linear in services + edges.
    """
    hard_dependencies: dict[str, list[str]] = {service.name: [] for service in graph.services}
    hard = nx.DiGraph()
    hard.add_nodes_from(hard_dependencies)
    listing_itself: set[str] = set()
    for (caller, callee), edge in sorted(merged_edges(graph.dependencies).items()):
        if edge.kind != "hard":
            continue
        if caller == callee:
            listing_itself.add(caller)
            continue
        hard_dependencies[caller].append(callee)
        hard.add_edge(caller, callee)

    ceilings = {
        name: _service_ceiling(name, deps, own, availability, shares)
        for name, deps in sorted(hard_dependencies.items())
    }
    for name in sorted(listing_itself):
        ceilings[name].cycle = [name]
        ceilings[name].notes.append(f"circular dependency: {name} -> {name} (it lists itself; ignored)")

    for component in nx.strongly_connected_components(hard):
        if len(component) > 1:
            _cap_cycle(sorted(component), hard, ceilings)

    for name, ceiling in ceilings.items():
        ceiling.path = _capping_path(name, ceilings)
    return dict(sorted(ceilings.items()))


def _service_ceiling(
    name: str,
    dependency_names: Sequence[str],
    own: Mapping[str, float],
    availability: Mapping[str, float],
    shares: Mapping[tuple[str, str], float],
) -> Ceiling:
    notes: list[str] = []
    own_value = own.get(name)
    if own_value is None:
        notes.append(f"no own availability for {name}; ceiling from dependencies only")
        own_value = 1.0
    observations: dict[str, tuple[float, float | None]] = {}
    for dependency in dependency_names:
        observed = availability.get(dependency)
        if observed is None:
            notes.append(f"no data for {dependency}")
            continue
        share = shares.get((name, dependency))
        if share is not None and share > 1.0:
            notes.append(f"{name} calls {dependency} {share:g} times per request on average; share counted as 1")
            share = 1.0
        if not (0.0 <= observed <= 1.0 and (share is None or share >= 0.0)):
            raise ValueError(f"{name} -> {dependency}: availability {observed} or share {share} out of range")
        observations[dependency] = (observed, share)
    ceiling = _combine(own_value, observations)
    ceiling.notes = notes + ceiling.notes
    return ceiling


def _factor(availability: float, share: float | None) -> float:
    return 1.0 - (1.0 if share is None else share) * (1.0 - availability)


def _combine(own: float, observations: Mapping[str, tuple[float, float | None]]) -> Ceiling:
    """The ceiling from validated (availability, share) per hard dependency."""
    if not 0.0 <= own <= 1.0:  # also rejects NaN
        raise ValueError(f"own availability must be within [0, 1], got {own}")
    factors = {name: _factor(*observations[name]) for name in sorted(observations)}
    value = own
    for factor in factors.values():  # a fixed order keeps the float product deterministic
        value *= factor
    weakest = min(factors, key=lambda name: (factors[name], name), default=None)
    if weakest is None or factors[weakest] >= own:
        return Ceiling(value=value, factors=factors)
    return Ceiling(
        value=value,
        capped_by=weakest,
        factors=factors,
        path=[weakest],
        notes=[f"capped by dependency {weakest} ({_describe(*observations[weakest], factors[weakest])})"],
    )


def _cap_cycle(members: list[str], hard: nx.DiGraph, ceilings: dict[str, Ceiling]) -> None:
    weakest = min(members, key=lambda member: (ceilings[member].value, member))
    floor = ceilings[weakest].value
    loop = " -> ".join(_shortest_cycle_through(weakest, hard, set(members)))
    for member in members:
        ceiling = ceilings[member]
        ceiling.cycle = members
        ceiling.notes.append(f"circular dependency: {loop}")
        if member != weakest:
            ceiling.value = floor
            ceiling.capped_by = weakest
            ceiling.notes.append(f"capped at the ceiling of {weakest}, the weakest member of its cycle")


def _shortest_cycle_through(start: str, hard: nx.DiGraph, members: set[str]) -> list[str]:
    """Breadth-first search inside one strongly connected component, back to ``start``."""
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(hard.successors(node)):
            if successor == start:
                loop = [start]
                step: str | None = node
                while step is not None and step != start:
                    loop.append(step)
                    step = parent[step]
                return [start, *reversed(loop[1:]), start]
            if successor in members and successor not in parent:
                parent[successor] = node
                queue.append(successor)
    return [start, start]  # unreachable for a strongly connected component


def _capping_path(name: str, ceilings: Mapping[str, Ceiling]) -> list[str]:
    path: list[str] = []
    seen = {name}
    step = ceilings[name].capped_by
    while step is not None and step not in seen:
        path.append(step)
        seen.add(step)
        next_ceiling = ceilings.get(step)
        step = next_ceiling.capped_by if next_ceiling is not None else None
    return path


def _describe(availability: float, share: float | None, factor: float) -> str:
    calls = "every request" if share is None else f"{_percent(share)} of requests"
    return f"availability {_percent(availability)} on {calls}, factor {factor:.6g}"


def _percent(fraction: float) -> str:
    if fraction in (0.0, 1.0):
        return f"{fraction * 100:.0f}%"
    return f"{fraction * 100:.4f}".rstrip("0").rstrip(".") + "%"
