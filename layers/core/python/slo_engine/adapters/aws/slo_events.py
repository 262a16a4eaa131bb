"""``ports.EventPublisher`` over EventBridge for recommendation lifecycle events (``SLOApproved``): one PutEvents
entry per event on the recommendation bus (or, with another ``source``, on another bus: the knowledge pipeline's
``Service Documents Changed`` on the service-change bus); a refused entry raises, it is never dropped silently.
"""

from __future__ import annotations

import json
from typing import Any

EVENT_SOURCE = "slo-engine.recommendations"


class EventBridgeSloEventPublisher:
    def __init__(self, bus_name: str, client: Any | None = None, *, source: str = EVENT_SOURCE) -> None:
        if client is None:
            import boto3

            client = boto3.client("events")
        self._client = client
        self._bus_name = bus_name
        self._source = source

    def publish(self, detail_type: str, detail: dict[str, object]) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "Source": self._source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self._bus_name,
                }
            ]
        )
        if answer.get("FailedEntryCount", 0):
            entry = answer["Entries"][0]
            raise RuntimeError(
                f"EventBridge refused {detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
