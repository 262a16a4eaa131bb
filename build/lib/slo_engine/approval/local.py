"""Laptop defaults for the approval channels: an outbox file instead of email/Slack, a resumer that only records.

Locally no workflow waits on a token (``--approve manual`` ends the run with pending recommendations), so
resuming records the outcome; the decision itself is already in the state store.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from slo_engine.approval.messages import ApprovalMessage


class OutboxNotifier:
    """Appends each approval message (email and Slack renderings) to a JSON Lines file, or keeps it in memory."""

    channel = "outbox"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.sent: list[ApprovalMessage] = []
        self._lock = threading.Lock()

    def notify(self, message: ApprovalMessage) -> None:
        with self._lock:
            self.sent.append(message)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(message.model_dump_json() + "\n")


class RecordingResumer:
    """Keeps the resume calls it receives (what SendTaskSuccess / SendTaskFailure would have been sent)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def succeed(self, task_token: str, output: dict[str, object]) -> None:
        self.calls.append({"call": "succeed", "task_token": task_token, "output": json.loads(json.dumps(output))})

    def fail(self, task_token: str, error: str, cause: str) -> None:
        self.calls.append({"call": "fail", "task_token": task_token, "error": error, "cause": cause})

    def heartbeat(self, task_token: str) -> None:
        self.calls.append({"call": "heartbeat", "task_token": task_token})
