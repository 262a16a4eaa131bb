"""The runbook indexer glue: one SQS message (one changed runbook file) -> fetch at the commit -> chunk, extract,
embed -> upsert or delete in the vector index. Adapters come from the environment: OpenSearch when
``SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT`` is set, S3 Vectors with ``SLO_ENGINE_S3_VECTORS_BUCKET``, else local.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from slo_engine.knowledge.embedding import Embedder
from slo_engine.knowledge.fetching import ChangeReport, RepositoryFiles, apply_runbook_change
from slo_engine.knowledge.indexing import ResolutionExtractor
from slo_engine.knowledge.webhooks import RunbookChangeMessage
from slo_engine.ports import RunbookIndex

logger = logging.getLogger(__name__)


class QueueRecord(Protocol):
    """What ``lambdas/runbook_indexer/handler.py`` passes: a Powertools ``SqsRecordModel``."""

    body: str


class BadChangeMessage(ValueError):
    """A queue message that is not a runbook change: it fails, is retried and ends in the dead-letter queue."""


def parse_change_message(body: str) -> RunbookChangeMessage:
    try:
        return RunbookChangeMessage.model_validate_json(body)
    except ValidationError as error:
        raise BadChangeMessage(f"not a runbook change message: {error.errors()[0]['msg']} ({body[:200]!r})") from error


@dataclass
class RunbookIndexer:
    """Applies runbook changes to an index; every skip is logged with its reason and returned in the report."""

    index: RunbookIndex
    files: RepositoryFiles
    extractor: ResolutionExtractor | None = None
    known_services: Sequence[str] = field(default_factory=tuple)

    def apply(self, change: RunbookChangeMessage) -> ChangeReport:
        report = apply_runbook_change(
            change, self.index, self.files, extractor=self.extractor, known_services=self.known_services
        )
        for skipped in report.skipped:
            logger.warning(
                "runbook skipped", extra={"repository": change.repository, "path": skipped.path, "why": skipped.reason}
            )
        return report

    def apply_body(self, body: str) -> ChangeReport:
        return self.apply(parse_change_message(body))


class IndexingQueue:
    """``ChangeQueue`` that indexes each change at once (the local server); a failed change raises after the rest."""

    def __init__(self, indexer: RunbookIndexer) -> None:
        self.indexer = indexer
        self.reports: list[ChangeReport] = []

    def send(self, messages: Sequence[RunbookChangeMessage]) -> None:
        failures: list[str] = []
        for message in messages:
            try:
                self.reports.append(self.indexer.apply(message))
            except Exception as error:
                failures.append(f"{message.path}: {error}")
        if failures:
            raise RuntimeError("; ".join(failures))


# --- adapters from the environment --------------------------------------------------------------------------------


def repository_client() -> Any:
    """The REST client for GitHub / Bitbucket with tokens from Secrets Manager (by ARN) or the environment."""
    from slo_engine.adapters.repository_rest import RepositoryRestClient, RepositoryTokens

    arn = os.environ.get("SLO_ENGINE_REPOSITORY_TOKENS_SECRET_ARN")
    if arn:
        from slo_engine.entrypoints.webhook import _secrets

        raw = _secrets().get(arn)
        tokens = RepositoryTokens.model_validate(json.loads(raw)) if raw.strip().startswith("{") else RepositoryTokens()
    else:
        tokens = RepositoryTokens(
            github_token=os.environ.get("SLO_ENGINE_GITHUB_TOKEN"),
            bitbucket_token=os.environ.get("SLO_ENGINE_BITBUCKET_TOKEN"),
            bitbucket_server_token=os.environ.get("SLO_ENGINE_BITBUCKET_SERVER_TOKEN"),
        )
    return RepositoryRestClient(
        tokens,
        github_api_url=os.environ.get("SLO_ENGINE_GITHUB_API_URL", "https://api.github.com"),
        bitbucket_api_url=os.environ.get("SLO_ENGINE_BITBUCKET_API_URL", "https://api.bitbucket.org/2.0"),
    )


def embedder_from_env() -> Embedder:
    """Titan on Bedrock when ``SLO_ENGINE_EMBEDDING_MODEL_ID`` is set (AWS), else the local default (MiniLM if
    installed, else hashing). Index and queries must use the same embedder: its name is stored with each vector."""
    model_id = os.environ.get("SLO_ENGINE_EMBEDDING_MODEL_ID")
    if model_id:
        from slo_engine.adapters.aws.titan_embedder import TitanEmbedder

        return TitanEmbedder(model_id, dimension=int(os.environ.get("SLO_ENGINE_EMBEDDING_DIMENSIONS", "1024")))
    from slo_engine.knowledge.minilm import default_embedder

    return default_embedder()


def runbook_index_from_env() -> RunbookIndex:
    endpoint = os.environ.get("SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT")
    index_name = os.environ.get("SLO_ENGINE_VECTOR_INDEX", "runbooks")
    if endpoint:
        from slo_engine.adapters.opensearch import OpenSearchRunbookIndex

        return OpenSearchRunbookIndex.from_endpoint(endpoint, index_name=index_name, embedder=embedder_from_env())
    bucket = os.environ.get("SLO_ENGINE_S3_VECTORS_BUCKET")
    if bucket:
        from slo_engine.adapters.aws.s3vectors import S3VectorsRunbookIndex

        return S3VectorsRunbookIndex(bucket, index_name=index_name, embedder=embedder_from_env())
    from slo_engine.embedded.runbook_index import LocalRunbookIndex

    data_dir = Path(os.environ.get("SLO_ENGINE_DATA_DIR", ".slo-engine"))
    return LocalRunbookIndex(data_dir / "runbooks.db", embedder=embedder_from_env())


def extractor_from_env() -> ResolutionExtractor | None:
    """The small model on Bedrock when ``SLO_ENGINE_SMALL_MODEL_ID`` is set (it falls back to the rules itself on a
    bad answer); None means the rule-based extraction."""
    small_model_id = os.environ.get("SLO_ENGINE_SMALL_MODEL_ID")
    if not small_model_id:
        return None
    from slo_engine.adapters.bedrock import BedrockReasoner

    return BedrockReasoner(small_model_id, small_model_id=small_model_id).extract_resolution


@functools.cache
def indexer_from_env() -> RunbookIndexer:
    return RunbookIndexer(index=runbook_index_from_env(), files=repository_client(), extractor=extractor_from_env())


def local_indexing_queue() -> IndexingQueue:
    return IndexingQueue(indexer_from_env())


def handle(record: QueueRecord, context: Any = None) -> dict[str, Any]:
    """The Lambda entrypoint: one SQS record. Raising marks the record failed (retried, then dead-lettered)."""
    report = indexer_from_env().apply_body(record.body)
    return report.model_dump(mode="json")
