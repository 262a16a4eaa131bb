"""``ports.ApprovalStore`` over the DynamoDB Approvals table: the task token stays server-side,
decisions are single-use.

Deciding is one conditional update (``status = pending``): two clicks racing on the same link cannot both win.
"""

from __future__ import annotations

from typing import Any

from slo_engine.approval.models import HumanDecision, PendingApproval
from slo_engine.approval.store import ApprovalAlreadyDecidedError, ApprovalNotFoundError, decided

TTL_GRACE_SECONDS = 30 * 24 * 3600
"""Records are purged by the table's TTL this long after their links expire (kept for audit meanwhile)."""


class DynamoDbApprovalStore:
    def __init__(self, table_name: str, *, resource: Any | None = None) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._table = resource.Table(table_name)
        self._client = resource.meta.client

    def _item(self, approval: PendingApproval) -> dict[str, Any]:
        return {
            "approval_id": approval.approval_id,
            "status": approval.status.value,
            "service": ",".join(approval.services) or "*",
            "created_at": approval.created_at.isoformat(),
            "expires_at": int(approval.expires_at.timestamp()) + TTL_GRACE_SECONDS,
            "doc": approval.model_dump_json(),
        }

    def save(self, approval: PendingApproval) -> None:
        try:
            self._table.put_item(Item=self._item(approval), ConditionExpression="attribute_not_exists(approval_id)")
        except self._client.exceptions.ConditionalCheckFailedException as error:
            raise ValueError(f"approval {approval.approval_id} already exists") from error

    def get(self, approval_id: str) -> PendingApproval | None:
        found = self._table.get_item(Key={"approval_id": approval_id}, ConsistentRead=True).get("Item")
        return PendingApproval.model_validate_json(found["doc"]) if found else None

    def decide(self, approval_id: str, decision: HumanDecision) -> PendingApproval:
        current = self.get(approval_id)
        if current is None:
            raise ApprovalNotFoundError(f"no approval with id {approval_id!r}")
        if current.status.value != "pending":
            raise ApprovalAlreadyDecidedError(current)
        closed = decided(current, decision)
        try:
            self._table.update_item(
                Key={"approval_id": approval_id},
                UpdateExpression="SET #status = :status, #doc = :doc",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status", "#doc": "doc"},
                ExpressionAttributeValues={
                    ":status": closed.status.value,
                    ":doc": closed.model_dump_json(),
                    ":pending": "pending",
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            raise ApprovalAlreadyDecidedError(self.get(approval_id) or current) from error
        return closed

    def list_pending(self) -> list[PendingApproval]:
        """Pending approvals, oldest first (the Approvals table's ``by-status`` index)."""
        from boto3.dynamodb.conditions import Key

        kwargs: dict[str, Any] = {"IndexName": "by-status", "KeyConditionExpression": Key("status").eq("pending")}
        found: list[PendingApproval] = []
        while True:
            page = self._table.query(**kwargs)
            found += [PendingApproval.model_validate_json(i["doc"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
