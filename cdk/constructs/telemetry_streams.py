"""The two Kinesis Data Streams of ingestion, encrypted with the AWS-managed ``aws/kinesis`` key: ``telemetry``
(edge-reduced aggregates from the OpenTelemetry sidecars, read by Flink) and ``snapshots`` (Flink's 10-second service
snapshots, read by the snapshot sink).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct

from cdk.config import DeploymentConfig


class TelemetryStreams(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        settings = config.streams
        on_demand = settings.mode == "on_demand"
        self.telemetry = kinesis.Stream(
            self,
            "Telemetry",
            stream_mode=kinesis.StreamMode.ON_DEMAND if on_demand else kinesis.StreamMode.PROVISIONED,
            shard_count=None if on_demand else settings.telemetry_shard_count,
            encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=cdk.Duration.hours(settings.retention_hours),
        )
        self.snapshots = kinesis.Stream(
            self,
            "Snapshots",
            stream_mode=kinesis.StreamMode.ON_DEMAND if on_demand else kinesis.StreamMode.PROVISIONED,
            shard_count=None if on_demand else settings.snapshot_shard_count,
            encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=cdk.Duration.hours(settings.retention_hours),
        )
