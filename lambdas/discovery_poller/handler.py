"""Lambda run by the EventBridge schedule: parses the scheduled event and asks the core's
``slo_engine.entrypoints.discovery_poller.handle`` to diff the Cloud Map registry against the last inventory.
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

ENTRYPOINT_MODULE = "slo_engine.entrypoints.discovery_poller"

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
    scheduled = parse(event=event, model=EventBridgeModel)
    summary = dict(_entrypoint()(scheduled, context))
    for change in ("registered", "changed", "deregistered"):
        count = summary.get(change)
        if isinstance(count, int):
            metrics.add_metric(name=f"Services{change.capitalize()}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="RegistryPolls", unit=MetricUnit.Count, value=1)
    return summary
