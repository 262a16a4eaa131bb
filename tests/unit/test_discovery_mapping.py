"""Structural mapping: one service's edges from observed traffic, declared metadata and docs, each with its source,
confidence, kind and last-seen time; bad input (unknown names, self-loops, deleted services still referenced,
broken readers) is refused or flagged, visibly, and nothing crashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from slo_engine.discovery.events import ServiceChange
from slo_engine.discovery.mapping import StructuralMapper
from slo_engine.embedded.graph_store import SqliteGraphStore
from slo_engine.embedded.reasoner import DeterministicReasoner
from slo_engine.graph.analysis import analyze_graph
from slo_engine.models.graph import ServiceNode
from slo_engine.ports import EdgeTotals

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
FLEET = ["checkout", "payments", "cart", "fraud-check", "email-sender", "ledger"]


@pytest.fixture
def graph() -> SqliteGraphStore:
    store = SqliteGraphStore(clock=lambda: NOW)
    store.upsert_services([ServiceNode(name=name) for name in FLEET])
    return store


@pytest.fixture
def mapper(graph: SqliteGraphStore) -> StructuralMapper:
    return StructuralMapper(graph, DeterministicReasoner(), clock=lambda: NOW)


def change(kind: str, service: str, **attributes: str) -> ServiceChange:
    return ServiceChange(
        kind=kind, service=service, service_id=f"srv-{service}", attributes=attributes, detected_at=NOW
    )


def edges(graph: SqliteGraphStore) -> set[tuple[str, str, str, str]]:
    return {(d.from_, d.to, d.source, d.kind) for d in graph.dependencies()}


def test_observed_calls_become_hard_edges_in_both_directions(mapper, graph) -> None:
    observed = [
        EdgeTotals("checkout", "payments", "downstream", requests=100, errors=1),
        EdgeTotals("checkout", "cart", "upstream", requests=40, errors=0),
        EdgeTotals("checkout", "ledger", "downstream", requests=0, errors=0),
    ]
    mapper.map_service("checkout", observed=observed)
    assert edges(graph) == {("checkout", "payments", "observed", "hard"), ("cart", "checkout", "observed", "hard")}


def test_every_edge_carries_source_confidence_kind_and_last_seen(mapper) -> None:
    result = mapper.map_service("checkout", attributes={"depends_on": "payments", "soft_depends_on": "email-sender"})
    assert [(d.to, d.source, d.kind, d.confidence, d.last_seen) for d in result.dependencies] == [
        ("email-sender", "registry", "soft", 0.9, NOW),
        ("payments", "registry", "hard", 0.9, NOW),
    ]


def test_catalog_info_env_urls_and_docs_each_add_edges_with_their_source(mapper, graph) -> None:
    catalog = "kind: Component\nmetadata: {name: checkout}\nspec: {dependsOn: ['component:payments']}"
    docs = "PAYMENTS_URL=http://payments.svc:8080\nCheckout depends on fraud-check before charging."
    mapper.map_service("checkout", catalog_info=catalog, documents=[docs])
    assert edges(graph) == {
        ("checkout", "payments", "catalog", "hard"),
        ("checkout", "payments", "env", "hard"),
        ("checkout", "payments", "docs", "hard"),
        ("checkout", "fraud-check", "docs", "hard"),
    }


def test_docs_edges_never_claim_more_confidence_than_the_cap(mapper) -> None:
    result = mapper.map_service("checkout", documents=["LEDGER_URL=http://ledger:80"])
    assert {d.source: d.confidence for d in result.dependencies} == {"env": 0.8, "docs": 0.7}


def test_a_declared_unknown_service_is_refused_and_reported(mapper, graph) -> None:
    result = mapper.map_service("checkout", attributes={"depends_on": "payments,ghost"})
    assert [d.to for d in result.dependencies] == ["payments"]
    assert "unknown service 'ghost'" in result.rejected[0]
    assert "ghost" not in {s.name for s in graph.services()}


def test_a_reasoner_naming_unknown_services_gets_none_into_the_graph(graph) -> None:
    class InventiveReasoner(DeterministicReasoner):
        def extract_dependencies(self, service, text, known_services):
            return [{"service": "made-up"}, {"service": "cart", "kind": "soft", "confidence": 0.9}]

    result = StructuralMapper(graph, InventiveReasoner(), clock=lambda: NOW).map_service("checkout", documents=["x"])
    assert [(d.to, d.kind, d.confidence) for d in result.dependencies] == [("cart", "soft", 0.7)]
    assert any("unknown service 'made-up'" in line for line in result.rejected)
    assert "made-up" not in {s.name for s in graph.services()}


def test_a_self_loop_from_any_source_is_refused_and_reported(mapper, graph) -> None:
    observed = [EdgeTotals("checkout", "checkout", "downstream", requests=5, errors=0)]
    result = mapper.map_service("checkout", attributes={"depends_on": "checkout"}, observed=observed)
    assert result.dependencies == []
    assert len([line for line in result.rejected if line.startswith("self-loop")]) == 2
    assert edges(graph) == set()


def test_a_failing_reasoner_loses_only_the_docs_source(graph) -> None:
    class DownReasoner(DeterministicReasoner):
        def extract_dependencies(self, service, text, known_services):
            raise TimeoutError("model timed out")

    mapper = StructuralMapper(graph, DownReasoner(), clock=lambda: NOW)
    result = mapper.map_service("checkout", attributes={"depends_on": "cart"}, documents=["calls payments"])
    assert [(d.to, d.source) for d in result.dependencies] == [("cart", "registry")]
    assert "model timed out" in result.problems[0]


def test_a_registered_service_is_stored_with_its_tier_and_attributes(mapper, graph) -> None:
    mapper.apply_change(change("registered", "search", tier="2", depends_on="cart"))
    stored = {s.name: s for s in graph.services()}["search"]
    assert (stored.tier, stored.active, stored.attributes["depends_on"]) == (2, True, "cart")
    assert ("search", "cart", "registry", "hard") in edges(graph)


def test_a_tier_attribute_out_of_range_is_reported_and_left_unset(mapper, graph) -> None:
    result = mapper.apply_change(change("registered", "search", tier="nine"))
    assert {s.name: s for s in graph.services()}["search"].tier is None
    assert "not a tier from 0 to 5" in result.problems[0]


def test_a_deregistered_service_is_kept_inactive_with_its_history(mapper, graph) -> None:
    mapper.apply_change(change("registered", "payments", depends_on="ledger"))
    result = mapper.apply_change(change("deregistered", "payments"))
    assert result.active is False
    assert {s.name: s for s in graph.services()}["payments"].active is False
    assert ("payments", "ledger", "registry", "hard") in edges(graph)


def test_deregistering_a_service_still_called_says_who_calls_it(mapper) -> None:
    mapper.map_service("checkout", attributes={"depends_on": "payments"})
    result = mapper.apply_change(change("deregistered", "payments"))
    assert result.problems == ["still called by active services: checkout"]


def test_deregistering_an_unknown_service_is_reported_not_raised(mapper) -> None:
    result = mapper.apply_change(change("deregistered", "never-seen"))
    assert "never in the graph" in result.problems[0]


def test_a_deleted_service_still_referenced_is_flagged_and_shown_by_the_analysis(mapper, graph) -> None:
    mapper.apply_change(change("deregistered", "ledger"))
    result = mapper.map_service("checkout", attributes={"depends_on": "ledger"})
    assert result.inactive_targets == ["ledger"]
    report = analyze_graph(graph.to_graph(include_inactive=True))
    assert ("checkout", "ledger") in report.edges_to_inactive
    assert "ledger" not in {s.name for s in graph.to_graph().services}


def test_a_dependency_declared_before_its_target_registered_is_mapped_when_it_registers(graph) -> None:
    mapper = StructuralMapper(graph, clock=lambda: NOW)
    early = mapper.apply_change(change("registered", "search", depends_on="ranking"))
    assert "unknown service 'ranking'" in early.rejected[0]
    late = mapper.apply_change(change("registered", "ranking"))
    assert late.remapped == ["search"]
    assert ("search", "ranking", "registry", "hard") in edges(graph)


def test_a_dependency_the_registry_stops_declaring_loses_its_registry_edge_only(mapper, graph) -> None:
    observed = [EdgeTotals("checkout", "ledger", "downstream", requests=10, errors=0)]
    mapper.map_service("checkout", attributes={"depends_on": "payments,ledger"}, observed=observed)
    result = mapper.map_service("checkout", attributes={"depends_on": "payments"})
    assert edges(graph) == {("checkout", "payments", "registry", "hard"), ("checkout", "ledger", "observed", "hard")}
    assert result.removed == ["registry: checkout -> ledger no longer declared; edge removed"]


def test_empty_attributes_declare_no_dependency_but_no_attributes_say_nothing(mapper, graph) -> None:
    mapper.map_service("checkout", attributes={"depends_on": "payments"})
    assert mapper.map_service("checkout").removed == []
    assert ("checkout", "payments", "registry", "hard") in edges(graph)
    assert mapper.map_service("checkout", attributes={}).removed == [
        "registry: checkout -> payments no longer declared; edge removed"
    ]
    assert edges(graph) == set()


def test_a_catalog_that_stops_depending_on_a_service_loses_that_edge(mapper, graph) -> None:
    catalog = "kind: Component\nmetadata: {name: checkout}\nspec: {dependsOn: [%s]}"
    mapper.map_service(
        "checkout", attributes={"depends_on": "cart"}, catalog_info=catalog % "'component:payments', 'component:cart'"
    )
    assert mapper.map_service("checkout", attributes={"depends_on": "cart"}).removed == []
    result = mapper.map_service("checkout", catalog_info=catalog % "'component:cart'")
    assert result.removed == ["catalog: checkout -> payments no longer declared; edge removed"]
    assert edges(graph) == {("checkout", "cart", "catalog", "hard"), ("checkout", "cart", "registry", "hard")}


def test_only_the_mapped_services_own_edges_are_removed(mapper, graph) -> None:
    mapper.map_service("cart", attributes={"depends_on": "ledger"})
    mapper.map_service("checkout", attributes={"depends_on": "ledger"})
    observed = [EdgeTotals("checkout", "payments", "upstream", requests=3, errors=0)]
    result = mapper.map_service("checkout", attributes={}, observed=observed)
    assert result.removed == ["registry: checkout -> ledger no longer declared; edge removed"]
    assert edges(graph) == {("cart", "ledger", "registry", "hard"), ("payments", "checkout", "observed", "hard")}


def test_a_failing_reasoner_keeps_the_old_docs_edges_but_env_urls_are_reread(graph) -> None:
    docs = "LEDGER_URL=http://ledger:80\nCheckout calls fraud-check before charging."
    StructuralMapper(graph, DeterministicReasoner(), clock=lambda: NOW).map_service("checkout", documents=[docs])
    assert ("checkout", "fraud-check", "docs", "hard") in edges(graph)

    class DownReasoner(DeterministicReasoner):
        def extract_dependencies(self, service, text, known_services):
            raise TimeoutError("model timed out")

    result = StructuralMapper(graph, DownReasoner(), clock=lambda: NOW).map_service(
        "checkout", documents=["Checkout calls fraud-check before charging."]
    )
    assert result.removed == ["env: checkout -> ledger no longer declared; edge removed"]
    assert edges(graph) == {("checkout", "fraud-check", "docs", "hard"), ("checkout", "ledger", "docs", "hard")}


def test_a_malformed_reasoner_answer_keeps_the_old_docs_edges(mapper, graph) -> None:
    mapper.map_service("checkout", documents=["Checkout calls fraud-check."])

    class RamblingReasoner(DeterministicReasoner):
        def extract_dependencies(self, service, text, known_services):
            return "fraud-check, probably"

    result = StructuralMapper(graph, RamblingReasoner(), clock=lambda: NOW).map_service("checkout", documents=["x"])
    assert result.removed == []
    assert ("checkout", "fraud-check", "docs", "hard") in edges(graph)


def test_a_reasoner_answer_that_drops_a_dependency_removes_its_docs_edge(graph) -> None:
    class Reasoner(DeterministicReasoner):
        answer: list[dict[str, str]] = [{"service": "cart"}, {"service": "payments"}]

        def extract_dependencies(self, service, text, known_services):
            return self.answer

    reasoner = Reasoner()
    mapper = StructuralMapper(graph, reasoner, clock=lambda: NOW)
    mapper.map_service("checkout", documents=["the checkout runbook"])
    reasoner.answer = [{"service": "cart"}]
    result = mapper.map_service("checkout", documents=["the checkout runbook, edited"])
    assert result.removed == ["docs: checkout -> payments no longer declared; edge removed"]
    assert edges(graph) == {("checkout", "cart", "docs", "hard")}


def test_without_a_reasoner_docs_edges_are_left_alone(mapper, graph) -> None:
    mapper.map_service("checkout", documents=["Checkout calls fraud-check."])
    result = StructuralMapper(graph, clock=lambda: NOW).map_service("checkout", documents=["nothing here"])
    assert result.removed == []
    assert edges(graph) == {("checkout", "fraud-check", "docs", "hard")}


def test_remapping_dependents_of_a_new_service_retires_only_registry_edges(graph) -> None:
    mapper = StructuralMapper(graph, DeterministicReasoner(), clock=lambda: NOW)
    mapper.apply_change(change("registered", "search", depends_on="ranking,cart"))
    mapper.map_service("search", catalog_info="kind: Component\nmetadata: {name: search}\nspec: {dependsOn: [cart]}")
    graph.upsert_services([ServiceNode(name="search", attributes={"depends_on": "ranking"})])
    late = mapper.apply_change(change("registered", "ranking"))
    assert late.remapped == ["search"]
    assert {e for e in edges(graph) if e[0] == "search"} == {
        ("search", "ranking", "registry", "hard"),
        ("search", "cart", "catalog", "hard"),
    }


def test_a_changed_service_loses_what_its_attributes_stop_declaring_and_a_deregistered_one_keeps_all(
    mapper, graph
) -> None:
    mapper.apply_change(change("registered", "payments", depends_on="ledger,cart"))
    changed = mapper.apply_change(change("changed", "payments", depends_on="ledger"))
    assert changed.removed == ["registry: payments -> cart no longer declared; edge removed"]
    gone = mapper.apply_change(change("deregistered", "payments"))
    assert gone.removed == []
    assert ("payments", "ledger", "registry", "hard") in edges(graph)


def test_a_service_whose_last_document_is_gone_loses_its_env_and_docs_edges(mapper, graph) -> None:
    mapper.map_service("checkout", documents=["LEDGER_URL=http://ledger:80\nCheckout calls fraud-check."])
    assert {e[2] for e in edges(graph)} == {"env", "docs"}
    untouched = mapper.map_service("checkout", documents=None)  # no document store consulted
    assert untouched.removed == [] and {e[2] for e in edges(graph)} == {"env", "docs"}
    result = mapper.map_service("checkout", documents=[])  # the store holds nothing for it any more
    assert sorted(result.removed) == [
        "docs: checkout -> fraud-check no longer declared; edge removed",
        "docs: checkout -> ledger no longer declared; edge removed",
        "env: checkout -> ledger no longer declared; edge removed",
    ]
    assert edges(graph) == set()
