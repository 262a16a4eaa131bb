"""Engine.from_env: an AWS or driver adapter stands behind a port only when its settings are present."""

from __future__ import annotations

import pytest

from slo_engine.embedded.graph_store import SqliteGraphStore
from slo_engine.embedded.runbook_index import LocalRunbookIndex
from slo_engine.entrypoints import wiring

CLEAR = (
    "SLO_ENGINE_PROMETHEUS_QUERY_URL",
    "SLO_ENGINE_PROMETHEUS_REMOTE_WRITE_URL",
    "NEO4J_URI",
    "SLO_ENGINE_NEO4J_SECRET_ARN",
    "SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT",
    "SLO_ENGINE_S3_VECTORS_BUCKET",
    "SLO_ENGINE_REASONER_MODEL_ID",
    "SLO_ENGINE_RECOMMENDATIONS_TABLE",
    "SLO_ENGINE_APPROVALS_TABLE",
    "SLO_ENGINE_EVENT_BUS",
)


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLO_ENGINE_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_without_settings_every_port_is_embedded(env):
    engine = wiring.engine_from_env()
    assert isinstance(engine.graph, SqliteGraphStore)
    assert isinstance(engine.runbooks, LocalRunbookIndex)


def test_neo4j_settings_put_the_neo4j_adapter_behind_the_graph_port(env):
    from slo_engine.adapters import neo4j_graph

    sentinel = object()
    env.setattr(neo4j_graph.Neo4jGraphStore, "from_env", classmethod(lambda cls, environ=None: sentinel))
    env.setenv("NEO4J_URI", "bolt://127.0.0.1:7687")
    assert wiring.engine_from_env().graph is sentinel


def test_a_vector_collection_endpoint_puts_opensearch_behind_the_runbook_port(env):
    from slo_engine.entrypoints import runbook_indexer

    sentinel = object()
    env.setattr(runbook_indexer, "runbook_index_from_env", lambda: sentinel)
    env.setenv("SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT", "https://example.aoss.amazonaws.com")
    assert wiring.engine_from_env().runbooks is sentinel


def test_a_prometheus_query_url_puts_prometheus_behind_the_metric_port(env):
    from slo_engine.adapters.prometheus import PrometheusMetricStore

    env.setenv("SLO_ENGINE_PROMETHEUS_QUERY_URL", "http://127.0.0.1:9")
    assert isinstance(wiring.engine_from_env().metrics, PrometheusMetricStore)
