"""The embedded state store: recommendations, approvals, feedback and past Q&A in SQLite.

The AWS counterpart is DynamoDB (``adapters/aws``). Recommendations are stored as their JSON
document; decisions are append-only and a recommendation is decided at most once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from slo_engine.models import ApprovalDecision, ContextEntry, FeedbackRecord, Recommendation, RecommendationStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recommendations (
    id TEXT PRIMARY KEY, service TEXT NOT NULL, sli TEXT NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recommendations_by_service ON recommendations (service, status);
CREATE TABLE IF NOT EXISTS decisions (
    recommendation_id TEXT PRIMARY KEY, approved INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_service ON feedback (service);
CREATE TABLE IF NOT EXISTS context (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS context_by_service ON context (service);
"""


class DecisionError(ValueError):
    """A decision that cannot be taken: unknown recommendation, or already decided."""


class SqliteStateStore:
    """Implements ``ports.StateStore`` over one SQLite file (or memory)."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._db.executescript(_SCHEMA)

    def save_recommendations(self, recommendations: Sequence[Recommendation]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO recommendations VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (r.id, r.service, r.sli.value, r.status.value, r.created_at.isoformat(), r.model_dump_json())
                    for r in recommendations
                ],
            )

    def get_recommendation(self, recommendation_id: str) -> Recommendation | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM recommendations WHERE id=?", (recommendation_id,)).fetchone()
        return Recommendation.model_validate_json(row[0]) if row else None

    def list_recommendations(self, service: str | None = None, status: str | None = None) -> list[Recommendation]:
        query, args = "SELECT doc FROM recommendations WHERE 1=1", []
        if service is not None:
            query += " AND service=?"
            args.append(service)
        if status is not None:
            query += " AND status=?"
            args.append(status)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY service, sli, created_at", args).fetchall()
        return [Recommendation.model_validate_json(r[0]) for r in rows]

    def record_decision(self, decision: ApprovalDecision) -> Recommendation:
        """Decide a pending recommendation once; a second decision is refused, never overwrites."""
        with self._lock, self._db:
            rec = self.get_recommendation(decision.recommendation_id)
            if rec is None:
                raise DecisionError(f"no recommendation with id {decision.recommendation_id!r}")
            if rec.status is not RecommendationStatus.PENDING:
                raise DecisionError(
                    f"recommendation {rec.id} was already {rec.status.value} by {rec.decided_by or 'policy'}"
                )
            self._db.execute(
                "INSERT INTO decisions VALUES (?, ?, ?, ?, ?)",
                (rec.id, int(decision.approved), decision.by, decision.reason, decision.at.isoformat()),
            )
            decided = rec.model_copy(
                update={
                    "status": RecommendationStatus.APPROVED if decision.approved else RecommendationStatus.REJECTED,
                    "decided_by": decision.by,
                    "decision_reason": decision.reason,
                }
            )
            self._db.execute(
                "UPDATE recommendations SET status=?, doc=? WHERE id=?",
                (decided.status.value, decided.model_dump_json(), rec.id),
            )
        return decided

    def add_feedback(self, feedback: FeedbackRecord) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO feedback (service, doc) VALUES (?, ?)", (feedback.service, feedback.model_dump_json())
            )

    def feedback_for(self, service: str) -> list[FeedbackRecord]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM feedback WHERE service=? ORDER BY seq", (service,)).fetchall()
        return [FeedbackRecord.model_validate_json(r[0]) for r in rows]

    def add_context(self, entry: ContextEntry) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO context (service, doc) VALUES (?, ?)", (entry.service, entry.model_dump_json())
            )

    def context_for(self, service: str, limit: int = 20) -> list[ContextEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM context WHERE service=? ORDER BY seq DESC LIMIT ?", (service, limit)
            ).fetchall()
        return [ContextEntry.model_validate_json(r[0]) for r in reversed(rows)]

    def export_json(self) -> str:
        return json.dumps([r.public() for r in self.list_recommendations()], indent=2)

    def close(self) -> None:
        with self._lock:
            self._db.close()
