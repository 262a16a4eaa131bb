"""The dependency availability ceiling: own reliability x hard dependencies, soft ones never cap, cycles."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from slo_engine.graph.ceiling import (
    Ceiling,
    DependencyObservation,
    dependency_ceiling,
    fleet_ceilings,
    own_availability,
)
from slo_engine.models.graph import Dependency, ServiceGraph, ServiceNode

availabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
shares = st.none() | st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
hard_dependencies = st.lists(
    st.builds(DependencyObservation, name=st.sampled_from("abcdefgh"), availability=availabilities, share=shares),
    max_size=8,
    unique_by=lambda dependency: dependency.name,
)


def graph_of(edges: list[tuple[str, str, str]], extra: tuple[str, ...] = ()) -> ServiceGraph:
    names = sorted({name for caller, callee, _ in edges for name in (caller, callee)} | set(extra))
    return ServiceGraph(
        services=[ServiceNode(name=name) for name in names],
        dependencies=[Dependency(from_=caller, to=callee, kind=kind) for caller, callee, kind in edges],
    )


# own_availability


def test_own_availability_ignores_errors_that_came_from_dependencies() -> None:
    assert own_availability(requests=1000, errors=30, dependency_errors=20) == pytest.approx(0.99)


def test_own_availability_never_exceeds_one_when_dependency_errors_outnumber_errors() -> None:
    assert own_availability(requests=1000, errors=5, dependency_errors=50) == 1.0


def test_own_availability_without_requests_is_one() -> None:
    assert own_availability(requests=0, errors=0, dependency_errors=0) == 1.0


def test_own_availability_rejects_more_errors_than_requests() -> None:
    with pytest.raises(ValueError, match="exceed requests"):
        own_availability(requests=10, errors=11, dependency_errors=0)


def test_own_availability_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        own_availability(requests=10, errors=-1, dependency_errors=0)


# dependency_ceiling


def test_a_service_calling_a_weaker_dependency_on_every_request_is_capped_by_it() -> None:
    ceiling = dependency_ceiling(0.9999, [DependencyObservation(name="payments", availability=0.993)])
    assert ceiling.value == pytest.approx(0.9929, abs=1e-4)
    assert ceiling.value == pytest.approx(0.9999 * 0.993)
    assert ceiling.capped_by == "payments"
    assert ceiling.path == ["payments"]
    assert ceiling.notes == ["capped by dependency payments (availability 99.3% on every request, factor 0.993)"]


def test_a_dependency_called_by_a_share_of_requests_weighs_by_that_share() -> None:
    ceiling = dependency_ceiling(1.0, [DependencyObservation(name="search", availability=0.99, share=0.25)])
    assert ceiling.value == pytest.approx(1 - 0.25 * 0.01)
    assert ceiling.factors == {"search": pytest.approx(0.9975)}


def test_without_hard_dependencies_the_ceiling_is_own_availability() -> None:
    ceiling = dependency_ceiling(0.995, [DependencyObservation(name="mail", availability=0.5, kind="soft")])
    assert ceiling == Ceiling(value=0.995)


def test_when_own_reliability_dominates_nothing_caps_it() -> None:
    ceiling = dependency_ceiling(0.99, [DependencyObservation(name="db", availability=0.9999)])
    assert ceiling.capped_by is None
    assert ceiling.value == pytest.approx(0.99 * 0.9999)


def test_the_lowest_factor_names_the_capping_dependency() -> None:
    ceiling = dependency_ceiling(
        1.0,
        [
            DependencyObservation(name="a", availability=0.99),
            DependencyObservation(name="b", availability=0.98, share=0.1),
            DependencyObservation(name="c", availability=0.995),
        ],
    )
    assert ceiling.capped_by == "a"


def test_a_dependency_listed_twice_keeps_its_lower_factor() -> None:
    ceiling = dependency_ceiling(
        1.0,
        [DependencyObservation(name="a", availability=0.99), DependencyObservation(name="a", availability=0.9)],
    )
    assert ceiling.value == pytest.approx(0.9)


def test_own_availability_outside_zero_and_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="within"):
        dependency_ceiling(1.5, [])


@given(availabilities, hard_dependencies)
def test_the_ceiling_never_exceeds_own_availability(own: float, dependencies: list[DependencyObservation]) -> None:
    assert dependency_ceiling(own, dependencies).value <= own


@given(availabilities, hard_dependencies)
def test_the_ceiling_never_exceeds_any_hard_dependency_factor(
    own: float, dependencies: list[DependencyObservation]
) -> None:
    value = dependency_ceiling(own, dependencies).value
    assert all(value <= 1 - (1.0 if d.share is None else d.share) * (1 - d.availability) for d in dependencies)


@given(availabilities, hard_dependencies, availabilities, shares)
def test_adding_a_soft_dependency_changes_nothing(
    own: float, dependencies: list[DependencyObservation], availability: float, share: float | None
) -> None:
    soft = DependencyObservation(name="soft-one", availability=availability, share=share, kind="soft")
    assert dependency_ceiling(own, [*dependencies, soft]) == dependency_ceiling(own, dependencies)


@given(availabilities, hard_dependencies, availabilities)
def test_a_dependency_at_share_zero_changes_neither_value_nor_capping(
    own: float, dependencies: list[DependencyObservation], availability: float
) -> None:
    unused = DependencyObservation(name="unused", availability=availability, share=0.0)
    with_unused = dependency_ceiling(own, [*dependencies, unused])
    without = dependency_ceiling(own, dependencies)
    assert (with_unused.value, with_unused.capped_by) == (without.value, without.capped_by)


@given(availabilities, hard_dependencies.filter(bool), availabilities, availabilities)
def test_the_ceiling_is_monotone_in_each_dependency_availability(
    own: float, dependencies: list[DependencyObservation], first: float, second: float
) -> None:
    assume(first != second)
    lower, higher = sorted((first, second))
    changed = dependencies[0]
    worse = [changed.model_copy(update={"availability": lower}), *dependencies[1:]]
    better = [changed.model_copy(update={"availability": higher}), *dependencies[1:]]
    assert dependency_ceiling(own, worse).value <= dependency_ceiling(own, better).value


@given(availabilities, hard_dependencies)
def test_the_ceiling_does_not_depend_on_the_order_of_dependencies(
    own: float, dependencies: list[DependencyObservation]
) -> None:
    assert dependency_ceiling(own, dependencies) == dependency_ceiling(own, list(reversed(dependencies)))


# fleet_ceilings


def test_the_fleet_ceiling_uses_the_dependency_observed_availability() -> None:
    graph = graph_of([("checkout", "payments", "hard")])
    ceilings = fleet_ceilings(graph, own={"checkout": 0.9999}, availability={"payments": 0.993}, shares={})
    assert ceilings["checkout"].value == pytest.approx(0.9929, abs=1e-4)
    assert ceilings["checkout"].capped_by == "payments"


def test_the_fleet_ceiling_weighs_by_the_observed_share() -> None:
    graph = graph_of([("a", "b", "hard")])
    ceilings = fleet_ceilings(graph, own={"a": 1.0}, availability={"b": 0.9}, shares={("a", "b"): 0.5})
    assert ceilings["a"].value == pytest.approx(0.95)


def test_a_share_above_one_counts_as_one_with_a_note() -> None:
    graph = graph_of([("a", "b", "hard")])
    ceilings = fleet_ceilings(graph, own={"a": 1.0}, availability={"b": 0.9}, shares={("a", "b"): 2.0})
    assert ceilings["a"].value == pytest.approx(0.9)
    assert "a calls b 2 times per request on average; share counted as 1" in ceilings["a"].notes


def test_soft_edges_never_cap_in_the_fleet() -> None:
    graph = graph_of([("a", "mail", "soft")])
    ceilings = fleet_ceilings(graph, own={"a": 0.999}, availability={"mail": 0.5}, shares={})
    assert (ceilings["a"].value, ceilings["a"].capped_by, ceilings["a"].factors) == (0.999, None, {})


def test_a_hard_and_a_soft_edge_between_the_same_services_count_as_hard() -> None:
    graph = graph_of([("a", "b", "soft")])
    graph.dependencies.append(Dependency(from_="a", to="b", kind="hard", source="observed"))
    ceilings = fleet_ceilings(graph, own={"a": 1.0}, availability={"b": 0.9}, shares={})
    assert ceilings["a"].value == pytest.approx(0.9)


def test_a_dependency_without_data_is_skipped_with_a_note() -> None:
    graph = graph_of([("a", "b", "hard"), ("a", "c", "hard")])
    ceilings = fleet_ceilings(graph, own={"a": 1.0}, availability={"c": 0.99}, shares={})
    assert ceilings["a"].value == pytest.approx(0.99)
    assert "no data for b" in ceilings["a"].notes


def test_a_service_without_own_data_is_capped_by_its_dependencies_only() -> None:
    graph = graph_of([("a", "b", "hard")])
    ceilings = fleet_ceilings(graph, own={}, availability={"b": 0.99}, shares={})
    assert ceilings["a"].value == pytest.approx(0.99)
    assert ceilings["a"].notes[0] == "no own availability for a; ceiling from dependencies only"


def test_the_path_follows_capped_by_transitively() -> None:
    graph = graph_of([("web", "api", "hard"), ("api", "db", "hard")])
    ceilings = fleet_ceilings(
        graph, own={"web": 0.9999, "api": 0.9999, "db": 0.999}, availability={"api": 0.99, "db": 0.95}, shares={}
    )
    assert ceilings["web"].path == ["api", "db"]
    assert ceilings["db"].path == []


def test_every_member_of_a_hard_cycle_is_capped_at_the_weakest_member() -> None:
    graph = graph_of([("a", "b", "hard"), ("b", "c", "hard"), ("c", "a", "hard"), ("c", "d", "hard")])
    own = {"a": 0.9999, "b": 0.9999, "c": 0.9999, "d": 0.999}
    availability = {"a": 0.999, "b": 0.999, "c": 0.999, "d": 0.98}
    ceilings = fleet_ceilings(graph, own=own, availability=availability, shares={})
    weakest = pytest.approx(0.9999 * 0.999 * 0.98)  # c: own x a x d
    assert [ceilings[name].value for name in "abc"] == [weakest, weakest, weakest]
    assert (ceilings["a"].capped_by, ceilings["b"].capped_by) == ("c", "c")
    assert ceilings["c"].capped_by == "d"  # the weakest keeps what caps it
    assert ceilings["a"].cycle == ["a", "b", "c"]
    assert ceilings["d"].cycle is None


def test_a_hard_cycle_is_described_in_a_note_starting_at_the_weakest_member() -> None:
    graph = graph_of([("a", "b", "hard"), ("b", "a", "hard")])
    ceilings = fleet_ceilings(graph, own={"a": 0.99, "b": 0.9999}, availability={"a": 0.99, "b": 0.999}, shares={})
    assert "circular dependency: a -> b -> a" in ceilings["b"].notes
    assert ceilings["b"].path == ["a"]  # a's own reliability dominates a's ceiling


def test_a_soft_cycle_does_not_trigger_the_cycle_rule() -> None:
    graph = graph_of([("a", "b", "soft"), ("b", "a", "soft")])
    ceilings = fleet_ceilings(graph, own={"a": 0.9, "b": 0.9999}, availability={"a": 0.9, "b": 0.9999}, shares={})
    assert ceilings["b"].value == 0.9999
    assert ceilings["b"].cycle is None


def test_a_service_listing_itself_is_reported_and_not_multiplied() -> None:
    graph = graph_of([("a", "a", "hard")])
    ceilings = fleet_ceilings(graph, own={"a": 0.99}, availability={"a": 0.99}, shares={})
    assert ceilings["a"].value == 0.99
    assert ceilings["a"].cycle == ["a"]
    assert "circular dependency: a -> a (it lists itself; ignored)" in ceilings["a"].notes


def test_fleet_ceilings_are_the_same_whatever_the_edge_order() -> None:
    edges = [("a", "b", "hard"), ("b", "a", "hard"), ("b", "c", "hard"), ("a", "d", "hard")]
    own = {"a": 0.999, "b": 0.998, "c": 0.99, "d": 0.995}
    first = fleet_ceilings(graph_of(edges), own=own, availability=own, shares={})
    second = fleet_ceilings(graph_of(list(reversed(edges))), own=own, availability=own, shares={})
    assert first == second


@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=15),
    st.lists(availabilities, min_size=6, max_size=6),
)
def test_no_fleet_ceiling_exceeds_its_own_availability(edges: list[tuple[int, int]], values: list[float]) -> None:
    graph = graph_of([(f"s{a}", f"s{b}", "hard") for a, b in edges], extra=tuple(f"s{i}" for i in range(6)))
    own = {f"s{i}": value for i, value in enumerate(values)}
    ceilings = fleet_ceilings(graph, own=own, availability=own, shares={})
    assert all(ceilings[name].value <= own[name] for name in own)
    assert all(name not in ceiling.path for name, ceiling in ceilings.items())
