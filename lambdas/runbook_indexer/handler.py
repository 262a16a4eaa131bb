"""Lambda reading the runbook-change queue: each SQS message (one changed runbook file) goes to the core's
``slo_engine.entrypoints.runbook_indexer.handle``; failed messages return to the queue
(and reach its dead-letter queue after the redrive limit) while the rest of the batch is deleted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from slo_engine.entrypoints import load_handle

ENTRYPOINT_MODULE = "slo_engine.entrypoints.runbook_indexer"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)


@functools.cache
def _entrypoint() -> Callable[..., Any]:
    return load_handle(ENTRYPOINT_MODULE)


@tracer.capture_method(capture_response=False)
def record_handler(record: SqsRecordModel, lambda_context: LambdaContext) -> None:
    logger.append_keys(message_id=record.messageId)
    _entrypoint()(record, lambda_context)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    metrics.add_metric(
        name="RunbookChangesFailed", unit=MetricUnit.Count, value=len(response.get("batchItemFailures", []))
    )
    return dict(response)
