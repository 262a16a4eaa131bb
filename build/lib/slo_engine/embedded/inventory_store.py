"""The embedded inventory store and change publisher: the registry as last polled, in SQLite (the default
``ports.InventoryStore``), and an in-memory ``ports.ChangePublisher`` that keeps what was published.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from slo_engine.discovery.events import RegistryEntry, ServiceChange

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inventory (
    service_id TEXT PRIMARY KEY,
    entry TEXT NOT NULL
);
"""


class SqliteInventoryStore:
    """Implements ``ports.InventoryStore`` over one SQLite file, or memory (``None`` or ``":memory:"``)."""

    def __init__(self, path: str | Path | None = None) -> None:
        in_memory = path is None or str(path) == ":memory:"
        if not in_memory:
            Path(str(path)).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:" if in_memory else str(path), check_same_thread=False)
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

    def load(self) -> dict[str, RegistryEntry]:
        with self._lock:
            rows = self._db.execute("SELECT service_id, entry FROM inventory ORDER BY service_id").fetchall()
        return {service_id: RegistryEntry.model_validate_json(entry) for service_id, entry in rows}

    def save(self, entries: Sequence[RegistryEntry], removed: Sequence[str]) -> None:
        """One transaction: the new or changed entries are stored and the removed ids forgotten together."""
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO inventory (service_id, entry) VALUES (?, ?) "
                "ON CONFLICT (service_id) DO UPDATE SET entry = excluded.entry",
                [(entry.service_id, entry.model_dump_json()) for entry in entries],
            )
            self._db.executemany("DELETE FROM inventory WHERE service_id = ?", [(sid,) for sid in removed])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class InMemoryChangePublisher:
    """Implements ``ports.ChangePublisher`` by keeping every published change, in order (tests, the CLI)."""

    def __init__(self) -> None:
        self.published: list[ServiceChange] = []

    def publish(self, changes: Sequence[ServiceChange]) -> int:
        self.published.extend(changes)
        return len(changes)
