"""Observed dependencies carry the time their calls were last seen, from the snapshot sink's ledger through the
mapping to the graph, and the Relationship Discovery agent stops counting one that traffic no longer shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from slo_engine.adapters.aws.observed_edges import DynamoDbObservedEdges
from slo_engine.adapters.aws.snapshot_sink_stores import DynamoDbEdgeLedger
from slo_engine.agents.relationship import RelationshipDiscoveryAgent, stale_observed
from slo_engine.discovery.mapping import StructuralMapper
from slo_engine.embedded.graph_store import SqliteGraphStore
from slo_engine.embedded.metric_store import SqliteMetricStore
from slo_engine.models import ServiceSnapshot
from slo_engine.models.graph import Dependency, ServiceNode
from slo_engine.ports import EdgeTotals

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def snapshot(service: str, start: datetime, downstream: dict[str, int]) -> ServiceSnapshot:
    return ServiceSnapshot.model_validate(
        {
            "service": service,
            "window_start": start.isoformat(),
            "window_seconds": 10,
            "requests": 10,
            "errors": 0,
            "downstream": {peer: {"requests": n, "errors": 0} for peer, n in downstream.items()},
        }
    )


def test_the_sink_ledger_keeps_when_calls_were_last_seen_and_the_mapping_reads_it_back() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for name, keys in (("edges", ("upstream", "downstream")), ("claims", ("id",))):
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            )
        ledger = DynamoDbEdgeLedger("edges", "claims", client=client)
        first = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        assert ledger.record_once(snapshot("checkout", first, {"payments": 3, "idle": 0}))
        assert ledger.record_once(snapshot("checkout", first + timedelta(hours=1), {"payments": 2}))
        edges = DynamoDbObservedEdges("edges", resource=boto3.resource("dynamodb", region_name="us-east-1"))
        (payments,) = edges.downstream_of("checkout")  # a peer with no calls is not an edge
        assert (payments.peer, payments.requests) == ("payments", 5)
        assert payments.last_seen == first + timedelta(hours=1, seconds=10)


def test_the_mapping_stamps_an_observed_edge_with_its_traffic_time_not_the_mapping_time() -> None:
    graph = SqliteGraphStore(clock=lambda: NOW)
    graph.upsert_services([ServiceNode(name=n) for n in ("checkout", "payments", "ledger")])
    seen = NOW - timedelta(days=3)
    StructuralMapper(graph, clock=lambda: NOW).map_service(
        "checkout",
        observed=[
            EdgeTotals("checkout", "payments", "downstream", 100, 1, last_seen=seen),
            EdgeTotals("checkout", "ledger", "downstream", 5, 0),
        ],
    )
    stamped = {d.to: d.last_seen for d in graph.dependencies()}
    assert stamped == {"payments": seen, "ledger": NOW}


def test_the_embedded_metric_store_knows_the_last_day_with_calls() -> None:
    store = SqliteMetricStore()
    store.write_snapshots([snapshot("checkout", datetime(2026, 11, 20, 8, tzinfo=UTC), {"payments": 3})])
    (edge,) = store.edges("checkout")
    assert edge.last_seen == datetime(2026, 11, 21, tzinfo=UTC)  # the end of that UTC day


def dependency(caller: str, callee: str, source: str, seen: datetime | None) -> Dependency:
    return Dependency.model_validate({"from": caller, "to": callee, "source": source, "last_seen": seen})


def test_an_observed_edge_goes_stale_relative_to_the_newest_traffic_not_the_wall_clock() -> None:
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)  # historical data: everything is old by the wall clock
    edges = [
        dependency("a", "b", "observed", long_ago),
        dependency("a", "c", "observed", long_ago - timedelta(days=20)),
        dependency("a", "d", "observed", None),
        dependency("a", "c", "registry", long_ago - timedelta(days=60)),
    ]
    assert [(d.to, d.source) for d in stale_observed(edges, 14)] == [("c", "observed")]
    assert stale_observed(edges, None) == []


def test_the_relationship_agent_stops_counting_a_dependency_traffic_no_longer_shows() -> None:
    graph = SqliteGraphStore(clock=lambda: NOW)
    graph.upsert_services([ServiceNode(name=n) for n in ("checkout", "payments", "old-ledger", "fraud")])
    graph.upsert_dependencies(
        [
            dependency("checkout", "payments", "observed", NOW),
            dependency("checkout", "old-ledger", "observed", NOW - timedelta(days=30)),
            dependency("checkout", "fraud", "observed", NOW - timedelta(days=30)),
            dependency("checkout", "fraud", "registry", NOW - timedelta(days=30)),  # still declared: it counts
        ]
    )
    finding = RelationshipDiscoveryAgent(graph, SqliteMetricStore(), max_observed_age_days=14).discover("checkout")
    assert finding.data["hard_dependencies"] == ["fraud", "payments"]
    stale = [e.statement for e in finding.evidence if "not counted" in e.statement]
    assert stale == [
        "observed calls to old-ledger last seen 2026-10-30, over 14 days before the newest traffic: "
        "not counted as a dependency"
    ]
    assert (
        "old-ledger"
        in RelationshipDiscoveryAgent(graph, SqliteMetricStore()).discover("checkout").data["hard_dependencies"]
    )
