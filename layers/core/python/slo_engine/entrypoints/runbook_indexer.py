"""The runbook indexer glue: one SQS message (one changed runbook file) -> fetch at the commit -> chunk, extract,
embed -> upsert or delete in the vector index. Adapters come from the environment: OpenSearch when
``SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT`` is set, S3 Vectors with ``SLO_ENGINE_S3_VECTORS_BUCKET``, else local.

A file attributed to services (the known services it names; in AWS the registry's, read from
``SLO_ENGINE_INVENTORY_TABLE``) is also stored as each service's document (``ports.ServiceDocuments``: S3 with
``SLO_ENGINE_SERVICE_DOCS_BUCKET``, else the data dir), deleted where it no longer belongs, and announced with one
``Service Documents Changed`` event per service on ``SLO_ENGINE_SERVICE_CHANGE_BUS``, so that the structural mapping
reads the service's docs again. A failure there fails the message (retried, then dead-lettered).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, ValidationError

from slo_engine.knowledge.embedding import Embedder
from slo_engine.knowledge.fetching import ChangeReport, RepositoryFiles, apply_runbook_change
from slo_engine.knowledge.indexing import MAX_RUNBOOK_BYTES, ResolutionExtractor, decode_runbook
from slo_engine.knowledge.service_documents import DOCUMENTS_CHANGED, ServiceDocumentsChanged, document_key
from slo_engine.knowledge.webhooks import RunbookChangeMessage
from slo_engine.models import RunbookChunk, RunbookHit
from slo_engine.ports import EventPublisher, RunbookIndex, ServiceDocuments

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


class IndexedChange(ChangeReport):
    """A ``ChangeReport`` plus what happened to the file as a service document."""

    documents_stored: list[str] = Field(default_factory=list, description="services the file was stored for")
    documents_deleted: list[str] = Field(default_factory=list, description="services it was deleted from")


class _RecordingFiles:
    """Keeps the bytes fetched, so the file is fetched once for the index and the service documents."""

    def __init__(self, files: RepositoryFiles) -> None:
        self.files = files
        self.data: bytes | None = None

    def fetch_file(self, change: RunbookChangeMessage) -> bytes:
        self.data = self.files.fetch_file(change)
        return self.data


class _RecordingIndex:
    """Keeps the services of the chunks upserted: the services the file is attributed to."""

    def __init__(self, index: RunbookIndex) -> None:
        self.index = index
        self.services: dict[str, None] = {}

    def upsert(self, chunks: Sequence[RunbookChunk]) -> int:
        for chunk in chunks:
            self.services.update(dict.fromkeys(chunk.services))
        return self.index.upsert(chunks)

    def delete_path(self, repository: str, path: str) -> int:
        return self.index.delete_path(repository, path)

    def search(self, text: str, service: str | None = None, k: int = 5) -> list[RunbookHit]:
        return self.index.search(text, service=service, k=k)


@dataclass
class RunbookIndexer:
    """Applies runbook changes to an index; every skip is logged with its reason and returned in the report.

    With ``documents``, a file attributed to services is also stored as their document (and deleted from services it
    no longer names, or everywhere when it is removed or unindexable), with one ``Service Documents Changed`` event
    per service affected on ``events``. ``service_names`` (the registry, read at each change) adds to
    ``known_services``.
    """

    index: RunbookIndex
    files: RepositoryFiles
    extractor: ResolutionExtractor | None = None
    known_services: Sequence[str] = field(default_factory=tuple)
    documents: ServiceDocuments | None = None
    events: EventPublisher | None = None
    service_names: Callable[[], Sequence[str]] | None = None

    def apply(self, change: RunbookChangeMessage) -> ChangeReport:
        known = list(dict.fromkeys([*self.known_services, *(self.service_names() if self.service_names else ())]))
        files, index = _RecordingFiles(self.files), _RecordingIndex(self.index)
        report = apply_runbook_change(change, index, files, extractor=self.extractor, known_services=known)
        for skipped in report.skipped:
            logger.warning(
                "runbook skipped", extra={"repository": change.repository, "path": skipped.path, "why": skipped.reason}
            )
        if self.documents is not None:
            text = decode_runbook(files.data, MAX_RUNBOOK_BYTES) if report.documents and files.data else None
            report = self._update_documents(change, report, list(index.services) if text else [], text)
        return report

    def _update_documents(
        self, change: RunbookChangeMessage, report: ChangeReport, services: list[str], text: str | None
    ) -> IndexedChange:
        """Store, delete, then announce; any failure raises so that the message is retried (all steps repeat
        harmlessly)."""
        assert self.documents is not None
        key = document_key(change.repository, change.path)
        stale = [service for service in self.documents.services_holding(key) if service not in services]
        for service in services:
            self.documents.put(service, key, text or "")
        for service in stale:
            self.documents.delete(service, key)
        if self.events is not None:
            for service in sorted({*services, *stale}):
                detail = ServiceDocumentsChanged(
                    service=service, repository=change.repository, path=change.path, commit=change.commit
                )
                self.events.publish(DOCUMENTS_CHANGED, detail.model_dump())
        if services or stale:
            logger.info(
                "service documents updated",
                extra={"repository": change.repository, "path": change.path, "stored": services, "deleted": stale},
            )
        return IndexedChange(**report.model_dump(), documents_stored=services, documents_deleted=stale)

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
    from slo_engine.adapters.aws.emf import usage_sink_from_env
    from slo_engine.adapters.bedrock import BedrockReasoner

    return BedrockReasoner(
        small_model_id, small_model_id=small_model_id, usage_sink=usage_sink_from_env()
    ).extract_resolution


def service_documents_from_env() -> ServiceDocuments:
    """S3 when ``SLO_ENGINE_SERVICE_DOCS_BUCKET`` is set, else ``<data dir>/service-docs``."""
    from slo_engine.adapters.aws.service_documents import S3ServiceDocuments

    store = S3ServiceDocuments.from_env()
    if store is not None:
        return store
    from slo_engine.embedded.service_documents import LocalServiceDocuments

    return LocalServiceDocuments.in_data_dir(Path(os.environ.get("SLO_ENGINE_DATA_DIR", ".slo-engine")))


def document_events_from_env() -> EventPublisher | None:
    """``Service Documents Changed`` events go to the service-change bus (``SLO_ENGINE_SERVICE_CHANGE_BUS``)."""
    from slo_engine.adapters.aws.eventbridge import BUS_VARIABLE

    bus = os.environ.get(BUS_VARIABLE, "").strip()
    if not bus:
        return None
    from slo_engine.adapters.aws.slo_events import EventBridgeSloEventPublisher
    from slo_engine.knowledge.service_documents import DOCUMENTS_EVENT_SOURCE

    return EventBridgeSloEventPublisher(bus, source=DOCUMENTS_EVENT_SOURCE)


class CachedServiceNames:
    """The registry's service names, read again at most every ``ttl_seconds`` (a warm Lambda sees new services)."""

    def __init__(self, read: Callable[[], Sequence[str]], ttl_seconds: float = 60.0, clock: Any = time.monotonic):
        self._read = read
        self._ttl = ttl_seconds
        self._clock = clock
        self._names: list[str] = []
        self._read_at: float | None = None

    def __call__(self) -> list[str]:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._ttl:
            self._names = sorted({str(name) for name in self._read()})
            self._read_at = now
        return self._names


