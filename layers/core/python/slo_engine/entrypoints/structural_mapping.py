"""The structural-mapping glue: one ``ServiceChange`` event from the service-change bus -> the service's edges
(observed in the ObservedEdges table, declared in its registry attributes, read from its docs by the reasoner)
written to Neo4j (``SLO_ENGINE_NEO4J_SECRET_ARN`` or ``NEO4J_URI``), or a deregistered service marked inactive.

The docs are the service's documents that the runbook indexer stored (``SLO_ENGINE_SERVICE_DOCS_BUCKET``; none when
unset), newest first and bounded. A ``Service Documents Changed`` event (the indexer stored or deleted one of them)
maps a known, active service again with its stored attributes; an unknown or inactive one is reported, not mapped.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from slo_engine.discovery.events import ServiceChange
from slo_engine.discovery.mapping import StructuralMapper
from slo_engine.knowledge.service_documents import (
    DEFAULT_DOCUMENT_LIMIT,
    DEFAULT_DOCUMENT_MAX_CHARS,
    DOCUMENTS_CHANGED,
    ServiceDocumentsChanged,
)
from slo_engine.ports import GraphStore, ServiceDocuments

logger = logging.getLogger(__name__)


class BadChangeEvent(ValueError):
    """An event whose detail is not a ServiceChange: it fails (and is retried, then dead-lettered)."""


Detail = TypeVar("Detail", bound=BaseModel)


def _parsed(model: type[Detail], detail: object, what: str) -> Detail:
    try:
        return model.model_validate(detail)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "detail"
        raise BadChangeEvent(f"not a {what}: {where}: {first['msg']}") from error


def parse_change(detail: object) -> ServiceChange:
    return _parsed(ServiceChange, detail, "service change")


def parse_documents_changed(detail: object) -> ServiceDocumentsChanged:
    return _parsed(ServiceDocumentsChanged, detail, "service documents change")


@functools.cache
def _graph() -> GraphStore:
    from slo_engine.adapters.neo4j_graph import Neo4jGraphStore

    return Neo4jGraphStore.from_env()


@functools.cache
def _wiring() -> tuple[StructuralMapper, Any]:
    from slo_engine.adapters.aws.observed_edges import DynamoDbObservedEdges

    return StructuralMapper(_graph(), reasoner_from_env()), DynamoDbObservedEdges.from_env()


@functools.cache
def _service_documents() -> ServiceDocuments | None:
    from slo_engine.adapters.aws.service_documents import S3ServiceDocuments

    return S3ServiceDocuments.from_env()


def documents_of(service: str) -> list[str] | None:
    """The service's stored documents (newest first, bounded; empty: it has none any more), or None when no store is
    configured (then the mapping leaves the edges read from documents alone)."""
    store = _service_documents()
    if store is None:
        return None
    return store.for_service(service, limit=DEFAULT_DOCUMENT_LIMIT, max_chars=DEFAULT_DOCUMENT_MAX_CHARS)


def reasoner_from_env() -> Any:
    """The small model on Bedrock reads docs when ``SLO_ENGINE_SMALL_MODEL_ID`` is set; the rules otherwise."""
    small_model_id = os.environ.get("SLO_ENGINE_SMALL_MODEL_ID", "").strip()
    if small_model_id:
        from slo_engine.adapters.aws.emf import usage_sink_from_env
        from slo_engine.adapters.bedrock import BedrockReasoner

        return BedrockReasoner(small_model_id, small_model_id=small_model_id, usage_sink=usage_sink_from_env())
    from slo_engine.embedded.reasoner import DeterministicReasoner

    return DeterministicReasoner()


def _detail_type(event: Any) -> str | None:
    if isinstance(event, dict):
        return event.get("detail-type", event.get("detail_type"))
    return getattr(event, "detail_type", None)


def handle_documents_changed(detail: object) -> dict[str, Any]:
    """Map a known, active service again because one of its documents changed; report an unknown or inactive one."""
    changed = parse_documents_changed(detail)
    mapper, observed_edges = _wiring()
    node = next((node for node in _graph().services() if node.name == changed.service), None)
    summary: dict[str, Any] = {
        "service": changed.service,
        "change": "documents",
        "active": bool(node and node.active),
        "dependencies": 0,
        "rejected": [],
        "problems": [],
        "inactive_targets": [],
        "removed": [],
    }
    if node is None or not node.active:
        why = "is not in the graph" if node is None else "is inactive (deregistered)"
        summary["problems"] = [f"{changed.service!r} {why}; its documents ({changed.path}) were not mapped"]
        logger.warning("structural mapping", extra={"service": changed.service, "detail": summary["problems"][0]})
        return summary
    observed = observed_edges.downstream_of(changed.service) if observed_edges else []
    result = mapper.map_service(
        changed.service, attributes=node.attributes, observed=observed, documents=documents_of(changed.service)
    )
    for line in [*result.rejected, *result.problems]:
        logger.warning("structural mapping", extra={"service": changed.service, "detail": line})
    summary.update(
        dependencies=len(result.dependencies),
        rejected=result.rejected,
        problems=result.problems,
        inactive_targets=result.inactive_targets,
        removed=result.removed,
    )
    return summary


def handle(event: Any, context: Any = None) -> dict[str, Any]:
    """``event``: a Powertools ``EventBridgeModel`` (or anything with ``detail`` and ``detail-type``) carrying one
    ServiceChange, or one ``Service Documents Changed`` detail."""
    detail = getattr(event, "detail", None) if not isinstance(event, dict) else event.get("detail")
    if _detail_type(event) == DOCUMENTS_CHANGED:
        return handle_documents_changed(detail)
    change = parse_change(detail)
    mapper, observed_edges = _wiring()
    observed = observed_edges.downstream_of(change.service) if observed_edges and change.kind != "deregistered" else []
    documents = documents_of(change.service) if change.kind != "deregistered" else None
    result = mapper.apply_change(change, observed=observed, documents=documents)
    for line in [*result.rejected, *result.problems]:
        logger.warning("structural mapping", extra={"service": change.service, "detail": line})
    return {
        "service": result.service,
        "change": result.change,
        "active": result.active,
        "dependencies": len(result.dependencies),
        "rejected": result.rejected,
        "problems": result.problems,
        "inactive_targets": result.inactive_targets,
        "removed": result.removed,
    }
