"""Lambda reading the snapshot stream: each Kinesis record (one 10-second service snapshot) goes to the core's
``slo_engine.entrypoints.snapshot_sink.handle``; failed records are reported back so only they are retried.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import KinesisDataStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from slo_engine.entrypoints import load_handle

ENTRYPOINT_MODULE = "slo_engine.entrypoints.snapshot_sink"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")
processor = BatchProcessor(event_type=EventType.KinesisDataStreams, model=KinesisDataStreamRecord)


@functools.cache
def _entrypoint() -> Callable[..., Any]:
    return load_handle(ENTRYPOINT_MODULE)


@tracer.capture_method(capture_response=False)
def record_handler(record: KinesisDataStreamRecord, lambda_context: LambdaContext) -> None:
    logger.append_keys(sequence_number=record.kinesis.sequenceNumber, partition_key=record.kinesis.partitionKey)
    _entrypoint()(record, lambda_context)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    metrics.add_metric(
        name="SnapshotRecordsFailed", unit=MetricUnit.Count, value=len(response.get("batchItemFailures", []))
    )
    return dict(response)
