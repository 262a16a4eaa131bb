"""The embedded SQLite graph store: idempotent upserts, kept history, and the merged current graph."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slo_engine.embedded.graph_store import SqliteGraphStore
from slo_engine.models.graph import Dependency, ServiceNode
from slo_engine.ports import GraphStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class SteppingClock:
    """A clock that moves one minute each time it is read."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def store() -> SqliteGraphStore:
    return SqliteGraphStore(None, clock=SteppingClock())


def test_the_sqlite_store_implements_the_graph_store_port(store: SqliteGraphStore) -> None:
    assert isinstance(store, GraphStore)


def test_in_memory_stores_are_separate_whether_named_or_default() -> None:
    named, default = SqliteGraphStore(":memory:"), SqliteGraphStore()
    named.upsert_services([ServiceNode(name="a")])
    assert ([s.name for s in named.services()], default.services()) == (["a"], [])


def test_upserted_services_come_back_as_models(store: SqliteGraphStore) -> None:
    node = ServiceNode(name="checkout", tier=1, attributes={"team": "payments", "lang": "go"})
    store.upsert_services([node])
    assert store.services() == [node]


def test_upserting_the_same_service_twice_changes_nothing(store: SqliteGraphStore) -> None:
    node = ServiceNode(name="checkout", tier=1, attributes={"team": "payments"})
    store.upsert_services([node])
    first_update = store.service_updated_at("checkout")
    store.upsert_services([node])
    assert store.services() == [node]
    assert store.service_updated_at("checkout") == first_update


def test_upserting_a_changed_service_updates_it(store: SqliteGraphStore) -> None:
    store.upsert_services([ServiceNode(name="checkout", tier=1)])
    first_update = store.service_updated_at("checkout")
    store.upsert_services([ServiceNode(name="checkout", tier=2)])
    assert store.services()[0].tier == 2
    assert store.service_updated_at("checkout") != first_update


def test_upserting_the_same_dependency_twice_keeps_one_row(store: SqliteGraphStore) -> None:
    dependency = Dependency(from_="a", to="b", kind="hard", source="declared")
    store.upsert_dependencies([dependency])
    store.upsert_dependencies([dependency])
    assert store.dependencies() == [dependency]


def test_the_same_edge_from_two_sources_is_kept_as_two_rows(store: SqliteGraphStore) -> None:
    store.upsert_dependencies(
        [Dependency(from_="a", to="b", source="declared"), Dependency(from_="a", to="b", source="observed")]
    )
    assert [d.source for d in store.dependencies()] == ["declared", "observed"]


def test_a_dependency_upsert_updates_kind_and_confidence(store: SqliteGraphStore) -> None:
    store.upsert_dependencies([Dependency(from_="a", to="b", kind="soft", source="llm", confidence=0.4)])
    store.upsert_dependencies([Dependency(from_="a", to="b", kind="hard", source="llm", confidence=0.8)])
    assert [(d.kind, d.confidence) for d in store.dependencies()] == [("hard", 0.8)]


def test_last_seen_only_moves_forward(store: SqliteGraphStore) -> None:
    late = T0 + timedelta(days=2)
    store.upsert_dependencies([Dependency(from_="a", to="b", last_seen=late)])
    store.upsert_dependencies([Dependency(from_="a", to="b", last_seen=T0)])
    store.upsert_dependencies([Dependency(from_="a", to="b", last_seen=None)])
    assert store.dependencies()[0].last_seen == late


def test_a_naive_last_seen_is_taken_as_utc(store: SqliteGraphStore) -> None:
    store.upsert_dependencies([Dependency(from_="a", to="b", last_seen=datetime(2026, 11, 1, 12, 0))])
    assert store.dependencies()[0].last_seen == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_dependency_creates_its_unknown_endpoints_as_active_services(store: SqliteGraphStore) -> None:
    store.upsert_dependencies([Dependency(from_="a", to="b")])
    assert [(s.name, s.active) for s in store.services()] == [("a", True), ("b", True)]


