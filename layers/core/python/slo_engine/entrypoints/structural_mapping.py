"""The structural-mapping glue: one ``ServiceChange`` event from the service-change bus -> the service's edges
(observed in the ObservedEdges table, declared in its registry attributes, read from its docs by the reasoner)
written to Neo4j (``SLO_ENGINE_NEO4J_SECRET_ARN`` or ``NEO4J_URI``), or a deregistered service marked inactive.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from pydantic import ValidationError

from slo_engine.discovery.events import ServiceChange
from slo_engine.discovery.mapping import StructuralMapper

logger = logging.getLogger(__name__)


class BadChangeEvent(ValueError):
    """An event whose detail is not a ServiceChange: it fails (and is retried, then dead-lettered)."""


def parse_change(detail: object) -> ServiceChange:
    try:
        return ServiceChange.model_validate(detail)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "detail"
        raise BadChangeEvent(f"not a service change: {where}: {first['msg']}") from error


@functools.cache
def _wiring() -> tuple[StructuralMapper, Any]:
    from slo_engine.adapters.aws.observed_edges import DynamoDbObservedEdges
    from slo_engine.adapters.neo4j_graph import Neo4jGraphStore

    return StructuralMapper(Neo4jGraphStore.from_env(), reasoner_from_env()), DynamoDbObservedEdges.from_env()


def reasoner_from_env() -> Any:
    """The small model on Bedrock reads docs when ``SLO_ENGINE_SMALL_MODEL_ID`` is set; the rules otherwise."""
    small_model_id = os.environ.get("SLO_ENGINE_SMALL_MODEL_ID", "").strip()
    if small_model_id:
        from slo_engine.adapters.bedrock import BedrockReasoner

        return BedrockReasoner(small_model_id, small_model_id=small_model_id)
    from slo_engine.embedded.reasoner import DeterministicReasoner

    return DeterministicReasoner()


def handle(event: Any, context: Any = None) -> dict[str, Any]:
    """``event``: a Powertools ``EventBridgeModel`` (or anything with ``detail``) carrying one ServiceChange."""
    change = parse_change(getattr(event, "detail", None) if not isinstance(event, dict) else event.get("detail"))
    mapper, observed_edges = _wiring()
    observed = observed_edges.downstream_of(change.service) if observed_edges and change.kind != "deregistered" else []
    result = mapper.apply_change(change, observed=observed)
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
    }
