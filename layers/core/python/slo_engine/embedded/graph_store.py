"""The embedded graph store: services and their dependency edges in SQLite (the default ``ports.GraphStore``).

Every service ever seen is kept; deregistered services are marked inactive, never deleted. Every (from, to, source)
edge is kept until its source stops reporting it (``remove_dependencies``). ``to_graph`` folds the history into the
current graph. Production uses Neo4j behind the same port.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from slo_engine.graph.loader import merge_dependencies
from slo_engine.models.graph import Dependency, ServiceGraph, ServiceNode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    name TEXT PRIMARY KEY,
    tier INTEGER,
    active INTEGER NOT NULL DEFAULT 1,
    attributes TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dependencies (
    "from" TEXT NOT NULL,
    "to" TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft')),
    source TEXT NOT NULL,
    confidence REAL NOT NULL,
    last_seen TEXT,
    PRIMARY KEY ("from", "to", source)
);
CREATE INDEX IF NOT EXISTS dependencies_by_callee ON dependencies ("to");
"""

# An identical upsert changes nothing, not even updated_at.
_UPSERT_SERVICE = """
INSERT INTO services (name, tier, active, attributes, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    tier = excluded.tier, active = excluded.active, attributes = excluded.attributes, updated_at = excluded.updated_at
WHERE services.tier IS NOT excluded.tier
    OR services.active IS NOT excluded.active
    OR services.attributes IS NOT excluded.attributes
"""

# Like Cypher MERGE: an edge's endpoints exist afterwards; an existing service (active or not) is left alone.
_ENSURE_SERVICE = """
INSERT INTO services (name, tier, active, attributes, updated_at) VALUES (?, NULL, 1, '{}', ?)
ON CONFLICT (name) DO NOTHING
"""

# last_seen only moves forward.
_UPSERT_DEPENDENCY = """
INSERT INTO dependencies ("from", "to", kind, source, confidence, last_seen) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT ("from", "to", source) DO UPDATE SET
    kind = excluded.kind,
    confidence = excluded.confidence,
    last_seen = CASE
        WHEN excluded.last_seen IS NULL THEN dependencies.last_seen
        WHEN dependencies.last_seen IS NULL OR excluded.last_seen > dependencies.last_seen THEN excluded.last_seen
        ELSE dependencies.last_seen
    END
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqliteGraphStore:
    """Implements ``ports.GraphStore`` over one SQLite file, or memory (``None`` or ``":memory:"``).

    One connection shared by threads behind a lock: enough for the local pipeline's concurrent agents.
    """

    def __init__(self, path: str | Path | None = None, clock: Callable[[], datetime] = _utc_now) -> None:
        in_memory = path is None or str(path) == ":memory:"
        if not in_memory:
            Path(str(path)).parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:" if in_memory else str(path), check_same_thread=False)
        with self._lock:
            if not in_memory:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def upsert_services(self, services: Sequence[ServiceNode]) -> None:
        """Insert or update services; re-registering an inactive service makes it active again."""
        now = _timestamp(self._clock())
        rows = [(s.name, s.tier, int(s.active), json.dumps(s.attributes, sort_keys=True), now) for s in services]
        with self._lock, self._db:
            self._db.executemany(_UPSERT_SERVICE, rows)

    def upsert_dependencies(self, dependencies: Sequence[Dependency]) -> None:
        """Insert or update edges keyed by (from, to, source); unknown endpoints are created as active services."""
        now = _timestamp(self._clock())
        endpoints = sorted({name for d in dependencies for name in (d.from_, d.to)})
        rows = [
            (
                d.from_,
                d.to,
                d.kind,
                d.source,
                d.confidence,
                None if d.last_seen is None else _timestamp(d.last_seen),
            )
            for d in dependencies
        ]
        with self._lock, self._db:
            self._db.executemany(_ENSURE_SERVICE, [(name, now) for name in endpoints])
            self._db.executemany(_UPSERT_DEPENDENCY, rows)

    def remove_dependencies(self, edges: Sequence[tuple[str, str, str]]) -> int:
        """Delete the edges keyed (from, to, source); returns how many went. Unknown keys are ignored, services kept."""
        with self._lock, self._db:
            cursor = self._db.executemany(
                'DELETE FROM dependencies WHERE "from" = ? AND "to" = ? AND source = ?', list(dict.fromkeys(edges))
            )
            return cursor.rowcount

    def mark_inactive(self, names: Iterable[str]) -> int:
        """Mark services deregistered, keeping them and their edges as history; returns how many changed."""
        now = _timestamp(self._clock())
        with self._lock, self._db:
            changed = 0
            for name in sorted(set(names)):
                cursor = self._db.execute(
                    "UPDATE services SET active = 0, updated_at = ? WHERE name = ? AND active = 1", (now, name)
                )
                changed += cursor.rowcount
        return changed

    def services(self) -> list[ServiceNode]:
        """Every service ever stored (inactive ones included), by name."""
        with self._lock:
            rows = self._db.execute("SELECT name, tier, active, attributes FROM services ORDER BY name").fetchall()
        return [
            ServiceNode(name=name, tier=tier, active=bool(active), attributes=json.loads(attributes))
            for name, tier, active, attributes in rows
        ]

    def dependencies(self) -> list[Dependency]:
        """Every stored edge, one per (from, to, source), sorted."""
        with self._lock:
            rows = self._db.execute(
                'SELECT "from", "to", kind, source, confidence, last_seen FROM dependencies '
                'ORDER BY "from", "to", source'
            ).fetchall()
        return [_dependency(row) for row in rows]

    def service_updated_at(self, name: str) -> datetime | None:
        """When the service's stored record last changed (None if unknown)."""
        with self._lock:
            row = self._db.execute("SELECT updated_at FROM services WHERE name = ?", (name,)).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def to_graph(self, include_inactive: bool = False) -> ServiceGraph:
        """The current graph: active services and the edges between them, one edge per (from, to) with the
        sources merged (hard wins over soft, highest confidence, latest ``last_seen``).

        ``include_inactive=True`` keeps deregistered services (``active=False``) and the edges to and from them,
        so an analysis can show who still calls a deleted service.
        """
        services = self.services()
        if not include_inactive:
            services = [service for service in services if service.active]
        names = {service.name for service in services}
        dependencies = [d for d in self.dependencies() if d.from_ in names and d.to in names]
        return ServiceGraph(services=services, dependencies=merge_dependencies(dependencies))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteGraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _timestamp(value: datetime) -> str:
    """UTC ISO 8601 with microseconds, so stored timestamps compare correctly as text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dependency(row: tuple[str, str, str, str, float, str | None]) -> Dependency:
    caller, callee, kind, source, confidence, last_seen = row
    return Dependency.model_validate(
        {
            "from": caller,
            "to": callee,
            "kind": kind,
            "source": source,
            "confidence": confidence,
            "last_seen": None if last_seen is None else datetime.fromisoformat(last_seen),
        }
    )
