"""The snapshot sink's AWS destinations: the S3 snapshot archive and the DynamoDB edge ledger.

The ledger claims each (service, window) in the idempotency table and adds the window's downstream edge counts to
the ObservedEdges table in one DynamoDB transaction, so a redelivered snapshot adds nothing. boto3 is lazy.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from slo_engine.models.snapshot import ServiceSnapshot

CLAIM_TTL_SECONDS = 8 * 86400
"""Claims outlive the stream's retention and the sink's retries (Kinesis keeps records at most 7 days by default)."""


class S3SnapshotArchive:
    """``s3://bucket/<prefix>/<service>/<window_start>.json``: one object per (service, window); rewrites replace."""

    def __init__(self, bucket: str, prefix: str = "snapshots", client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")

    def key(self, snapshot: ServiceSnapshot) -> str:
        stamp = snapshot.window_start.strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self._prefix}/{snapshot.service}/{stamp}-{snapshot.window_seconds}s.json"

    def put(self, snapshot: ServiceSnapshot) -> None:
        body = json.dumps(snapshot.model_dump(mode="json"), separators=(",", ":")).encode()
        self._client.put_object(Bucket=self._bucket, Key=self.key(snapshot), Body=body, ContentType="application/json")


class DynamoDbEdgeLedger:
    """Exactly-once edge counts: ``ADD requests, errors`` on (upstream, downstream) guarded by a window claim."""

    def __init__(self, edges_table: str, claims_table: str, client: Any = None, *, clock: Any = time.time) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self._client = client
        self._edges = edges_table
        self._claims = claims_table
        self._clock = clock

    @staticmethod
    def claim_id(snapshot: ServiceSnapshot) -> str:
        return f"snapshot#{snapshot.service}#{snapshot.epoch_seconds}#{snapshot.window_seconds}"

    def record_once(self, snapshot: ServiceSnapshot) -> bool:
        claim = {
            "Put": {
                "TableName": self._claims,
                "Item": {
                    "id": {"S": self.claim_id(snapshot)},
                    "expiration": {"N": str(int(self._clock()) + CLAIM_TTL_SECONDS)},
                },
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }
        window_end = datetime.fromtimestamp(snapshot.epoch_seconds + snapshot.window_seconds, tz=UTC).isoformat()
        updates = [
            {
                "Update": {
                    "TableName": self._edges,
                    "Key": {"upstream": {"S": snapshot.service}, "downstream": {"S": peer}},
                    # last_seen: the end of the newest window with calls (a late window may set it back a little;
                    # the next one puts it right: it ages edges over days, not seconds).
                    "UpdateExpression": "ADD requests :r, errors :e SET last_seen = :t",
                    "ExpressionAttributeValues": {
                        ":r": {"N": str(edge.requests)},
                        ":e": {"N": str(edge.errors)},
                        ":t": {"S": window_end},
                    },
                }
            }
            for peer, edge in sorted(snapshot.downstream.items())
            if edge.requests > 0 or edge.errors > 0
        ]
        # A transaction holds at most 100 items; a snapshot with more peers claims first, then adds in chunks.
        items = [claim, *updates]
        try:
            self._client.transact_write_items(TransactItems=items[:100])
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise
        for at in range(100, len(items), 100):
            self._client.transact_write_items(TransactItems=items[at : at + 100])
        return True
