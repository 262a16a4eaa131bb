"""``ports.AuditLog`` over the DynamoDB AuditLog table: partition ``service``, sort ``event_key`` (time + random,
so events sort by time and never collide), GSI ``by-actor`` (``actor``, ``event_key``).

Append-only: each put is conditional on the key being new, and the API's role is granted PutItem only.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from slo_engine.models.audit import AuditEvent


class DynamoDbAuditLog:
    def __init__(self, table_name: str, client: Any | None = None, actor_index: str = "by-actor") -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self._client = client
        self._table = table_name
        self._actor_index = actor_index

    def append(self, event: AuditEvent) -> None:
        event_key = f"{event.at.isoformat()}#{secrets.token_hex(6)}"
        self._client.put_item(
            TableName=self._table,
            Item={
                "service": {"S": event.service},
                "event_key": {"S": event_key},
                "actor": {"S": event.actor},
                "action": {"S": event.action},
                "doc": {"S": event.model_dump_json()},
            },
            ConditionExpression="attribute_not_exists(event_key)",
        )

    def for_service(self, service: str, limit: int = 100) -> list[AuditEvent]:
        return self._query(
            KeyConditionExpression="service = :v", ExpressionAttributeValues={":v": {"S": service}}, limit=limit
        )

    def for_actor(self, actor: str, limit: int = 100) -> list[AuditEvent]:
        return self._query(
            IndexName=self._actor_index,
            KeyConditionExpression="actor = :v",
            ExpressionAttributeValues={":v": {"S": actor}},
            limit=limit,
        )

    def _query(self, *, limit: int, **kwargs: Any) -> list[AuditEvent]:
        events: list[AuditEvent] = []
        start: dict[str, Any] | None = None
        while len(events) < limit:
            page = self._client.query(
                TableName=self._table,
                ScanIndexForward=False,
                Limit=limit - len(events),
                **kwargs,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            events += [AuditEvent.model_validate(json.loads(item["doc"]["S"])) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return events
