"""Structural analyses of the dependency graph: cycles, fan-in/out, blast radius, critical paths, the report."""

from __future__ import annotations

import itertools
import json
import random

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.analysis import (
    GraphReport,
    analyze_graph,
    blast_radius,
    blast_radius_sizes,
    build_digraph,
    critical_path,
    dependency_cycles,
    fan_in,
    fan_out,
    self_loops,
)
from slo_engine.graph.ceiling import fleet_ceilings
from slo_engine.models.graph import Dependency, ServiceGraph, ServiceNode


def graph_of(
    edges: list[tuple[str, str, str]], extra: tuple[str, ...] = (), inactive: tuple[str, ...] = ()
) -> ServiceGraph:
    names = sorted({name for caller, callee, _ in edges for name in (caller, callee)} | set(extra))
    return ServiceGraph(
        services=[ServiceNode(name=name, active=name not in inactive) for name in names],
        dependencies=[Dependency(from_=caller, to=callee, kind=kind) for caller, callee, kind in edges],
    )


# web -> api -> db (hard), api -> cache (soft), api <-> auth (hard cycle), mail <-> queue (soft cycle)
FLEET = graph_of(
    [
        ("web", "api", "hard"),
        ("api", "db", "hard"),
        ("api", "cache", "soft"),
        ("api", "auth", "hard"),
        ("auth", "api", "hard"),
        ("mail", "queue", "soft"),
        ("queue", "mail", "soft"),
        ("batch", "db", "hard"),
    ]
)


def test_build_digraph_carries_node_and_edge_attributes() -> None:
    graph = ServiceGraph(
        services=[ServiceNode(name="a", tier=1), ServiceNode(name="b", active=False)],
        dependencies=[Dependency(from_="a", to="b", kind="soft", source="llm", confidence=0.6)],
    )
    digraph = build_digraph(graph)
    assert digraph.nodes["a"] == {"tier": 1, "active": True}
    assert digraph.nodes["b"]["active"] is False
    assert digraph.edges["a", "b"] == {"kind": "soft", "source": "llm", "confidence": 0.6}


def test_build_digraph_folds_parallel_edges_hard_winning() -> None:
    graph = graph_of([("a", "b", "soft")])
    graph.dependencies.append(Dependency(from_="a", to="b", kind="hard", source="observed", confidence=0.5))
    assert build_digraph(graph).edges["a", "b"] == {"kind": "hard", "source": "declared,observed", "confidence": 1.0}


def test_cycles_over_all_kinds_include_soft_cycles() -> None:
    assert dependency_cycles(FLEET) == [["api", "auth"], ["mail", "queue"]]


def test_cycles_over_hard_edges_leave_soft_cycles_out() -> None:
    assert dependency_cycles(FLEET, kinds=("hard",)) == [["api", "auth"]]


def test_an_acyclic_graph_has_no_cycles() -> None:
    assert dependency_cycles(graph_of([("a", "b", "hard"), ("b", "c", "hard"), ("a", "c", "hard")])) == []


def test_a_self_loop_is_reported_as_a_one_service_cycle() -> None:
    graph = graph_of([("a", "a", "hard"), ("a", "b", "hard")])
    assert dependency_cycles(graph) == [["a"]]
    assert self_loops(graph) == ["a"]


def test_a_self_loop_inside_a_larger_cycle_is_not_listed_twice() -> None:
    graph = graph_of([("a", "a", "hard"), ("a", "b", "hard"), ("b", "a", "hard")])
    assert dependency_cycles(graph) == [["a", "b"]]


def test_cycles_are_members_sorted_and_list_sorted_whatever_the_input_order() -> None:
    edges = [("z", "y", "hard"), ("y", "z", "hard"), ("c", "b", "hard"), ("b", "a", "hard"), ("a", "c", "hard")]
    assert dependency_cycles(graph_of(edges)) == [["a", "b", "c"], ["y", "z"]]
    assert dependency_cycles(graph_of(list(reversed(edges)))) == [["a", "b", "c"], ["y", "z"]]


def test_an_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown dependency kind"):
        dependency_cycles(FLEET, kinds=("weak",))  # type: ignore[arg-type]


