"""Lambda of the LoadContext state of step_functions/recommendation.asl.json. Loads the service's past questions,
decisions and feedback (Context Manager) for the request. Thin adapter: the core's ``run_state`` takes the state name
and the JSON state document and returns the result.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from slo_engine.workflow.lambda_steps import run_state

STATE_NAME = "LoadContext"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    logger.append_keys(workflow_state=STATE_NAME)
    result = run_state(STATE_NAME, event)
    metrics.add_dimension(name="State", value=STATE_NAME)
    metrics.add_metric(name="WorkflowStateCompleted", unit=MetricUnit.Count, value=1)
    return result
