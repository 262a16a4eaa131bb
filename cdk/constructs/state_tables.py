"""The engine's DynamoDB state: recommendations, approvals, context, feedback, audit, inventory, observed edges and
Powertools idempotency; on-demand, point-in-time recovery, AWS-managed encryption, TTL where records expire.

``EngineTable.grant`` gives a function least-privilege access (named indexes only, no ``index/*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk.config import DeploymentConfig

TableAccess = Literal["read", "write", "read_write", "append", "scan"]

_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
_WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
_APPEND_ACTIONS = ("dynamodb:PutItem",)
_ACTIONS: dict[str, tuple[str, ...]] = {
    "read": _READ_ACTIONS,
    "write": _WRITE_ACTIONS,
    "read_write": _READ_ACTIONS + _WRITE_ACTIONS,
    "append": _APPEND_ACTIONS,
    "scan": ("dynamodb:Scan",),
}
"""``scan`` is granted on its own, only to functions whose adapter reads a whole (small) table: the inventory."""


@dataclass(frozen=True)
class EngineTable:
    """A table, the environment variable that names it to the Lambdas, and its index names."""

    table: dynamodb.Table
    environment_variable: str
    indexes: tuple[str, ...] = field(default=())

    def grant(self, grantee: iam.IGrantable, access: TableAccess) -> None:
        resources = [self.table.table_arn]
        if access in ("read", "read_write"):
            resources += [f"{self.table.table_arn}/index/{name}" for name in self.indexes]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(_ACTIONS[access]), resources=resources)
        )


class StateTables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.recommendations = self._table(
            "Recommendations",
            "SLO_ENGINE_RECOMMENDATIONS_TABLE",
            partition_key="recommendation_id",
            indexes={"by-service": ("service", "created_at"), "by-status": ("status", "created_at")},
        )
        self.approvals = self._table(
            "Approvals",
            "SLO_ENGINE_APPROVALS_TABLE",
            partition_key="approval_id",
            indexes={"by-service": ("service", "created_at"), "by-status": ("status", "created_at")},
            ttl_attribute="expires_at",
        )
        self.context = self._table(
            "Context",
            "SLO_ENGINE_CONTEXT_TABLE",
            partition_key="service",
            sort_key="entry_key",
            ttl_attribute="expires_at",
        )
        self.feedback = self._table(
            "Feedback",
            "SLO_ENGINE_FEEDBACK_TABLE",
            partition_key="service",
            sort_key="feedback_id",
            indexes={"by-recommendation": ("recommendation_id", "created_at")},
        )
        self.audit = self._table(
            "AuditLog",
            "SLO_ENGINE_AUDIT_TABLE",
            partition_key="service",
            sort_key="event_key",
            indexes={"by-actor": ("actor", "event_key")},
            deletion_protection=True,
        )
        self.inventory = self._table(
            "Inventory",
            "SLO_ENGINE_INVENTORY_TABLE",
            partition_key="service_id",
        )
        self.observed_edges = self._table(
            "ObservedEdges",
            "SLO_ENGINE_OBSERVED_EDGES_TABLE",
            partition_key="upstream",
            sort_key="downstream",
            ttl_attribute="expires_at",
        )
        # Attribute names are Powertools' DynamoDBPersistenceLayer defaults (key "id", TTL "expiration").
        self.idempotency = self._table(
            "Idempotency",
            "SLO_ENGINE_IDEMPOTENCY_TABLE",
            partition_key="id",
            ttl_attribute="expiration",
            retain=False,
        )

    def _table(
        self,
        construct_id: str,
        environment_variable: str,
        *,
        partition_key: str,
        sort_key: str | None = None,
        indexes: dict[str, tuple[str, str]] | None = None,
        ttl_attribute: str | None = None,
        deletion_protection: bool = False,
        retain: bool = True,
    ) -> EngineTable:
        keep = retain and self._config.retain_data
        table = dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl_attribute,
            deletion_protection=deletion_protection and keep,
            removal_policy=cdk.RemovalPolicy.RETAIN if keep else cdk.RemovalPolicy.DESTROY,
        )
        for index_name, (index_partition, index_sort) in (indexes or {}).items():
            table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=index_partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=index_sort, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return EngineTable(table=table, environment_variable=environment_variable, indexes=tuple(indexes or ()))

    @property
    def all(self) -> tuple[EngineTable, ...]:
        return (
            self.recommendations,
            self.approvals,
            self.context,
            self.feedback,
            self.audit,
            self.inventory,
            self.observed_edges,
            self.idempotency,
        )
