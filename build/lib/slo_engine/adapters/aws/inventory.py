"""The DynamoDB inventory store (``ports.InventoryStore``): one item per Cloud Map service id
(``service_id`` partition key, the entry as JSON in ``entry``), written and deleted in batches."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from slo_engine.discovery.events import RegistryEntry

TABLE_VARIABLE = "SLO_ENGINE_INVENTORY_TABLE"


class DynamoDbInventoryStore:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._table = resource.Table(table_name)

    @classmethod
    def from_env(cls) -> DynamoDbInventoryStore:
        name = os.environ.get(TABLE_VARIABLE)
        if not name:
            raise ValueError(f"{TABLE_VARIABLE} is not set")
        return cls(name)

    def load(self) -> dict[str, RegistryEntry]:
        entries: dict[str, RegistryEntry] = {}
        arguments: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = self._table.scan(**arguments)
            for item in page.get("Items", []):
                entries[str(item["service_id"])] = RegistryEntry.model_validate_json(str(item["entry"]))
            if "LastEvaluatedKey" not in page:
                return entries
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def save(self, entries: Sequence[RegistryEntry], removed: Sequence[str]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["service_id"]) as batch:
            for entry in entries:
                batch.put_item(Item={"service_id": entry.service_id, "entry": entry.model_dump_json()})
            for service_id in removed:
                batch.delete_item(Key={"service_id": service_id})
