"""Scheduled Lambda: SendTaskHeartbeat for every pending human approval whose links are still valid, so the
HumanApproval state of step_functions/recommendation.asl.json waits for the human instead of failing its heartbeat.
Thin adapter over ``slo_engine.entrypoints.approval_heartbeat.handle``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from slo_engine.entrypoints.approval_heartbeat import handle

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = handle(event, context)
    metrics.add_metric(name="ApprovalHeartbeats", unit=MetricUnit.Count, value=result["heartbeats"])
    if result["not_waiting"]:
        logger.warning("approvals whose workflow no longer waits", not_waiting=result["not_waiting"])
    return result
