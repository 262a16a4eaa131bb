"""Webhook delivery ids in DynamoDB (the idempotency table): ``knowledge.webhooks.DeliveryLog`` by conditional put."""

from __future__ import annotations

import time
from typing import Any

DEFAULT_TTL_SECONDS = 7 * 24 * 3600


class DynamoDbDeliveryLog:
    """One item per delivery id (``id`` = ``webhook#<delivery>``), expiring through the table's TTL attribute."""

    def __init__(self, table_name: str, client: Any = None, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def claim(self, delivery_id: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "id": {"S": f"webhook#{delivery_id}"},
                    "expiration": {"N": str(int(time.time()) + self.ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, delivery_id: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key={"id": {"S": f"webhook#{delivery_id}"}})
