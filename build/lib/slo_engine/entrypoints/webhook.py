"""The runbook webhook glue: builds the queue, delivery log, secrets and diff client from the environment and
hands each delivery to ``knowledge.webhooks.receive_webhook``. ``handle`` serves the Lambda; ``handle_webhook``
serves ``slo-engine serve`` (POST /webhooks/github and /webhooks/bitbucket) with secrets from the environment.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from slo_engine.knowledge.webhooks import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_RUNBOOK_GLOBS,
    ChangedFilesSource,
    ChangeQueue,
    DeliveryLog,
    SqliteDeliveryLog,
    receive_webhook,
)

SECRET_ENV = {"github": "SLO_ENGINE_GITHUB_WEBHOOK_SECRET", "bitbucket": "SLO_ENGINE_BITBUCKET_WEBHOOK_SECRET"}
SECRET_ARN_ENV = {
    "github": "SLO_ENGINE_GITHUB_WEBHOOK_SECRET_ARN",
    "bitbucket": "SLO_ENGINE_BITBUCKET_WEBHOOK_SECRET_ARN",
}


class Delivery(Protocol):
    """What ``lambdas/webhook/handler.py`` passes: its ``WebhookDelivery`` model."""

    provider: str
    headers: dict[str, str]
    raw_body: str


def runbook_globs_from_env() -> tuple[str, ...]:
    """``SLO_ENGINE_RUNBOOK_GLOBS``: a JSON list (as the stack sets it) or comma-separated globs."""
    raw = os.environ.get("SLO_ENGINE_RUNBOOK_GLOBS", "").strip()
    if not raw:
        return DEFAULT_RUNBOOK_GLOBS
    if raw.startswith("["):
        values = json.loads(raw)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError("SLO_ENGINE_RUNBOOK_GLOBS must be a JSON list of strings")
        return tuple(values)
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def runbook_branches_from_env() -> tuple[str, ...] | None:
    """``SLO_ENGINE_RUNBOOK_BRANCHES``: comma-separated branches to index (``*`` for all); unset, the defaults."""
    raw = os.environ.get("SLO_ENGINE_RUNBOOK_BRANCHES", "")
    branches = tuple(part.strip() for part in raw.split(",") if part.strip())
    return branches or None


@functools.cache
def _secrets() -> Any:
    from slo_engine.adapters.aws.secrets import CachedSecrets

    return CachedSecrets()


def webhook_secret(provider: str) -> str | None:
    """The signing secret: the environment variable when set (local), else Secrets Manager by ARN (cached)."""
    if provider not in SECRET_ENV:
        return None
    local = os.environ.get(SECRET_ENV[provider])
    if local:
        return local
    arn = os.environ.get(SECRET_ARN_ENV[provider])
    return _secrets().get(arn) if arn else None


@functools.cache
def _aws_queue() -> ChangeQueue:
    from slo_engine.adapters.aws.sqs_change_queue import SqsChangeQueue

    return SqsChangeQueue(os.environ["SLO_ENGINE_RUNBOOK_QUEUE_URL"])


@functools.cache
def _delivery_log() -> DeliveryLog:
    table = os.environ.get("SLO_ENGINE_IDEMPOTENCY_TABLE")
    if table:
        from slo_engine.adapters.aws.dynamodb_delivery_log import DynamoDbDeliveryLog

        return DynamoDbDeliveryLog(table)
    data_dir = Path(os.environ.get("SLO_ENGINE_DATA_DIR", ".slo-engine"))
    return SqliteDeliveryLog(data_dir / "webhook-deliveries.db")


@functools.cache
def _diff_client() -> ChangedFilesSource:
    from slo_engine.entrypoints.runbook_indexer import repository_client

    return repository_client()


def handle_webhook(
    provider: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    queue: ChangeQueue | None = None,
    delivery_log: DeliveryLog | None = None,
    changed_files: ChangedFilesSource | None = None,
    secret: str | None = None,
    globs: Sequence[str] | None = None,
    max_body_bytes: int | None = None,
) -> tuple[int, dict[str, Any]]:
    """One webhook delivery -> ``(HTTP status, JSON body)``; what is not given is built from the environment.

    ``queue`` defaults to SQS when ``SLO_ENGINE_RUNBOOK_QUEUE_URL`` is set, else to indexing into the local index
    (``SLO_ENGINE_DATA_DIR``, default ``.slo-engine``) right away.
    """
    if queue is None:
        if os.environ.get("SLO_ENGINE_RUNBOOK_QUEUE_URL"):
            queue = _aws_queue()
        else:
            from slo_engine.entrypoints.runbook_indexer import local_indexing_queue

            queue = local_indexing_queue()
    return receive_webhook(
        provider,
        headers,
        raw_body,
        secret=secret if secret is not None else webhook_secret(provider),
        queue=queue,
        delivery_log=delivery_log if delivery_log is not None else _delivery_log(),
        changed_files=changed_files if changed_files is not None else _diff_client(),
        globs=globs if globs is not None else runbook_globs_from_env(),
        max_body_bytes=max_body_bytes
        or int(os.environ.get("SLO_ENGINE_WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
        bitbucket_server_url=os.environ.get("SLO_ENGINE_BITBUCKET_SERVER_URL") or None,
        branches=runbook_branches_from_env(),
    )


def handle(delivery: Delivery, context: Any = None) -> tuple[int, dict[str, Any]]:
    """The Lambda entrypoint (``lambdas/webhook/handler.py``): the raw body is signed byte for byte as received."""
    return handle_webhook(delivery.provider, delivery.headers, delivery.raw_body.encode("utf-8"))
