"""Lambda run by the service-change bus rules: one registered / changed / deregistered service per event, or one
``Service Documents Changed`` event from the runbook indexer (the parsed event keeps its detail-type); asks the core's
``slo_engine.entrypoints.structural_mapping.handle`` to rebuild that service's dependency edges in Neo4j.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from slo_engine.entrypoints import load_handle

ENTRYPOINT_MODULE = "slo_engine.entrypoints.structural_mapping"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")


@functools.cache
def _entrypoint() -> Callable[..., Any]:
    return load_handle(ENTRYPOINT_MODULE)


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change_event = parse(event=event, model=EventBridgeModel)
    result = dict(_entrypoint()(change_event, context))
    metrics.add_metric(name="DependenciesMapped", unit=MetricUnit.Count, value=int(result.get("dependencies", 0)))
    metrics.add_metric(name="DependenciesRejected", unit=MetricUnit.Count, value=len(result.get("rejected", [])))
    return result
