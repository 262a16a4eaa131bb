"""Observed dependency edges from the ObservedEdges DynamoDB table (``upstream`` caller partition key,
``downstream`` callee sort key, optional ``requests`` / ``errors`` counts), read as ``ports.EdgeTotals``."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from slo_engine.ports import EdgeTotals

TABLE_VARIABLE = "SLO_ENGINE_OBSERVED_EDGES_TABLE"


class DynamoDbObservedEdges:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._table = resource.Table(table_name)

    @classmethod
    def from_env(cls) -> DynamoDbObservedEdges | None:
        name = os.environ.get(TABLE_VARIABLE)
        return cls(name) if name else None

    def downstream_of(self, service: str) -> list[EdgeTotals]:
        """The services ``service`` was seen calling (an item without counts counts as one request)."""
        from boto3.dynamodb.conditions import Key

        edges: list[EdgeTotals] = []
        arguments: dict[str, Any] = {"KeyConditionExpression": Key("upstream").eq(service)}
        while True:
            page = self._table.query(**arguments)
            for item in page.get("Items", []):
                edges.append(
                    EdgeTotals(
                        service=service,
                        peer=str(item["downstream"]),
                        direction="downstream",
                        requests=int(item.get("requests", 1)),
                        errors=int(item.get("errors", 0)),
                        last_seen=_moment(item.get("last_seen")),
                    )
                )
            if "LastEvaluatedKey" not in page:
                return edges
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _moment(value: object) -> datetime | None:
    """``last_seen`` as the sink writes it (ISO 8601, UTC); None for items written before it did, or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
