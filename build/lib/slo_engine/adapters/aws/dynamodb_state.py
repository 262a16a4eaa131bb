"""``ports.StateStore`` over DynamoDB: the Recommendations, Feedback and Context tables
(``cdk/constructs/state_tables.py``).

Recommendations are stored as their JSON document with the indexed keys beside it; a decision is a conditional
update (status must still be ``pending``), so a recommendation is decided at most once, as in the SQLite store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from slo_engine.embedded.state_store import DecisionError
from slo_engine.models import ApprovalDecision, ContextEntry, FeedbackRecord, Recommendation, RecommendationStatus


def _pages(call: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated Query or Scan."""
    while True:
        page = call(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoDbStateStore:
    """Implements ``ports.StateStore``; tables by name (the ``SLO_ENGINE_*_TABLE`` variables)."""

    def __init__(
        self,
        recommendations_table: str,
        feedback_table: str,
        context_table: str,
        *,
        resource: Any | None = None,
    ) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._recommendations = resource.Table(recommendations_table)
        self._feedback = resource.Table(feedback_table)
        self._context = resource.Table(context_table)
        self._client = resource.meta.client

    @staticmethod
    def _item(rec: Recommendation) -> dict[str, Any]:
        return {
            "recommendation_id": rec.id,
            "service": rec.service,
            "sli": rec.sli.value,
            "status": rec.status.value,
            "created_at": rec.created_at.isoformat(),
            "doc": rec.model_dump_json(),
        }

    def save_recommendations(self, recommendations: Sequence[Recommendation]) -> None:
        with self._recommendations.batch_writer(overwrite_by_pkeys=["recommendation_id"]) as batch:
            for rec in recommendations:
                batch.put_item(Item=self._item(rec))

    def get_recommendation(self, recommendation_id: str) -> Recommendation | None:
        item = self._recommendations.get_item(Key={"recommendation_id": recommendation_id}, ConsistentRead=True)
        found = item.get("Item")
        return Recommendation.model_validate_json(found["doc"]) if found else None

    def list_recommendations(self, service: str | None = None, status: str | None = None) -> list[Recommendation]:
        from boto3.dynamodb.conditions import Attr, Key

        table = self._recommendations
        if service is not None:
            kwargs: dict[str, Any] = {"IndexName": "by-service", "KeyConditionExpression": Key("service").eq(service)}
            if status is not None:
                kwargs["FilterExpression"] = Attr("status").eq(status)
            items = _pages(table.query, **kwargs)
        elif status is not None:
            items = _pages(table.query, IndexName="by-status", KeyConditionExpression=Key("status").eq(status))
        else:
            items = _pages(table.scan)
        recs = [Recommendation.model_validate_json(i["doc"]) for i in items]
        return sorted(recs, key=lambda r: (r.service, r.sli.value, r.created_at))

    def record_decision(self, decision: ApprovalDecision) -> Recommendation:
        """Decide a pending recommendation once; a second decision is refused, never overwrites."""
        rec = self.get_recommendation(decision.recommendation_id)
        if rec is None:
            raise DecisionError(f"no recommendation with id {decision.recommendation_id!r}")
        if rec.status is not RecommendationStatus.PENDING:
            raise DecisionError(
                f"recommendation {rec.id} was already {rec.status.value} by {rec.decided_by or 'policy'}"
            )
        decided = rec.model_copy(
            update={
                "status": RecommendationStatus.APPROVED if decision.approved else RecommendationStatus.REJECTED,
                "decided_by": decision.by,
                "decision_reason": decision.reason,
            }
        )
        try:
            self._recommendations.update_item(
                Key={"recommendation_id": rec.id},
                UpdateExpression="SET #status = :status, #doc = :doc, decided_at = :at, decided_by = :by",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status", "#doc": "doc"},
                ExpressionAttributeValues={
                    ":status": decided.status.value,
                    ":doc": decided.model_dump_json(),
                    ":pending": RecommendationStatus.PENDING.value,
                    ":at": decision.at.isoformat(),
                    ":by": decision.by,
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            raise DecisionError(f"recommendation {rec.id} was decided concurrently") from error
        return decided

    def add_feedback(self, feedback: FeedbackRecord) -> None:
        self._feedback.put_item(
            Item={
                "service": feedback.service,
                "feedback_id": f"{feedback.at.isoformat()}#{uuid.uuid4().hex[:8]}",
                "recommendation_id": feedback.recommendation_id or "-",
                "created_at": feedback.at.isoformat(),
                "doc": feedback.model_dump_json(),
            }
        )

    def feedback_for(self, service: str) -> list[FeedbackRecord]:
        from boto3.dynamodb.conditions import Key

        items = _pages(self._feedback.query, KeyConditionExpression=Key("service").eq(service))
        return [FeedbackRecord.model_validate_json(i["doc"]) for i in items]

    def add_context(self, entry: ContextEntry) -> None:
        self._context.put_item(
            Item={
                "service": entry.service,
                "entry_key": f"{entry.at.isoformat()}#{uuid.uuid4().hex[:8]}",
                "doc": entry.model_dump_json(),
            }
        )

    def context_for(self, service: str, limit: int = 20) -> list[ContextEntry]:
        from boto3.dynamodb.conditions import Key

        if limit <= 0:
            return []
        page = self._context.query(
            KeyConditionExpression=Key("service").eq(service), ScanIndexForward=False, Limit=limit
        )
        return [ContextEntry.model_validate_json(i["doc"]) for i in reversed(page.get("Items", []))]