def service_names_from_env() -> Callable[[], Sequence[str]] | None:
    """The names in the discovery inventory (``SLO_ENGINE_INVENTORY_TABLE``), or None when it is not set."""
    from slo_engine.adapters.aws.inventory import TABLE_VARIABLE

    if not os.environ.get(TABLE_VARIABLE, "").strip():
        return None
    from slo_engine.adapters.aws.inventory import DynamoDbInventoryStore

    inventory = DynamoDbInventoryStore.from_env()
    return CachedServiceNames(lambda: [entry.name for entry in inventory.load().values()])


@functools.cache
def indexer_from_env() -> RunbookIndexer:
    return RunbookIndexer(
        index=runbook_index_from_env(),
        files=repository_client(),
        extractor=extractor_from_env(),
        documents=service_documents_from_env(),
        events=document_events_from_env(),
        service_names=service_names_from_env(),
    )


def local_indexing_queue(engine: Any = None, data_dir: Path | None = None) -> IndexingQueue:
    """Index webhook changes at once (no SQS). With the local server's ``engine`` and ``data_dir``: into its runbook
    index, its documents folder and its graph (a service whose documents changed is mapped again at once, see
    ``discovery.local.RemapOnDocuments``), naming the services its graph knows; otherwise from the environment."""
    if engine is None:
        return IndexingQueue(indexer_from_env())
    from slo_engine.discovery.local import RemapOnDocuments
    from slo_engine.discovery.mapping import StructuralMapper
    from slo_engine.embedded.service_documents import LocalServiceDocuments

    root = Path(data_dir) if data_dir is not None else engine.config.data_dir
    documents = LocalServiceDocuments.in_data_dir(root)
    mapper = StructuralMapper(engine.graph, engine.reasoner)
    return IndexingQueue(
        RunbookIndexer(
            index=engine.runbooks,
            files=repository_client(),
            extractor=extractor_from_env(),
            documents=documents,
            events=RemapOnDocuments(mapper, documents, engine.metrics),
            service_names=lambda: [node.name for node in engine.graph.services() if node.active],
        )
    )


def handle(record: QueueRecord, context: Any = None) -> dict[str, Any]:
    """The Lambda entrypoint: one SQS record. Raising marks the record failed (retried, then dead-lettered)."""
    report = indexer_from_env().apply_body(record.body)
    return report.model_dump(mode="json")
