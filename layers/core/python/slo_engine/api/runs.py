"""Workflow runs started through the API: the port, and the local runner (the local orchestrator in a background
thread, run records in SQLite so a restarted server still answers ``GET /recommendations/{id}``).

In AWS the same port is a Step Functions execution (start / describe); see ``entrypoints/api.py``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from slo_engine.api.errors import Throttled
from slo_engine.api.models import StartRecommendationRequest
from slo_engine.engine import Engine
from slo_engine.models.slo import utcnow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, doc TEXT NOT NULL);
"""


class RunRecord(BaseModel):
    id: str
    status: Literal["running", "succeeded", "failed"]
    requested_by: str
    created_at: datetime = Field(default_factory=utcnow)
    request: dict[str, Any]
    states: list[str] = Field(default_factory=list)
    doc: dict[str, Any] = Field(default_factory=dict, description="the workflow's state document when it ended")
    error: str | None = None


@runtime_checkable
class WorkflowRuns(Protocol):
    """Start a recommendation workflow and read its record back (local: threads; AWS: Step Functions)."""

    def start(self, request: StartRecommendationRequest, requested_by: str) -> RunRecord: ...

    def get(self, run_id: str) -> RunRecord | None: ...


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex[:16]}"


class LocalWorkflowRuns:
    """Runs the state machine definition with the local orchestrator, one run at a time, in a background thread;
    the human-approval step leaves every recommendation pending for a person to decide."""

    max_unfinished_runs = 4

    def __init__(self, engine: Engine, path: str | Path | None = None) -> None:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._engine = engine
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slo-engine-run")
        self._futures: dict[str, Future[None]] = {}
        self._fail_interrupted_runs()

    def start(self, request: StartRecommendationRequest, requested_by: str) -> RunRecord:
        unfinished = sum(1 for future in self._futures.values() if not future.done())
        if unfinished >= self.max_unfinished_runs:
            raise Throttled(f"{unfinished} runs are already waiting or running here; retry when one has finished", 5)
        record = RunRecord(
            id=new_run_id(), status="running", requested_by=requested_by, request=request.model_dump(mode="json")
        )
        self._save(record)
        self._futures[record.id] = self._pool.submit(self._run, record, request)
        return record

    def get(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM runs WHERE id=?", (run_id,)).fetchone()
        return RunRecord.model_validate_json(row[0]) if row else None

    def run_for_recommendation(self, recommendation_id: str) -> RunRecord | None:
        """The newest run whose pre-approval summary lists this recommendation (where its findings are)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM runs WHERE instr(doc, ?) > 0 ORDER BY created_at DESC LIMIT 1", (recommendation_id,)
            ).fetchall()
        return RunRecord.model_validate_json(rows[0][0]) if rows else None

    def wait(self, run_id: str, timeout: float | None = None) -> RunRecord | None:
        """Block until a run started here has ended (tests and the CLI use this)."""
        future = self._futures.get(run_id)
        if future is not None:
            future.result(timeout=timeout)
        return self.get(run_id)

    def close(self) -> None:
        """Stop: the run in progress finishes; runs still queued are recorded as failed, never left 'running'."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        for run_id, future in self._futures.items():
            record = self.get(run_id) if future.cancelled() else None
            if record is not None and record.status == "running":
                self._save(record.model_copy(update={"status": "failed", "error": "the server stopped before the run"}))
        with self._lock:
            self._db.close()

    def _run(self, record: RunRecord, request: StartRecommendationRequest) -> None:
        from slo_engine.workflow.orchestrator import LocalOrchestrator
        from slo_engine.workflow.pipeline import manual_approver
        from slo_engine.workflow.steps import RecommendationRequest

        try:
            orchestrator = LocalOrchestrator(self._engine, manual_approver)
            result = orchestrator.run(
                RecommendationRequest(
                    run_id=record.id,
                    services=list(request.services),
                    slis=list(request.slis),
                    window_days=request.window_days,
                    exclusions=request.exclusions,
                    approve="manual",
                    requested_by=record.requested_by,
                )
            )
            error = result.doc.get("error")
            done = record.model_copy(
                update={
                    "status": "succeeded" if result.status == "SUCCEEDED" else "failed",
                    "states": result.states,
                    "doc": json.loads(json.dumps(result.doc, default=str)),
                    "error": json.dumps(error) if error else None,
                }
            )
        except Exception as error:  # the record says why; the server stays up
            done = record.model_copy(update={"status": "failed", "error": f"{type(error).__name__}: {error}"})
        self._save(done)

    def _save(self, record: RunRecord) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?)",
                (record.id, record.created_at.isoformat(), record.model_dump_json()),
            )

    def _fail_interrupted_runs(self) -> None:
        """A run still 'running' in the file belonged to a server that stopped: say so instead of hanging forever."""
        with self._lock:
            rows = self._db.execute("SELECT doc FROM runs").fetchall()
        for (doc,) in rows:
            record = RunRecord.model_validate_json(doc)
            if record.status == "running":
                self._save(record.model_copy(update={"status": "failed", "error": "the server stopped during the run"}))