def test_fan_in_counts_distinct_callers() -> None:
    assert fan_in(FLEET)["db"] == 2
    assert fan_in(FLEET)["web"] == 0


def test_fan_out_counts_distinct_callees_of_every_kind() -> None:
    assert fan_out(FLEET)["api"] == 3


def test_fan_in_and_out_do_not_count_a_self_loop() -> None:
    graph = graph_of([("a", "a", "hard")])
    assert (fan_in(graph), fan_out(graph)) == ({"a": 0}, {"a": 0})


def test_blast_radius_is_everyone_depending_on_it_transitively() -> None:
    assert blast_radius(FLEET, "db") == ["api", "auth", "batch", "web"]


def test_blast_radius_follows_hard_edges_only_by_default() -> None:
    assert blast_radius(FLEET, "cache") == []
    assert blast_radius(FLEET, "cache", kinds=("hard", "soft")) == ["api", "auth", "web"]


def test_blast_radius_of_an_unknown_service_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown service 'ghost'"):
        blast_radius(FLEET, "ghost")


def test_blast_radius_sizes_count_every_service_at_once() -> None:
    sizes = blast_radius_sizes(FLEET)
    assert sizes["db"] == 4
    assert sizes["api"] == 2  # web, and auth through the cycle
    assert sizes["web"] == 0


def test_critical_path_is_the_longest_hard_chain_below_the_service() -> None:
    graph = graph_of([("a", "b", "hard"), ("b", "c", "hard"), ("c", "d", "hard"), ("a", "d", "hard")])
    assert critical_path(graph, "a") == ["a", "b", "c", "d"]


def test_critical_path_ignores_soft_edges() -> None:
    graph = graph_of([("a", "b", "hard"), ("a", "c", "soft"), ("c", "d", "soft"), ("d", "e", "soft")])
    assert critical_path(graph, "a") == ["a", "b"]


def test_critical_path_through_a_cycle_lists_its_members_once_and_ends() -> None:
    graph = graph_of([("web", "api", "hard"), ("api", "auth", "hard"), ("auth", "api", "hard"), ("auth", "db", "hard")])
    assert critical_path(graph, "web") == ["web", "api", "auth", "db"]


def test_critical_path_starting_inside_a_cycle_puts_the_service_first() -> None:
    graph = graph_of([("b", "a", "hard"), ("a", "b", "hard")])
    assert critical_path(graph, "b") == ["b", "a"]


def test_critical_path_breaks_ties_by_name() -> None:
    graph = graph_of([("a", "y", "hard"), ("a", "x", "hard")])
    assert critical_path(graph, "a") == ["a", "x"]


def test_the_report_has_the_cli_json_fields() -> None:
    document = json.loads(analyze_graph(FLEET).model_dump_json())
    assert {"services", "cycles", "ceilings", "fan_in", "fan_out", "self_loops"} <= document.keys()
    assert document["services"] == 8
    assert document["cycles"] == [["api", "auth"], ["mail", "queue"]]
    assert document["hard_cycles"] == [["api", "auth"]]


def test_the_report_shows_ceilings_with_what_caps_them() -> None:
    ceilings = fleet_ceilings(FLEET, own={}, availability={"api": 0.99, "db": 0.999}, shares={})
    document = json.loads(analyze_graph(FLEET, ceilings).model_dump_json())
    assert document["ceilings"]["web"]["ceiling"] == pytest.approx(0.99)
    assert document["ceilings"]["web"]["capped_by"] == "api"
    assert document["ceilings"]["db"]["capped_by"] is None


def test_the_report_without_ceilings_has_an_empty_mapping() -> None:
    assert analyze_graph(FLEET).ceilings == {}


def test_the_report_counts_blast_radius_and_critical_path_lengths() -> None:
    report = analyze_graph(FLEET)
    assert report.blast_radius["db"] == 4
    assert report.critical_path_length["web"] == 4  # web, api + auth (cycle), db
    assert report.longest_critical_path == ["web", "api", "auth", "db"]


