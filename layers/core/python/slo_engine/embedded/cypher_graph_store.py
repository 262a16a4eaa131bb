"""The embedded Cypher graph store: services and dependency edges in an embedded Ladybug database (the maintained
fork of Kuzu; Kuzu itself is used if Ladybug is not installed), persisted under the local data directory.

It implements ``ports.GraphStore`` with the same Cypher as the Neo4j adapter (``slo_engine.graph.cypher``).
"""

from __future__ import annotations

import csv
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slo_engine.graph import cypher
from slo_engine.models.graph import Dependency, ServiceGraph, ServiceNode

BATCH_ROWS = 5000
_COUNT_SERVICES = "MATCH (s:Service) RETURN count(s)"
_COUNT_DEPENDENCIES = "MATCH ()-[d:DEPENDS_ON]->() RETURN count(d)"


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

    def remove_dependencies(self, edges: Sequence[tuple[str, str, str]]) -> int:
        """Delete the edges keyed (from, to, source); returns how many went. Unknown keys are ignored, services kept."""
        removed = 0
        with self._lock:
            for batch in cypher.batches(cypher.edge_key_rows(edges), BATCH_ROWS):
                result = self._connection.execute(cypher.REMOVE_DEPENDENCIES, {"rows": batch})
                while result.has_next():
                    removed += int(result.get_next()[0])
        return removed

    def bulk_load(self, graph: ServiceGraph) -> None:
        """Load a whole graph into an EMPTY store with ``COPY FROM`` (CSV files in a temporary folder): seconds
        instead of minutes for tens of thousands of edges. Same result as ``upsert_services`` then
        ``upsert_dependencies``; raises ``ValueError`` if the store already holds anything."""
        if self._rows(_COUNT_SERVICES)[0][0] or self._rows(_COUNT_DEPENDENCIES)[0][0]:
            raise ValueError("bulk_load needs an empty store; use upsert_services / upsert_dependencies")
        services = cypher.service_rows(graph.services, self._clock())
        dependencies = cypher.dependency_rows(graph.dependencies)
        with tempfile.TemporaryDirectory(prefix="slo-engine-graph-") as folder:
            services_csv = Path(folder) / "services.csv"
            dependencies_csv = Path(folder) / "dependencies.csv"
            _write_csv(
                services_csv,
                (
                    [
                        r["name"],
                        None if r["tier"] == cypher.NO_TIER else r["tier"],
                        r["active"],
                        r["attributes"],
                        r["now"],
                    ]
                    for r in services
                ),
            )
            _write_csv(
                dependencies_csv,
                (
                    [r["caller"], r["callee"], r["source"], r["kind"], r["confidence"], r["last_seen"]]
                    for r in dependencies
                ),
            )
            with self._lock:
                self._connection.execute(_copy("Service", services_csv))
                self._connection.execute(_copy("DEPENDS_ON", dependencies_csv))

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


def _write_csv(path: Path, rows: Iterable[list[Any]]) -> None:
    """Quoted where needed (doubled quotes inside); ``None`` as an empty unquoted field, which COPY reads as NULL."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, doublequote=True, lineterminator="\n")
        for row in rows:
            writer.writerow(["true" if v is True else "false" if v is False else v for v in row])


def _copy(table: str, path: Path) -> str:
    # COPY takes no parameters: the table is one of two constants and the path a temporary file made here.
    if "'" in str(path) or "\\" in str(path):
        raise ValueError(f"temporary folder {path.parent} has a quote or backslash in its name; set TMPDIR elsewhere")
    return f"COPY {table} FROM '{path}' (HEADER=false, QUOTE='\"', ESCAPE='\"', PARALLEL=false)"
