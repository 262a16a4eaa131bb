"""The Relationship Discovery agent on the sample fleet with the embedded Cypher graph store behind the port
(``graph_store="cypher"``): it reports the fleet's cycle and capped ceilings exactly as with the SQLite store."""

from __future__ import annotations

import pytest

from slo_engine.agents.relationship import RelationshipDiscoveryAgent
from slo_engine.config import EngineConfig
from slo_engine.engine import Engine
from slo_engine.graph.loader import parse_graph_document
from slo_engine.ingest.snapshot_file import read_snapshot_file
from slo_engine.workflow.pipeline import load_graph

pytest.importorskip("ladybug", reason="the embedded Cypher store needs `pip install ladybug`")


@pytest.fixture(scope="module")
def fleet_inputs(tmp_path_factory):
    from slo_engine.embedded.fleet import generate_fleet

    fleet = generate_fleet(seed=7, days=2)
    root = tmp_path_factory.mktemp("fleet")
    fleet.write_snapshots_jsonl(root / "snapshots.jsonl", days=2, step_seconds=300)
    snapshots = read_snapshot_file(root / "snapshots.jsonl").snapshots
    return parse_graph_document(fleet.graph_document()), snapshots


def analyzed(graph_store: str, fleet_inputs, tmp_path):
    graph, snapshots = fleet_inputs
    config = EngineConfig(graph_store=graph_store)
    engine = Engine.embedded(tmp_path / graph_store, config=config, resolution_seconds=300)
    engine.metrics.write_snapshots(snapshots)
    load_graph(engine, graph)
    return engine, RelationshipDiscoveryAgent(engine.graph, engine.metrics).analyze_fleet()


def test_the_cypher_store_is_persisted_under_the_data_directory(fleet_inputs, tmp_path) -> None:
    engine, _ = analyzed("cypher", fleet_inputs, tmp_path)
    assert type(engine.graph).__name__ == "CypherGraphStore"
    assert (tmp_path / "cypher" / "graph.lbug").exists()


def test_the_agent_reports_the_fleet_cycle_and_capped_ceilings_from_the_cypher_store(fleet_inputs, tmp_path) -> None:
    _, (graph, ceilings, cycles) = analyzed("cypher", fleet_inputs, tmp_path)
    assert ["inventory", "warehouse-sync"] in cycles
    assert any(ceiling.capped_by for ceiling in ceilings.values())
    assert len(graph.services) == 36


def test_the_cypher_and_sqlite_stores_give_the_same_analysis(fleet_inputs, tmp_path) -> None:
    _, (_, cypher_ceilings, cypher_cycles) = analyzed("cypher", fleet_inputs, tmp_path)
    _, (_, sqlite_ceilings, sqlite_cycles) = analyzed("sqlite", fleet_inputs, tmp_path)
    assert cypher_cycles == sqlite_cycles
    assert {n: (c.value, c.capped_by) for n, c in cypher_ceilings.items()} == {
        n: (c.value, c.capped_by) for n, c in sqlite_ceilings.items()
    }
