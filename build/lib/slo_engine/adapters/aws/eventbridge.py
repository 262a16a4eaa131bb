"""The EventBridge change publisher (``ports.ChangePublisher``): one ``ServiceChange`` event per change on the
service-change bus, ``PutEvents`` in batches of ten, failed entries retried once and then raised (nothing lost:
the poll then leaves the inventory as it was, so the next poll emits them again)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from slo_engine.discovery.events import DETAIL_TYPE, EVENT_SOURCE, ServiceChange

BUS_VARIABLE = "SLO_ENGINE_SERVICE_CHANGE_BUS"
MAX_ENTRIES_PER_CALL = 10


class PublishError(RuntimeError):
    """Some events could not be put on the bus; the message lists them."""


class EventBridgeChangePublisher:
    def __init__(self, bus_name: str, client: Any = None) -> None:
        self._bus_name = bus_name
        self._client = client

    @classmethod
    def from_env(cls) -> EventBridgeChangePublisher:
        name = os.environ.get(BUS_VARIABLE)
        if not name:
            raise ValueError(f"{BUS_VARIABLE} is not set")
        return cls(name)

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("events")
        return self._client

    def publish(self, changes: Sequence[ServiceChange]) -> int:
        entries = [self._entry(change) for change in changes]
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            batch = entries[start : start + MAX_ENTRIES_PER_CALL]
            failed = self._put(batch)
            if failed:
                failed = self._put(failed)
            if failed:
                raise PublishError(f"{len(failed)} service-change event(s) were not accepted by {self._bus_name}")
        return len(entries)

    def _entry(self, change: ServiceChange) -> dict[str, Any]:
        return {
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": change.model_dump_json(),
            "EventBusName": self._bus_name,
            "Resources": [],
        }

    def _put(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.client.put_events(Entries=batch)
        if not response.get("FailedEntryCount"):
            return []
        return [entry for entry, result in zip(batch, response["Entries"], strict=False) if result.get("ErrorCode")]
