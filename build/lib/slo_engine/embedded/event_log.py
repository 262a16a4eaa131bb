"""The embedded event publisher: domain events (``SLOApproved`` ...) appended to a JSON Lines file or kept in memory.

The AWS counterpart is ``adapters.aws.slo_events.EventBridgeSloEventPublisher``; both take the same detail documents.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EVENT_SOURCE = "slo-engine"


class JsonlEventLog:
    """Implements ``ports.EventPublisher``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def publish(self, detail_type: str, detail: dict[str, object]) -> None:
        event = {
            "source": EVENT_SOURCE,
            "detail_type": detail_type,
            "time": datetime.now(UTC).isoformat(),
            "detail": json.loads(json.dumps(detail, default=str)),
        }
        with self._lock:
            self.events.append(event)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(event) + "\n")