def test_a_dependency_does_not_reactivate_an_inactive_endpoint(store: SqliteGraphStore) -> None:
    store.upsert_services([ServiceNode(name="b")])
    store.mark_inactive(["b"])
    store.upsert_dependencies([Dependency(from_="a", to="b")])
    assert [(s.name, s.active) for s in store.services()] == [("a", True), ("b", False)]


def test_mark_inactive_keeps_the_service_and_its_edges_as_history(store: SqliteGraphStore) -> None:
    store.upsert_services([ServiceNode(name="a"), ServiceNode(name="b")])
    store.upsert_dependencies([Dependency(from_="a", to="b")])
    assert store.mark_inactive(["b", "unknown"]) == 1
    assert [(s.name, s.active) for s in store.services()] == [("a", True), ("b", False)]
    assert len(store.dependencies()) == 1


def test_marking_an_inactive_service_again_changes_nothing(store: SqliteGraphStore) -> None:
    store.upsert_services([ServiceNode(name="a")])
    store.mark_inactive(["a"])
    assert store.mark_inactive(["a"]) == 0


def test_re_registering_an_inactive_service_makes_it_active(store: SqliteGraphStore) -> None:
    store.upsert_services([ServiceNode(name="a")])
    store.mark_inactive(["a"])
    store.upsert_services([ServiceNode(name="a")])
    assert store.services()[0].active is True


def test_the_graph_holds_active_services_and_the_edges_between_them(store: SqliteGraphStore) -> None:
    store.upsert_services([ServiceNode(name=name) for name in "abc"])
    store.upsert_dependencies([Dependency(from_="a", to="b"), Dependency(from_="b", to="c")])
    store.mark_inactive(["c"])
    graph = store.to_graph()
    assert [s.name for s in graph.services] == ["a", "b"]
    assert [(d.from_, d.to) for d in graph.dependencies] == [("a", "b")]


def test_the_graph_with_inactive_services_shows_who_still_calls_them(store: SqliteGraphStore) -> None:
    store.upsert_dependencies([Dependency(from_="a", to="gone")])
    store.mark_inactive(["gone"])
    graph = store.to_graph(include_inactive=True)
    assert [(s.name, s.active) for s in graph.services] == [("a", True), ("gone", False)]
    assert [(d.from_, d.to) for d in graph.dependencies] == [("a", "gone")]


def test_the_graph_merges_sources_hard_winning_with_the_highest_confidence(store: SqliteGraphStore) -> None:
    store.upsert_dependencies(
        [
            Dependency(from_="a", to="b", kind="soft", source="declared", confidence=1.0),
            Dependency(from_="a", to="b", kind="hard", source="observed", confidence=0.7),
            Dependency(from_="a", to="b", kind="soft", source="llm", confidence=0.3),
        ]
    )
    [edge] = store.to_graph().dependencies
    assert (edge.kind, edge.confidence, edge.source) == ("hard", 1.0, "declared,llm,observed")


def test_a_file_store_persists_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "data" / "graph.sqlite"
    with SqliteGraphStore(path) as first:
        first.upsert_services([ServiceNode(name="a", tier=2)])
        first.upsert_dependencies([Dependency(from_="a", to="b", kind="soft")])
    with SqliteGraphStore(str(path)) as second:
        assert [(s.name, s.tier) for s in second.services()] == [("a", 2), ("b", None)]
        assert [d.kind for d in second.dependencies()] == ["soft"]


def test_concurrent_writers_lose_nothing(store: SqliteGraphStore) -> None:
    def write(worker: int) -> None:
        for i in range(50):
            store.upsert_services([ServiceNode(name=f"w{worker}-s{i}")])
            store.upsert_dependencies([Dependency(from_=f"w{worker}-s{i}", to="shared", source=f"w{worker}")])

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.services()) == 4 * 50 + 1
    assert len(store.dependencies()) == 4 * 50


def test_a_fleet_sized_batch_round_trips_into_the_graph(store: SqliteGraphStore) -> None:
    store.upsert_services([ServiceNode(name=f"s{i}") for i in range(2_000)])
    store.upsert_dependencies([Dependency(from_=f"s{i}", to=f"s{(i * 7 + 1) % 2_000}") for i in range(2_000)])
    assert len(store.to_graph().dependencies) == 2_000
