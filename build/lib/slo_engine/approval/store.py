"""The approval store's embedded default (SQLite): pending approvals with their task tokens, decided once.

``ports.ApprovalStore`` is the contract; ``adapters.aws.dynamodb_approvals`` is the DynamoDB counterpart.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from slo_engine.approval.models import ApprovalStatus, HumanDecision, PendingApproval


class ApprovalNotFoundError(LookupError):
    """No approval with that id (or it was purged after expiry)."""


class ApprovalAlreadyDecidedError(RuntimeError):
    """The approval was decided before: links are single-use."""

    def __init__(self, approval: PendingApproval) -> None:
        super().__init__(
            f"approval {approval.approval_id} was already {approval.status.value} by {approval.decided_by or 'someone'}"
        )
        self.approval = approval


def decided(approval: PendingApproval, decision: HumanDecision) -> PendingApproval:
    """The record after ``decision`` (shared by every store so they record the same fields)."""
    return approval.model_copy(
        update={
            "status": ApprovalStatus.APPROVED if decision.action == "approve" else ApprovalStatus.REJECTED,
            "decided_by": decision.by,
            "decision_reason": decision.reason,
            "decided_at": decision.at,
            "decided_from": f"{decision.channel}" + (f" {decision.client}" if decision.client else ""),
        }
    )


class SqliteApprovalStore:
    """Implements ``ports.ApprovalStore`` over one SQLite file (or memory)."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS approvals "
            "(approval_id TEXT PRIMARY KEY, status TEXT NOT NULL, doc TEXT NOT NULL)"
        )

    def save(self, approval: PendingApproval) -> None:
        with self._lock, self._db:
            try:
                self._db.execute(
                    "INSERT INTO approvals VALUES (?, ?, ?)",
                    (approval.approval_id, approval.status.value, approval.model_dump_json()),
                )
            except sqlite3.IntegrityError as error:
                raise ValueError(f"approval {approval.approval_id} already exists") from error

    def get(self, approval_id: str) -> PendingApproval | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM approvals WHERE approval_id=?", (approval_id,)).fetchone()
        return PendingApproval.model_validate_json(row[0]) if row else None

    def decide(self, approval_id: str, decision: HumanDecision) -> PendingApproval:
        """Close a pending approval once; a second decision raises ``ApprovalAlreadyDecidedError``."""
        with self._lock, self._db:
            current = self.get(approval_id)
            if current is None:
                raise ApprovalNotFoundError(f"no approval with id {approval_id!r}")
            if current.status is not ApprovalStatus.PENDING:
                raise ApprovalAlreadyDecidedError(current)
            closed = decided(current, decision)
            cursor = self._db.execute(
                "UPDATE approvals SET status=?, doc=? WHERE approval_id=? AND status='pending'",
                (closed.status.value, closed.model_dump_json(), approval_id),
            )
            if cursor.rowcount != 1:
                raise ApprovalAlreadyDecidedError(current)
        return closed

    def list_pending(self) -> list[PendingApproval]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM approvals WHERE status='pending' ORDER BY rowid").fetchall()
        return [PendingApproval.model_validate_json(r[0]) for r in rows]
