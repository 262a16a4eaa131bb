"""The discovery poller glue: read the Cloud Map registry, diff it against the DynamoDB inventory and put the
changes on the EventBridge service-change bus. Namespaces: ``SLO_ENGINE_CLOUD_MAP_NAMESPACES`` (comma-separated;
empty: every namespace); table and bus: ``SLO_ENGINE_INVENTORY_TABLE``, ``SLO_ENGINE_SERVICE_CHANGE_BUS``.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from slo_engine.discovery.inventory import poll_registry

NAMESPACES_VARIABLE = "SLO_ENGINE_CLOUD_MAP_NAMESPACES"
logger = logging.getLogger(__name__)


@functools.cache
def _adapters() -> tuple[Any, Any, Any]:
    from slo_engine.adapters.aws.cloudmap import CloudMapRegistry
    from slo_engine.adapters.aws.eventbridge import EventBridgeChangePublisher
    from slo_engine.adapters.aws.inventory import DynamoDbInventoryStore

    namespaces = [name.strip() for name in os.environ.get(NAMESPACES_VARIABLE, "").split(",") if name.strip()]
    return CloudMapRegistry(namespaces), DynamoDbInventoryStore.from_env(), EventBridgeChangePublisher.from_env()


def handle(scheduled: Any, context: Any = None) -> dict[str, Any]:
    """One poll; returns the counts (registered, changed, deregistered, unchanged, published) and problems."""
    registry, inventory, publisher = _adapters()
    report = poll_registry(registry.read(), inventory, publisher)
    for problem in report.problems:
        logger.warning("registry entry not fully read", extra={"entry": problem.reference, "why": problem.problem})
    return report.summary()
