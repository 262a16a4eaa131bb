"""The embedded Cypher graph store: services and dependency edges in an embedded Ladybug database (the maintained
fork of Kuzu; Kuzu itself is used if Ladybug is not installed), persisted under the local data directory.

It implements ``ports.GraphStore`` with the same Cypher as the Neo4j adapter (``slo_engine.graph.cypher``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slo_engine.graph import cypher
from slo_engine.models.graph import Dependency, ServiceNode

BATCH_ROWS = 5000


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _engine() -> Any:
    try:
        import ladybug

        return ladybug
    except ImportError:
        try:
            import kuzu
        except ImportError:
            raise ImportError("the embedded Cypher graph store needs `pip install ladybug` (or kuzu)") from None
        return kuzu


class CypherGraphStore:
    """Implements ``ports.GraphStore`` over an embedded Cypher database at ``path`` (a file), or in memory
    (``None`` or ``":memory:"``). One connection, serialized by a lock."""

    def __init__(self, path: str | Path | None = None, clock: Callable[[], datetime] = _utc_now) -> None:
        engine = _engine()
        in_memory = path is None or str(path) == ":memory:"
        if not in_memory:
            Path(str(path)).parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._database = engine.Database(":memory:" if in_memory else str(path))
        self._connection = engine.Connection(self._database)
        with self._lock:
            for statement in cypher.EMBEDDED_SCHEMA:
                self._connection.execute(statement)

    def upsert_services(self, services: Sequence[ServiceNode]) -> None:
        """Insert or update services; re-registering an inactive service makes it active again."""
        rows = cypher.service_rows(services, self._clock())
        with self._lock:
            for batch in cypher.batches(rows, BATCH_ROWS):
                self._connection.execute(cypher.UPSERT_SERVICES, {"rows": batch})

    def upsert_dependencies(self, dependencies: Sequence[Dependency]) -> None:
        """Insert or update edges keyed by (from, to, source); unknown endpoints are created as active services."""
        now = cypher.timestamp(self._clock())
        names = cypher.endpoint_names(dependencies)
        rows = cypher.dependency_rows(dependencies)
        with self._lock:
            for start in range(0, len(names), BATCH_ROWS):
                self._connection.execute(
                    cypher.ENSURE_SERVICES, {"names": names[start : start + BATCH_ROWS], "now": now}
                )
            for batch in cypher.batches(rows, BATCH_ROWS):
                self._connection.execute(cypher.UPSERT_DEPENDENCIES, {"rows": batch})

    def services(self) -> list[ServiceNode]:
        """Every service ever stored (inactive ones included), by name."""
        return [cypher.service_from_record(*row) for row in self._rows(cypher.READ_SERVICES)]

    def dependencies(self) -> list[Dependency]:
        """Every stored edge, one per (from, to, source), sorted."""
        return [cypher.dependency_from_record(*row) for row in self._rows(cypher.READ_DEPENDENCIES)]

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            self._database.close()

    def __enter__(self) -> CypherGraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _rows(self, query: str) -> list[list[Any]]:
        with self._lock:
            result = self._connection.execute(query)
            rows: list[list[Any]] = []
            while result.has_next():
                rows.append(result.get_next())
        return rows
