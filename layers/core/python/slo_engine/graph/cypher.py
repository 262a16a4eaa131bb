"""The Cypher both graph stores run: Neo4j (``adapters.neo4j_graph``) and the embedded Ladybug/Kuzu database
(``embedded.cypher_graph_store``). Only the schema differs by dialect; every read and write is shared and
parameterized (rows go in as ``$rows``, never into the query text).

Services are ``(:Service {name, tier, active, attributes, updated_at})`` (attributes as JSON text);
edges are ``(:Service)-[:DEPENDS_ON {source, kind, confidence, last_seen}]->(:Service)``, one per source.
Timestamps are UTC ISO 8601 text with microseconds, so they compare correctly as strings in both dialects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slo_engine.models.graph import Dependency, ServiceNode

NEO4J_SCHEMA = (
    "CREATE CONSTRAINT service_name_unique IF NOT EXISTS FOR (s:Service) REQUIRE s.name IS UNIQUE",
    "CREATE INDEX service_active IF NOT EXISTS FOR (s:Service) ON (s.active)",
    "CREATE INDEX depends_on_source IF NOT EXISTS FOR ()-[d:DEPENDS_ON]-() ON (d.source)",
)
EMBEDDED_SCHEMA = (
    "CREATE NODE TABLE IF NOT EXISTS Service("
    "name STRING, tier INT64, active BOOLEAN, attributes STRING, updated_at STRING, PRIMARY KEY (name))",
    "CREATE REL TABLE IF NOT EXISTS DEPENDS_ON("
    "FROM Service TO Service, source STRING, kind STRING, confidence DOUBLE, last_seen STRING)",
)

# An identical upsert changes nothing, not even updated_at; re-registering an inactive service reactivates it.
# ``row.tier`` is -1 for "no tier" so that a batch of tierless services still types as integers (Kuzu/Ladybug infer a
# parameter's type from its values); it is stored as NULL.
UPSERT_SERVICES = """
UNWIND $rows AS row
WITH row, CASE WHEN row.tier < 0 THEN NULL ELSE row.tier END AS tier
MERGE (s:Service {name: row.name})
ON CREATE SET s.tier = tier, s.active = row.active, s.attributes = row.attributes, s.updated_at = row.now
ON MATCH SET
    s.updated_at = CASE
        WHEN s.tier IS NULL AND tier IS NULL AND s.active = row.active AND s.attributes = row.attributes
            THEN s.updated_at
        WHEN s.tier = tier AND s.active = row.active AND s.attributes = row.attributes THEN s.updated_at
        ELSE row.now END,
    s.tier = tier, s.active = row.active, s.attributes = row.attributes
"""
NO_TIER = -1

# Like the SQLite store: an edge's endpoints exist afterwards (an existing service, active or not, is left alone);
# edges are keyed by (from, to, source); last_seen only moves forward.
ENSURE_SERVICES = """
UNWIND $names AS name
MERGE (s:Service {name: name})
ON CREATE SET s.active = true, s.attributes = '{}', s.updated_at = $now
"""
UPSERT_DEPENDENCIES = """
UNWIND $rows AS row
MATCH (caller:Service {name: row.caller}), (callee:Service {name: row.callee})
MERGE (caller)-[d:DEPENDS_ON {source: row.source}]->(callee)
SET d.kind = row.kind,
    d.confidence = row.confidence,
    d.last_seen = CASE
        WHEN row.last_seen IS NULL THEN d.last_seen
        WHEN d.last_seen IS NULL OR row.last_seen > d.last_seen THEN row.last_seen
        ELSE d.last_seen END
"""
# Only the edge of that source goes (the pair's edges from other sources stay); its endpoints are never touched.
REMOVE_DEPENDENCIES = """
UNWIND $rows AS row
MATCH (caller:Service {name: row.caller})-[d:DEPENDS_ON {source: row.source}]->(callee:Service {name: row.callee})
DELETE d
RETURN count(*) AS removed
"""
READ_SERVICES = """
MATCH (s:Service)
RETURN s.name AS name, s.tier AS tier, s.active AS active, s.attributes AS attributes
ORDER BY name
"""
READ_DEPENDENCIES = """
MATCH (caller:Service)-[d:DEPENDS_ON]->(callee:Service)
RETURN caller.name AS caller_name, callee.name AS callee_name, d.kind AS kind, d.source AS source,
       d.confidence AS confidence, d.last_seen AS last_seen
ORDER BY caller_name, callee_name, source
"""


def timestamp(value: datetime) -> str:
    """UTC ISO 8601 with microseconds (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def service_rows(services: Sequence[ServiceNode], now: datetime) -> list[dict[str, Any]]:
    stamp = timestamp(now)
    latest = {service.name: service for service in services}  # the last of a name in one batch wins
    return [
        {
            "name": s.name,
            "tier": NO_TIER if s.tier is None else s.tier,
            "active": s.active,
            "attributes": json.dumps(s.attributes, sort_keys=True),
            "now": stamp,
        }
        for s in latest.values()
    ]


def dependency_rows(dependencies: Sequence[Dependency]) -> list[dict[str, Any]]:
    latest = {(d.from_, d.to, d.source): d for d in dependencies}  # one MERGE per key and batch
    return [
        {
            "caller": d.from_,
            "callee": d.to,
            "source": d.source,
            "kind": d.kind,
            "confidence": float(d.confidence),
            "last_seen": None if d.last_seen is None else timestamp(d.last_seen),
        }
        for d in latest.values()
    ]


def edge_key_rows(edges: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """(from, to, source) keys as rows, each once: a key listed twice is still one edge, counted once."""
    return [{"caller": caller, "callee": callee, "source": source} for caller, callee, source in dict.fromkeys(edges)]


def endpoint_names(dependencies: Sequence[Dependency]) -> list[str]:
    return sorted({name for d in dependencies for name in (d.from_, d.to)})


def service_from_record(name: str, tier: int | None, active: bool | None, attributes: str | None) -> ServiceNode:
    return ServiceNode(
        name=name,
        tier=tier,
        active=True if active is None else bool(active),
        attributes=json.loads(attributes) if attributes else {},
    )


def dependency_from_record(
    caller: str, callee: str, kind: str | None, source: str, confidence: float | None, last_seen: str | None
) -> Dependency:
    return Dependency.model_validate(
        {
            "from": caller,
            "to": callee,
            "kind": kind or "hard",
            "source": source,
            "confidence": 1.0 if confidence is None else confidence,
            "last_seen": None if last_seen is None else datetime.fromisoformat(last_seen),
        }
    )


def batches(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)]