def test_the_report_lists_active_callers_of_an_inactive_service() -> None:
    graph = graph_of([("a", "gone", "hard"), ("gone", "b", "hard")], inactive=("gone",))
    assert analyze_graph(graph).edges_to_inactive == [("a", "gone")]


def test_the_report_on_a_self_loop_does_not_crash() -> None:
    report = analyze_graph(graph_of([("a", "a", "hard")]))
    assert (report.self_loops, report.cycles, report.critical_path_length) == (["a"], [["a"]], {"a": 1})


def test_the_report_of_an_empty_graph_is_empty() -> None:
    report = analyze_graph(ServiceGraph())
    assert (report.services, report.cycles, report.longest_critical_path) == (0, [], [])


def test_the_report_accepts_a_prebuilt_digraph() -> None:
    assert analyze_graph(build_digraph(FLEET)) == analyze_graph(FLEET)


small_graphs = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 7), st.sampled_from(["hard", "soft"])), max_size=25
).map(lambda edges: graph_of([(f"s{a}", f"s{b}", kind) for a, b, kind in edges], extra=("s0",)))


@settings(max_examples=150, deadline=None)
@given(small_graphs)
def test_blast_radius_sizes_agree_with_blast_radius(graph: ServiceGraph) -> None:
    sizes = blast_radius_sizes(graph)
    assert sizes == {s.name: len(blast_radius(graph, s.name)) for s in sorted(graph.services, key=lambda s: s.name)}


@settings(max_examples=150, deadline=None)
@given(small_graphs)
def test_critical_path_lengths_agree_with_critical_path(graph: ServiceGraph) -> None:
    report = analyze_graph(graph)
    assert report.critical_path_length == {name: len(critical_path(graph, name)) for name in report.fan_in}


@settings(max_examples=150, deadline=None)
@given(small_graphs)
def test_cycles_are_exactly_the_mutually_reachable_groups_and_self_loops(graph: ServiceGraph) -> None:
    digraph = build_digraph(graph)
    reach = {name: nx.descendants(digraph, name) for name in digraph}  # never includes the name itself
    mutual = {a: {a} | {b for b in reach[a] if a in reach[b]} for a in digraph}
    expected = {frozenset(mutual[a]) for a in digraph if len(mutual[a]) > 1 or digraph.has_edge(a, a)}
    assert {frozenset(cycle) for cycle in dependency_cycles(graph)} == expected


@settings(max_examples=150, deadline=None)
@given(small_graphs)
def test_a_critical_path_is_a_real_chain_in_an_acyclic_graph(graph: ServiceGraph) -> None:
    hard = nx.DiGraph([(d.from_, d.to) for d in graph.dependencies if d.kind == "hard"])
    if hard.number_of_edges() and nx.is_directed_acyclic_graph(hard):
        path = critical_path(graph, next(iter(hard.nodes)))
        assert all(hard.has_edge(a, b) for a, b in itertools.pairwise(path))
        assert len(path) <= nx.dag_longest_path_length(hard) + 1


def generated_fleet(services: int, edges: int, seed: int) -> ServiceGraph:
    rng = random.Random(seed)
    names = [f"svc-{i:05d}" for i in range(services)]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        pairs.add((rng.randrange(services), rng.randrange(services)))
    return ServiceGraph(
        services=[ServiceNode(name=name, tier=rng.randrange(4)) for name in names],
        dependencies=[
            Dependency(from_=names[a], to=names[b], kind="hard" if rng.random() < 0.7 else "soft")
            for a, b in sorted(pairs)
        ],
    )


def test_a_2000_service_10000_edge_fleet_is_analyzed_with_ceilings() -> None:
    """Correctness at size; the speed goal is measured by bench/graph.py, not asserted here."""
    graph = generated_fleet(2_000, 10_000, seed=7)
    rng = random.Random(7)
    availability = {s.name: 0.99 + rng.random() * 0.01 for s in graph.services}
    ceilings = fleet_ceilings(graph, own=availability, availability=availability, shares={})
    report = analyze_graph(graph, ceilings)
    assert isinstance(report, GraphReport) and report.services == 2_000
    assert set(ceilings) == {s.name for s in graph.services}
