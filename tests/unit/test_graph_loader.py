"""The graph file loader (errors fit for a CLI), observed edges and the merging of parallel edges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from slo_engine.graph.loader import (
    GraphFileError,
    graph_from_observed_edges,
    load_graph_file,
    merge_dependencies,
    parse_graph_json,
)
from slo_engine.models.graph import Dependency, ServiceGraph, ServiceNode
from slo_engine.ports import EdgeTotals

VALID_GRAPH: dict[str, Any] = {
    "services": [{"name": "checkout", "tier": 1}, {"name": "payments", "tier": 1}, {"name": "email"}],
    "dependencies": [
        {"from": "checkout", "to": "payments", "kind": "hard"},
        {"from": "checkout", "to": "email", "kind": "soft"},
    ],
}


def write_json(tmp_path: Path, document: object, name: str = "graph.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def load_error(path: Path) -> GraphFileError:
    with pytest.raises(GraphFileError) as caught:
        load_graph_file(path)
    return caught.value


def test_a_valid_graph_file_loads_services_and_dependencies(tmp_path: Path) -> None:
    graph = load_graph_file(write_json(tmp_path, VALID_GRAPH))
    assert [s.name for s in graph.services] == ["checkout", "payments", "email"]
    assert [(d.from_, d.to, d.kind) for d in graph.dependencies] == [
        ("checkout", "payments", "hard"),
        ("checkout", "email", "soft"),
    ]


def test_a_graph_file_path_may_be_a_string(tmp_path: Path) -> None:
    assert len(load_graph_file(str(write_json(tmp_path, VALID_GRAPH))).services) == 3


def test_extra_fields_in_the_graph_file_are_ignored(tmp_path: Path) -> None:
    document = {**VALID_GRAPH, "version": 2, "services": [{"name": "a", "owner": "team-x"}], "dependencies": []}
    assert load_graph_file(write_json(tmp_path, document)).services[0].name == "a"


def test_graph_file_error_is_a_value_error() -> None:
    assert issubclass(GraphFileError, ValueError)


def test_a_missing_file_is_named_in_the_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nope.json")
    assert str(error) == f"{tmp_path / 'nope.json'}: file not found"


def test_a_directory_is_not_a_graph_file(tmp_path: Path) -> None:
    assert "is a directory" in str(load_error(tmp_path))


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    path.write_bytes(b'{"services": ["\xff"]}')
    assert "not UTF-8" in str(load_error(path))


def test_an_empty_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    path.write_text("  \n", encoding="utf-8")
    assert "file is empty" in str(load_error(path))


def test_invalid_json_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    path.write_text('{\n  "services": [\n    {"name": "a",}\n  ]\n}\n', encoding="utf-8")
    error = load_error(path)
    assert str(error).startswith(f"{path}: invalid JSON at line 3, column 18")


def test_a_top_level_array_is_rejected(tmp_path: Path) -> None:
    assert "expected a JSON object" in str(load_error(write_json(tmp_path, [1, 2])))


def test_services_that_is_not_a_list_is_rejected(tmp_path: Path) -> None:
    assert '"services" must be a list, got a string' in str(load_error(write_json(tmp_path, {"services": "a"})))


def test_a_schema_error_names_the_dependency_index_and_field(tmp_path: Path) -> None:
    document = {**VALID_GRAPH, "dependencies": [*VALID_GRAPH["dependencies"], {"from": "a", "to": "b", "kind": "sync"}]}
    error = load_error(write_json(tmp_path, document))
    assert "dependencies[2].kind: Input should be 'hard' or 'soft' (got 'sync')" in str(error)


def test_a_missing_field_names_the_dependency_index(tmp_path: Path) -> None:
    document = {"services": [{"name": "a"}], "dependencies": [{"to": "a"}]}
    assert "dependencies[0].from: Field required" in str(load_error(write_json(tmp_path, document)))


def test_a_schema_error_in_a_service_names_its_index_and_name(tmp_path: Path) -> None:
    document = {"services": [{"name": "a"}, {"name": "b", "tier": 9}]}
    assert "services[1] ('b').tier:" in str(load_error(write_json(tmp_path, document)))


def test_an_unknown_service_in_a_dependency_is_named(tmp_path: Path) -> None:
    document = {**VALID_GRAPH, "dependencies": [{"from": "checkout", "to": "ledger"}]}
    error = load_error(write_json(tmp_path, document))
    assert "dependencies[0] (checkout -> ledger): unknown service 'ledger' in \"to\"" in str(error)


def test_a_service_with_a_schema_error_is_not_also_reported_as_unknown(tmp_path: Path) -> None:
    document = {"services": [{"name": "a", "tier": -1}], "dependencies": [{"from": "a", "to": "a"}]}
    error = load_error(write_json(tmp_path, document))
    assert error.problems == [error.problems[0]]
    assert "services[0] ('a').tier" in error.problems[0]


def test_a_service_listed_twice_is_a_duplicate(tmp_path: Path) -> None:
    document = {"services": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}
    error = load_error(write_json(tmp_path, document))
    assert "service 'a' is listed twice (services[0] and services[2] ('a'))" in str(error)


def test_a_dependency_listed_twice_with_another_kind_is_a_conflicting_duplicate(tmp_path: Path) -> None:
    document = {
        "services": [{"name": "a"}, {"name": "b"}],
        "dependencies": [{"from": "a", "to": "b", "kind": "hard"}, {"from": "a", "to": "b", "kind": "soft"}],
    }
    error = load_error(write_json(tmp_path, document))
    assert "dependencies[1] (a -> b) repeats dependencies[0] (declared hard there, soft here)" in str(error)


def test_every_problem_is_listed_in_one_error(tmp_path: Path) -> None:
    document = {
        "services": [{"name": "a"}, {"name": "a"}],
        "dependencies": [{"from": "a", "to": "x"}, {"from": "a", "to": "b", "kind": "maybe"}],
    }
    error = load_error(write_json(tmp_path, document))
    assert len(error.problems) == 3
    assert str(error).startswith(f"{tmp_path / 'graph.json'}: 3 problems\n  - ")


def test_a_long_list_of_problems_is_truncated_with_a_count(tmp_path: Path) -> None:
    document = {"services": [], "dependencies": [{"from": f"s{i}", "to": "t"} for i in range(30)]}
    message = str(load_error(write_json(tmp_path, document)))
    assert "60 problems" in message
    assert message.endswith("... and 40 more")


def test_parse_graph_json_names_the_given_source() -> None:
    with pytest.raises(GraphFileError, match=r"^s3://bucket/graph\.json: invalid JSON"):
        parse_graph_json("{", source="s3://bucket/graph.json")


def test_a_self_loop_in_the_file_is_loaded_not_rejected(tmp_path: Path) -> None:
    document = {"services": [{"name": "a"}], "dependencies": [{"from": "a", "to": "a"}]}
    assert load_graph_file(write_json(tmp_path, document)).dependencies[0].to == "a"


def edge(service: str, peer: str, direction: str = "downstream", requests: int = 10) -> EdgeTotals:
    return EdgeTotals(service=service, peer=peer, direction=direction, requests=requests, errors=0)


def test_observed_edges_without_a_declared_graph_become_hard_observed_dependencies() -> None:
    graph = graph_from_observed_edges([edge("a", "b")])
    assert [s.name for s in graph.services] == ["a", "b"]
    assert [(d.from_, d.to, d.kind, d.source) for d in graph.dependencies] == [("a", "b", "hard", "observed")]


def test_an_upstream_edge_points_from_the_peer_to_the_service() -> None:
    graph = graph_from_observed_edges([edge("b", "a", direction="upstream")])
    assert [(d.from_, d.to) for d in graph.dependencies] == [("a", "b")]


def test_an_edge_seen_from_both_ends_is_added_once() -> None:
    graph = graph_from_observed_edges([edge("a", "b"), edge("b", "a", direction="upstream")])
    assert len(graph.dependencies) == 1


def test_an_edge_with_no_requests_is_not_observed() -> None:
    assert graph_from_observed_edges([edge("a", "b", requests=0)]).dependencies == []


def test_a_declared_soft_edge_stays_soft_when_observed() -> None:
    known = ServiceGraph(
        services=[ServiceNode(name="a"), ServiceNode(name="b")],
        dependencies=[Dependency(from_="a", to="b", kind="soft")],
    )
    graph = graph_from_observed_edges([edge("a", "b")], known)
    assert [(d.kind, d.source) for d in graph.dependencies] == [("soft", "declared")]


def test_services_seen_only_in_snapshots_are_added_and_marked_observed() -> None:
    known = ServiceGraph(services=[ServiceNode(name="a", tier=1)])
    graph = graph_from_observed_edges([edge("a", "z")], known)
    assert graph.services[0].tier == 1
    assert graph.services[1].name == "z"
    assert graph.services[1].attributes == {"discovered_by": "observed"}


def test_observed_additions_are_sorted_whatever_the_input_order() -> None:
    edges = [edge("c", "a"), edge("b", "a"), edge("a", "d")]
    assert graph_from_observed_edges(edges) == graph_from_observed_edges(list(reversed(edges)))


def test_an_edge_with_an_unknown_direction_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown direction 'sideways'"):
        graph_from_observed_edges([edge("a", "b", direction="sideways")])


def test_merging_parallel_edges_keeps_hard_over_soft() -> None:
    merged = merge_dependencies(
        [Dependency(from_="a", to="b", kind="soft"), Dependency(from_="a", to="b", kind="hard", source="observed")]
    )
    assert [(d.kind, d.source) for d in merged] == [("hard", "declared,observed")]


def test_merging_parallel_edges_keeps_the_highest_confidence_and_latest_sighting() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    merged = merge_dependencies(
        [
            Dependency(from_="a", to="b", confidence=0.4, source="llm", last_seen=late),
            Dependency(from_="a", to="b", confidence=0.9, source="registry", last_seen=early),
        ]
    )
    assert (merged[0].confidence, merged[0].last_seen) == (0.9, late)


def test_merging_keeps_distinct_pairs_apart_and_sorted() -> None:
    merged = merge_dependencies([Dependency(from_="b", to="a"), Dependency(from_="a", to="b")])
    assert [(d.from_, d.to) for d in merged] == [("a", "b"), ("b", "a")]
