"""The snapshot sink: a Lambda reading the snapshot stream (batch item failures, bisect on error, bounded retries and
record age, an SQS on-failure destination) that writes Prometheus remote-write samples, the snapshot store and the
observed dependency edges.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.durable_queue import dead_letter_queue
from cdk.constructs.prometheus_workspace import PrometheusWorkspace
from cdk.constructs.python_function import EngineFunction, EngineLayers
from cdk.constructs.state_tables import StateTables

SNAPSHOT_PREFIX = "snapshots"


class SnapshotSink(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: EngineLayers,
        snapshots: kinesis.IStream,
        store: s3.IBucket,
        prometheus: PrometheusWorkspace,
        tables: StateTables,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.snapshot_sink
        self.failed_batches = dead_letter_queue(self, "FailedBatches")
        self.handler = EngineFunction(
            self,
            "Handler",
            handler_folder="snapshot_sink",
            description="Writes 10-second snapshots to Prometheus (remote write), the snapshot store and edges",
            config=config,
            layers=layers,
            timeout=cdk.Duration.seconds(60),
            environment={
                "SLO_ENGINE_SNAPSHOT_BUCKET": store.bucket_name,
                "SLO_ENGINE_SNAPSHOT_PREFIX": SNAPSHOT_PREFIX,
                "SLO_ENGINE_PROMETHEUS_REMOTE_WRITE_URL": prometheus.remote_write_url,
                tables.observed_edges.environment_variable: tables.observed_edges.table.table_name,
                tables.idempotency.environment_variable: tables.idempotency.table.table_name,
            },
        )
        self.handler.function.add_event_source(
            event_sources.KinesisEventSource(
                snapshots,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=settings.batch_size,
                max_batching_window=cdk.Duration.seconds(settings.max_batching_window_seconds),
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                retry_attempts=settings.retry_attempts,
                max_record_age=cdk.Duration.hours(settings.max_record_age_hours),
                parallelization_factor=settings.parallelization_factor,
                on_failure=event_sources.SqsDlq(self.failed_batches),
            )
        )
        self.handler.add_to_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[store.arn_for_objects(f"{SNAPSHOT_PREFIX}/*")])
        )
        nag.objects_under_prefix(self.handler.role, store, SNAPSHOT_PREFIX, "<prefix>/<service>/<window>.json")
        prometheus.grant_remote_write(self.handler.role)
        tables.observed_edges.grant(self.handler.role, "read_write")
        tables.idempotency.grant(self.handler.role, "read_write")
