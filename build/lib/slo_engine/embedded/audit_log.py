"""The embedded audit log: append-only audit events in SQLite, queried by service and by actor.

The AWS counterpart is the DynamoDB AuditLog table (``adapters/aws/audit_log.py``). There is no update
or delete here: a trigger refuses both, so a record once written stays as it was written.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from slo_engine.models.audit import AuditEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, service TEXT NOT NULL,
    action TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_service ON audit (service, seq);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class SqliteAuditLog:
    """Implements ``ports.AuditLog`` over one SQLite file (or memory)."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._db.executescript(_SCHEMA)

    def append(self, event: AuditEvent) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO audit (at, actor, service, action, doc) VALUES (?, ?, ?, ?, ?)",
                (event.at.isoformat(), event.actor, event.service, event.action, event.model_dump_json()),
            )

    def for_service(self, service: str, limit: int = 100) -> list[AuditEvent]:
        return self._query("service", service, limit)

    def for_actor(self, actor: str, limit: int = 100) -> list[AuditEvent]:
        return self._query("actor", actor, limit)

    def _query(self, column: str, value: str, limit: int) -> list[AuditEvent]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT doc FROM audit WHERE {column}=? ORDER BY seq DESC LIMIT ?",  # column is one of two literals
                (value, limit),
            ).fetchall()
        return [AuditEvent.model_validate_json(row[0]) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
