"""IngestionStack: telemetry stream -> Managed Flink (10-second snapshots) -> snapshot stream -> snapshot sink Lambda
-> Amazon Managed Prometheus, the snapshot store (S3) and the observed-edges table.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from cdk.config import DeploymentConfig
from cdk.constructs.flink_aggregator import FlinkAggregator
from cdk.constructs.prometheus_workspace import PrometheusWorkspace
from cdk.constructs.python_function import EngineLayers
from cdk.constructs.snapshot_sink import SnapshotSink
from cdk.constructs.snapshot_store import SnapshotStore
from cdk.constructs.state_tables import StateTables
from cdk.constructs.telemetry_streams import TelemetryStreams


class IngestionStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        tables: StateTables,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(
            scope, construct_id, description="SLO engine ingestion: streams, Flink, snapshot sink", env=env
        )
        layers = EngineLayers(self, "Layers", config=config)
        self.streams = TelemetryStreams(self, "Streams", config=config)
        self.snapshot_store = SnapshotStore(self, "SnapshotStore", config=config)
        self.flink = FlinkAggregator(
            self,
            "SnapshotAggregator",
            config=config,
            source=self.streams.telemetry,
            sink=self.streams.snapshots,
            side_output=self.snapshot_store.bucket,
        )
        self.prometheus = PrometheusWorkspace(self, "Prometheus", config=config)
        self.snapshot_sink = SnapshotSink(
            self,
            "SnapshotSink",
            config=config,
            layers=layers,
            snapshots=self.streams.snapshots,
            store=self.snapshot_store.bucket,
            prometheus=self.prometheus,
            tables=tables,
        )
