"""Which adapter stands behind each port, chosen from the environment: AWS where its variables are set,
the embedded default otherwise. ``Engine.from_env()`` and the approval Lambdas come through here.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from slo_engine.approval.links import LinkSigner
from slo_engine.approval.local import OutboxNotifier, RecordingResumer
from slo_engine.approval.service import DEFAULT_LINK_TTL_SECONDS, ApprovalService
from slo_engine.config import EngineConfig
from slo_engine.engine import Engine
from slo_engine.ports import ApprovalNotifier, TaskResumer

DEFAULT_DATA_DIR = "/tmp/slo-engine"
LOCAL_BASE_URL = "http://127.0.0.1:8080"


class ConfigurationError(RuntimeError):
    """A required setting is missing or unreadable (named in the message)."""


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def data_dir_from_env(data_dir: Path | None = None) -> Path:
    return data_dir or Path(_env("SLO_ENGINE_DATA_DIR") or DEFAULT_DATA_DIR)


def engine_from_env(data_dir: Path | None = None) -> Engine:
    """The embedded engine with each AWS adapter swapped in when its environment variables are set."""
    root = data_dir_from_env(data_dir)
    engine = Engine.embedded(root, config=EngineConfig.from_env(data_dir=root))
    tables = [_env(f"SLO_ENGINE_{name}_TABLE") for name in ("RECOMMENDATIONS", "FEEDBACK", "CONTEXT")]
    if all(tables):
        from slo_engine.adapters.aws.dynamodb_state import DynamoDbStateStore

        engine.state = DynamoDbStateStore(*tables)  # type: ignore[arg-type]
    if approvals_table := _env("SLO_ENGINE_APPROVALS_TABLE"):
        from slo_engine.adapters.aws.dynamodb_approvals import DynamoDbApprovalStore

        engine.approvals = DynamoDbApprovalStore(approvals_table)
    if _env("SLO_ENGINE_RUN_ARTIFACTS_BUCKET"):
        from slo_engine.adapters.aws.run_artifacts import S3RunArtifacts

        engine.artifacts = S3RunArtifacts.from_env()
    if bus := _env("SLO_ENGINE_EVENT_BUS"):
        from slo_engine.adapters.aws.slo_events import EventBridgeSloEventPublisher

        engine.events = EventBridgeSloEventPublisher(bus)
    if _env("SLO_ENGINE_PROMETHEUS_QUERY_URL"):
        from slo_engine.adapters.prometheus import PrometheusMetricStore

        prometheus = PrometheusMetricStore.from_env()
        if prometheus is not None:
            engine.metrics = prometheus
    if _env("NEO4J_URI") or _env("SLO_ENGINE_NEO4J_SECRET_ARN"):
        from slo_engine.adapters.neo4j_graph import Neo4jGraphStore

        engine.graph = Neo4jGraphStore.from_env()
    if _env("SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT") or _env("SLO_ENGINE_S3_VECTORS_BUCKET"):
        from slo_engine.entrypoints.runbook_indexer import runbook_index_from_env

        engine.runbooks = runbook_index_from_env()
    if model_id := _env("SLO_ENGINE_REASONER_MODEL_ID"):
        from slo_engine.adapters.aws.emf import usage_sink_from_env
        from slo_engine.adapters.bedrock import BedrockReasoner

        engine.reasoner = BedrockReasoner(
            model_id=model_id, small_model_id=_env("SLO_ENGINE_SMALL_MODEL_ID"), usage_sink=usage_sink_from_env()
        )
    return engine


@lru_cache(maxsize=1)
def _secrets() -> Any:
    from slo_engine.adapters.aws.secrets import CachedSecrets

    return CachedSecrets()


def _signing_key(root: Path) -> str:
    if key := _env("SLO_ENGINE_APPROVAL_SIGNING_KEY"):
        return key
    if arn := _env("SLO_ENGINE_APPROVAL_SIGNING_SECRET_ARN"):
        return str(_secrets().get(arn))
    # Local: one random key per data folder, readable by its owner only.
    path = root / "approval-signing.key"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _base_url() -> str:
    if url := _env("SLO_ENGINE_APPROVAL_BASE_URL"):
        return url
    if parameter := _env("SLO_ENGINE_APPROVAL_BASE_URL_PARAMETER"):
        import boto3

        return str(boto3.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"])
    return LOCAL_BASE_URL


def _slack_settings() -> dict[str, str]:
    """``webhook_url`` and ``signing_secret`` from the Slack secret (JSON) or the environment."""
    settings: dict[str, str] = {}
    if arn := _env("SLO_ENGINE_SLACK_SECRET_ARN"):
        try:
            loaded = json.loads(_secrets().get(arn))
        except ValueError as error:
            raise ConfigurationError(f"the Slack secret {arn} is not JSON with webhook_url / signing_secret") from error
        settings = {k: str(v) for k, v in loaded.items() if k in ("webhook_url", "signing_secret") and v}
    for key in ("webhook_url", "signing_secret"):
        if value := _env(f"SLO_ENGINE_SLACK_{key.upper()}"):
            settings[key] = value
    return settings


def approval_service_from_env(engine: Engine, data_dir: Path | None = None) -> ApprovalService:
    """The approval service: DynamoDB / Step Functions / SNS / Slack in AWS, SQLite / an outbox file locally."""
    root = data_dir_from_env(data_dir)
    if engine.approvals is None:
        from slo_engine.approval.store import SqliteApprovalStore

        engine.approvals = SqliteApprovalStore(root / "approvals.db")
    slack = _slack_settings()
    notifiers: list[ApprovalNotifier] = []
    if topic := _env("SLO_ENGINE_APPROVAL_TOPIC_ARN"):
        from slo_engine.adapters.aws.notifiers import SnsEmailNotifier

        notifiers.append(SnsEmailNotifier(topic))
    if slack.get("webhook_url"):
        from slo_engine.adapters.aws.notifiers import SlackWebhookNotifier

        notifiers.append(SlackWebhookNotifier(slack["webhook_url"]))
    if not notifiers:
        notifiers.append(OutboxNotifier(root / "approval-outbox.jsonl"))
    resumer: TaskResumer
    if _env("AWS_LAMBDA_FUNCTION_NAME") or _env("SLO_ENGINE_TASK_RESUMER") == "stepfunctions":
        from slo_engine.adapters.aws.stepfunctions import StepFunctionsResumer

        resumer = StepFunctionsResumer()
    else:
        resumer = RecordingResumer()
    ttl = _env("SLO_ENGINE_APPROVAL_LINK_TTL_SECONDS")
    return ApprovalService(
        store=engine.approvals,
        signer=LinkSigner(_signing_key(root)),
        state=engine.state,
        resumer=resumer,
        base_url=_base_url,  # read on first use: the callback never needs it
        notifiers=notifiers,
        link_ttl_seconds=int(ttl) if ttl and ttl.isdigit() else DEFAULT_LINK_TTL_SECONDS,
        slack_signing_secret=slack.get("signing_secret"),
    )
