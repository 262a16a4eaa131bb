"""The GraphStore port's contract, run against every implementation: the SQLite store, the embedded Cypher store
(Ladybug) and, when ``NEO4J_URI`` is set, a real Neo4j (see docs/graph.md; it empties the database it is given).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from slo_engine.models.graph import Dependency, ServiceNode
from slo_engine.ports import GraphStore

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

StoreFactory = Callable[[Path], Any]


def _sqlite(path: Path) -> Any:
    from slo_engine.embedded.graph_store import SqliteGraphStore

    return SqliteGraphStore(path / "graph.db")


def _ladybug(path: Path) -> Any:
    pytest.importorskip("ladybug", reason="the embedded Cypher store needs `pip install ladybug`")
    from slo_engine.embedded.cypher_graph_store import CypherGraphStore

    return CypherGraphStore(path / "graph.lbug")


def _neo4j(path: Path) -> Any:
    if not os.environ.get("NEO4J_URI"):
        pytest.skip("NEO4J_URI is not set: no Neo4j to run the contract against (see docs/graph.md)")
    from slo_engine.adapters.neo4j_graph import Neo4jGraphStore

    store = Neo4jGraphStore.from_env()
    store.delete_everything()
    return store


FACTORIES: dict[str, StoreFactory] = {"sqlite": _sqlite, "ladybug": _ladybug, "neo4j": _neo4j}
REOPENABLE = ("sqlite", "ladybug")


@pytest.fixture(params=sorted(FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made = FACTORIES[request.param](tmp_path)
    yield made
    made.close()


def edge(caller: str, callee: str, **fields: Any) -> Dependency:
    return Dependency.model_validate({"from": caller, "to": callee, **fields})


def by_name(store: GraphStore) -> dict[str, ServiceNode]:
    return {service.name: service for service in store.services()}


def test_implements_the_port(store: Any) -> None:
    assert isinstance(store, GraphStore)


def test_an_empty_store_lists_nothing(store: GraphStore) -> None:
    assert store.services() == []
    assert store.dependencies() == []


def test_a_service_round_trips_with_tier_attributes_and_state(store: GraphStore) -> None:
    service = ServiceNode(name="payments", tier=1, attributes={"team": "pay", "depends_on": "ledger"})
    store.upsert_services([service])
    assert store.services() == [service]


def test_a_service_without_tier_keeps_none(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name="cart")])
    assert store.services()[0].tier is None


def test_upserting_the_same_service_twice_keeps_one(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name="cart", tier=2)])
    store.upsert_services([ServiceNode(name="cart", tier=2)])
    assert [s.name for s in store.services()] == ["cart"]


def test_an_upsert_replaces_tier_and_attributes(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name="cart", tier=2, attributes={"a": "1"})])
    store.upsert_services([ServiceNode(name="cart", tier=3, attributes={"b": "2"})])
    assert by_name(store)["cart"] == ServiceNode(name="cart", tier=3, attributes={"b": "2"})


def test_services_are_listed_sorted_by_name(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name=n) for n in ("zeta", "alpha", "mid")])
    assert [s.name for s in store.services()] == ["alpha", "mid", "zeta"]


def test_a_deregistered_service_stays_inactive_with_its_edges(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name="a"), ServiceNode(name="b")])
    store.upsert_dependencies([edge("a", "b")])
    store.upsert_services([ServiceNode(name="b", active=False)])
    assert by_name(store)["b"].active is False
    assert [(d.from_, d.to) for d in store.dependencies()] == [("a", "b")]


def test_re_registering_an_inactive_service_reactivates_it(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name="b", active=False)])
    store.upsert_services([ServiceNode(name="b")])
    assert by_name(store)["b"].active is True


def test_an_edge_creates_its_unknown_endpoints_as_active_services(store: GraphStore) -> None:
    store.upsert_dependencies([edge("web", "api")])
    services = by_name(store)
    assert sorted(services) == ["api", "web"]
    assert all(s.active for s in services.values())


def test_an_edge_to_an_inactive_service_leaves_it_inactive(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name="old", tier=4, active=False)])
    store.upsert_dependencies([edge("web", "old")])
    assert by_name(store)["old"] == ServiceNode(name="old", tier=4, active=False)


def test_edges_round_trip_kind_source_confidence_and_last_seen(store: GraphStore) -> None:
    dependency = edge("a", "b", kind="soft", source="docs", confidence=0.55, last_seen=T0)
    store.upsert_dependencies([dependency])
    assert store.dependencies() == [dependency]


def test_one_pair_reported_by_two_sources_is_two_edges(store: GraphStore) -> None:
    store.upsert_dependencies([edge("a", "b", source="observed"), edge("a", "b", source="registry")])
    assert [(d.from_, d.to, d.source) for d in store.dependencies()] == [("a", "b", "observed"), ("a", "b", "registry")]


def test_the_same_source_again_updates_kind_and_confidence(store: GraphStore) -> None:
    store.upsert_dependencies([edge("a", "b", source="docs", kind="hard", confidence=0.4)])
    store.upsert_dependencies([edge("a", "b", source="docs", kind="soft", confidence=0.6)])
    [stored] = store.dependencies()
    assert (stored.kind, stored.confidence) == ("soft", 0.6)


def test_last_seen_only_moves_forward(store: GraphStore) -> None:
    store.upsert_dependencies([edge("a", "b", last_seen=T0)])
    store.upsert_dependencies([edge("a", "b", last_seen=T0 - timedelta(days=1))])
    assert store.dependencies()[0].last_seen == T0
    store.upsert_dependencies([edge("a", "b", last_seen=T0 + timedelta(seconds=1))])
    assert store.dependencies()[0].last_seen == T0 + timedelta(seconds=1)


def test_an_edge_without_last_seen_keeps_the_stored_one(store: GraphStore) -> None:
    store.upsert_dependencies([edge("a", "b", last_seen=T0)])
    store.upsert_dependencies([edge("a", "b")])
    assert store.dependencies()[0].last_seen == T0


def test_a_self_loop_is_stored_as_given_for_the_analyses_to_report(store: GraphStore) -> None:
    store.upsert_dependencies([edge("loop", "loop")])
    assert [(d.from_, d.to) for d in store.dependencies()] == [("loop", "loop")]


def test_names_are_data_never_query_text(store: GraphStore) -> None:
    hostile = ["o'brien", 'quote"d', "x}) DETACH DELETE (n", "zürich-дом", "back\\slash"]
    store.upsert_services([ServiceNode(name=name, attributes={"k": name}) for name in hostile])
    store.upsert_dependencies([edge(hostile[0], hostile[2], source=hostile[1])])
    assert sorted(by_name(store)) == sorted(hostile)
    assert by_name(store)[hostile[2]].attributes == {"k": hostile[2]}
    assert [(d.from_, d.to, d.source) for d in store.dependencies()] == [(hostile[0], hostile[2], hostile[1])]


def test_a_batch_larger_than_one_write_round_trips(store: GraphStore) -> None:
    edges = [edge(f"svc-{i:04d}", f"svc-{(i + 1) % 1500:04d}", confidence=0.5) for i in range(1500)]
    store.upsert_dependencies(edges)
    assert len(store.services()) == 1500
    assert len(store.dependencies()) == 1500


def test_removing_an_edge_removes_only_that_source_of_the_pair(store: GraphStore) -> None:
    store.upsert_dependencies([edge("a", "b", source="observed"), edge("a", "b", source="registry"), edge("a", "c")])
    assert store.remove_dependencies([("a", "b", "registry")]) == 1
    assert [(d.from_, d.to, d.source) for d in store.dependencies()] == [
        ("a", "b", "observed"),
        ("a", "c", "declared"),
    ]


def test_removing_keys_that_are_not_stored_removes_nothing(store: GraphStore) -> None:
    store.upsert_dependencies([edge("a", "b", source="registry")])
    assert store.remove_dependencies([("b", "a", "registry"), ("a", "b", "docs"), ("x", "y", "registry")]) == 0
    assert store.remove_dependencies([]) == 0
    assert [(d.from_, d.to, d.source) for d in store.dependencies()] == [("a", "b", "registry")]


def test_removing_edges_leaves_every_service_as_it_was(store: GraphStore) -> None:
    store.upsert_services([ServiceNode(name="a", tier=1, attributes={"depends_on": "b"}), ServiceNode(name="gone")])
    store.upsert_services([ServiceNode(name="gone", active=False)])
    store.upsert_dependencies([edge("a", "b"), edge("a", "gone")])
    before = store.services()
    assert store.remove_dependencies([("a", "b", "declared"), ("a", "gone", "declared")]) == 2
    assert store.dependencies() == []
    assert store.services() == before


def test_a_key_listed_twice_is_removed_and_counted_once(store: GraphStore) -> None:
    store.upsert_dependencies([edge("a", "b", source="env")])
    assert store.remove_dependencies([("a", "b", "env"), ("a", "b", "env")]) == 1
    assert store.dependencies() == []


def test_removed_names_are_data_never_query_text(store: GraphStore) -> None:
    hostile = ["o'brien", 'quote"d', "x}) DETACH DELETE (n"]
    store.upsert_dependencies([edge(hostile[0], hostile[2], source=hostile[1]), edge("keep", "me")])
    assert store.remove_dependencies([(hostile[0], hostile[2], hostile[1])]) == 1
    assert [(d.from_, d.to) for d in store.dependencies()] == [("keep", "me")]
    assert sorted(by_name(store)) == sorted([hostile[0], hostile[2], "keep", "me"])


def test_a_removal_larger_than_one_write_counts_every_edge(store: GraphStore) -> None:
    edges = [edge(f"svc-{i:04d}", f"svc-{(i + 1) % 1500:04d}") for i in range(1500)]
    store.upsert_dependencies(edges)
    assert store.remove_dependencies([(e.from_, e.to, e.source) for e in edges[:1200]]) == 1200
    assert len(store.dependencies()) == 300
    assert len(store.services()) == 1500


@pytest.mark.parametrize("kind", REOPENABLE)
def test_a_file_backed_store_keeps_the_graph_after_reopening(kind: str, tmp_path: Path) -> None:
    first = FACTORIES[kind](tmp_path)
    first.upsert_services([ServiceNode(name="a", tier=0)])
    first.upsert_dependencies([edge("a", "b", last_seen=T0)])
    first.close()
    reopened = FACTORIES[kind](tmp_path)
    try:
        assert reopened.services()[0] == ServiceNode(name="a", tier=0)
        assert reopened.dependencies() == [edge("a", "b", last_seen=T0)]
    finally:
        reopened.close()


def test_a_bulk_load_into_the_embedded_cypher_store_equals_the_upserts(tmp_path: Path) -> None:
    from slo_engine.models.graph import ServiceGraph

    graph = ServiceGraph(
        services=[
            ServiceNode(name="o'brien", tier=1, attributes={"k": 'quo"te, comma'}),
            ServiceNode(name="b"),
            ServiceNode(name="gone", active=False),
        ],
        dependencies=[
            edge("o'brien", "b", last_seen=T0),
            edge("b", "gone", kind="soft", source="docs", confidence=0.4),
        ],
    )
    bulk, upserted = _ladybug(tmp_path / "bulk"), _ladybug(tmp_path / "upserted")
    bulk.bulk_load(graph)
    upserted.upsert_services(graph.services)
    upserted.upsert_dependencies(graph.dependencies)
    assert (bulk.services(), bulk.dependencies()) == (upserted.services(), upserted.dependencies())


def test_a_bulk_load_into_a_store_that_holds_data_is_refused(tmp_path: Path) -> None:
    from slo_engine.models.graph import ServiceGraph

    store = _ladybug(tmp_path)
    store.upsert_services([ServiceNode(name="a")])
    with pytest.raises(ValueError, match="empty store"):
        store.bulk_load(ServiceGraph(services=[ServiceNode(name="b")]))
    assert [s.name for s in store.services()] == ["a"]
