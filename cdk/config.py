"""Deployment settings of the CDK app: one pydantic model read from the ``slo-engine`` key of the cdk.json context.

Override any value at synth time with ``cdk synth -c slo-engine='{...}'`` or by editing cdk.json; every field has a
default so an empty context still synthesizes.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CONTEXT_KEY = "slo-engine"

FlinkRuntime = Literal["FLINK-1_19", "FLINK-1_20", "FLINK-2_2", "FLINK-2_3"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThrottleSettings(_Section):
    rate_limit: float = Field(gt=0, description="steady-state requests per second")
    burst_limit: int = Field(gt=0, description="requests allowed in a burst")


class LambdaSettings(_Section):
    python_version: Literal["3.11", "3.12"] = Field(
        default="3.12", description="must equal the interpreter the dependency layer is built for (make layer)"
    )
    memory_mb: int = Field(default=512, ge=128, le=10240)
    timeout_seconds: int = Field(default=30, ge=1, le=900)
    log_retention_days: int = Field(default=30, description="a value CloudWatch Logs accepts, e.g. 7, 30, 90, 365")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class StreamSettings(_Section):
    mode: Literal["on_demand", "provisioned"] = "on_demand"
    telemetry_shard_count: int = Field(default=4, ge=1, description="used when mode is provisioned")
    snapshot_shard_count: int = Field(default=1, ge=1, description="used when mode is provisioned")
    retention_hours: int = Field(default=24, ge=24, le=8760)


class FlinkSettings(_Section):
    runtime: FlinkRuntime = Field(default="FLINK-1_20", description="pin PyFlink locally to the same version")
    parallelism: int = Field(default=2, ge=1)
    parallelism_per_kpu: int = Field(default=1, ge=1, le=8)
    autoscaling_enabled: bool = True
    window_seconds: int = Field(default=10, ge=1)
    allowed_lateness_seconds: int = Field(default=30, ge=0)
    watermark_delay_seconds: int = Field(default=5, ge=0)
    entry_point: str = Field(default="main.py", description="the PyFlink script inside the flink/ package")
    connector_jar: str = Field(default="lib/pyflink-dependencies.jar", description="fat jar with connectors")
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = "INFO"


class SnapshotSinkSettings(_Section):
    batch_size: int = Field(default=100, ge=1, le=10000)
    max_batching_window_seconds: int = Field(default=5, ge=0, le=300)
    retry_attempts: int = Field(default=3, ge=0, le=10000)
    parallelization_factor: int = Field(default=1, ge=1, le=10)
    max_record_age_hours: int = Field(default=6, ge=1, le=168)


class DiscoverySettings(_Section):
    schedule_rate_minutes: int = Field(default=5, ge=1)
    neo4j_username: str = "neo4j"
    neo4j_uri: str = Field(default="neo4j+s://replace-me.databases.neo4j.io", description="stored with the secret")
    cloud_map_namespaces: tuple[str, ...] = Field(default=(), description="namespaces to poll; empty: all of them")
    mapping_retry_attempts: int = Field(default=2, ge=0, le=185, description="EventBridge retries of the mapping")
    neo4j_subnet_ids: tuple[str, ...] = Field(
        default=(), description="private subnets from which the mapping Lambda reaches Neo4j; empty: no VPC"
    )
    neo4j_security_group_ids: tuple[str, ...] = Field(
        default=(), description="security groups allowed to reach Neo4j (required with neo4j_subnet_ids)"
    )

    @model_validator(mode="after")
    def _subnets_with_security_groups(self) -> DiscoverySettings:
        if bool(self.neo4j_subnet_ids) != bool(self.neo4j_security_group_ids):
            raise ValueError("neo4j_subnet_ids and neo4j_security_group_ids must be given together")
        for prefix, ids in (("subnet", self.neo4j_subnet_ids), ("sg", self.neo4j_security_group_ids)):
            malformed = [i for i in ids if not re.fullmatch(rf"{prefix}-(?:[0-9a-f]{{8}}|[0-9a-f]{{17}})", i)]
            if malformed:
                raise ValueError(f"not {prefix}- ids: {', '.join(malformed)}")
        return self


class KnowledgeSettings(_Section):
    runbook_globs: tuple[str, ...] = ("runbooks/**", "docs/runbooks/**")
    max_receive_count: int = Field(default=5, ge=1)
    indexer_batch_size: int = Field(default=10, ge=1, le=10)
    indexer_timeout_seconds: int = Field(default=120, ge=1, le=900)
    webhook_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    webhook_throttle: ThrottleSettings = ThrottleSettings(rate_limit=20, burst_limit=40)
    vector_collection_name: str = Field(default="slo-engine-runbooks", pattern=r"^[a-z][a-z0-9-]{2,27}$")
    vector_standby_replicas: Literal["ENABLED", "DISABLED"] = "DISABLED"


class ModelSettings(_Section):
    reasoner_model_id: str = "anthropic.claude-3-5-haiku-20241022-v1:0"
    small_model_id: str = "amazon.nova-micro-v1:0"
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"

    @property
    def all_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.reasoner_model_id, self.small_model_id, self.embedding_model_id)))


class ReasoningSettings(_Section):
    approval_heartbeat_seconds: int = Field(default=3600, ge=60)
    approval_timeout_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    approval_link_ttl_seconds: int = Field(default=3 * 24 * 3600, ge=60)
    approval_email: str | None = Field(default=None, description="subscribed to the approval topic when set")
    agent_timeout_seconds: int = Field(default=120, ge=1, le=900)
    agent_memory_mb: int = Field(default=1024, ge=128, le=10240)

    @model_validator(mode="after")
    def _heartbeat_within_timeout(self) -> ReasoningSettings:
        if self.approval_heartbeat_seconds > self.approval_timeout_seconds:
            raise ValueError("approval_heartbeat_seconds must not exceed approval_timeout_seconds")
        return self


class ApiSettings(_Section):
    stage_name: str = Field(default="v1", pattern=r"^[A-Za-z0-9_]+$")
    stage_throttle: ThrottleSettings = ThrottleSettings(rate_limit=50, burst_limit=100)
    method_throttles: dict[str, ThrottleSettings] = Field(
        default_factory=lambda: {
            "/recommendations/POST": ThrottleSettings(rate_limit=5, burst_limit=10),
            "/converse/POST": ThrottleSettings(rate_limit=10, burst_limit=20),
            "/approvals/{id}/POST": ThrottleSettings(rate_limit=5, burst_limit=10),
        },
        description="keys are '<resource path>/<HTTP method>' as API Gateway stage method settings expect",
    )
    usage_plan_quota_per_day: int = Field(default=100_000, ge=1)
    integration_teams: tuple[str, ...] = Field(
        default=("backstage",), description="one API key each in the integrations usage plan"
    )
    waf_requests_per_5_minutes: int = Field(default=2000, ge=10, description="per client IP, AWS WAF rate rule")
    waf_public_requests_per_5_minutes: int = Field(
        default=300, ge=10, description="per client IP, on the unauthenticated approval-link and webhook paths"
    )
    backstage_principal_arns: tuple[str, ...] = Field(
        default=(), description="who may assume the Backstage role (default: this account's root, i.e. its admins)"
    )
    people_mfa: Literal["REQUIRED", "OPTIONAL"] = Field(
        default="REQUIRED", description="Cognito MFA for people (TOTP); OPTIONAL only for a sandbox"
    )
    manage_account_cloudwatch_role: bool = Field(
        default=True, description="set API Gateway's account-wide CloudWatch role (turn off if already managed)"
    )


class DeploymentConfig(_Section):
    project_name: str = Field(default="slo-engine", pattern=r"^[a-z][a-z0-9-]{1,30}$")
    environment: str = Field(default="dev", pattern=r"^[a-z][a-z0-9-]{0,15}$")
    metrics_namespace: str = "SloEngine"
    retain_data: bool = Field(default=True, description="keep tables, buckets and secrets when a stack is deleted")
    lambda_defaults: LambdaSettings = LambdaSettings()
    streams: StreamSettings = StreamSettings()
    flink: FlinkSettings = FlinkSettings()
    snapshot_sink: SnapshotSinkSettings = SnapshotSinkSettings()
    discovery: DiscoverySettings = DiscoverySettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    models: ModelSettings = ModelSettings()
    reasoning: ReasoningSettings = ReasoningSettings()
    api: ApiSettings = ApiSettings()

    @property
    def stack_prefix(self) -> str:
        """Prefix of every stack name, e.g. ``SloEngine-dev``."""
        camel = "".join(part.capitalize() for part in self.project_name.split("-"))
        return f"{camel}-{self.environment}"

    @property
    def parameter_prefix(self) -> str:
        """SSM parameter path shared between stacks without a CloudFormation reference."""
        return f"/{self.project_name}/{self.environment}"

    @classmethod
    def from_context(cls, raw: Any) -> DeploymentConfig:
        """Validate the ``slo-engine`` context value (a dict from cdk.json, or a JSON string from ``-c``)."""
        if raw is None:
            return cls()
        if isinstance(raw, str):
            return cls.model_validate_json(raw)
        return cls.model_validate(raw)
