"""Ingestion: raw request events folded into 10-second service snapshots (the embedded stand-in for Flink)."""

from slo_engine.ingest.aggregator import (
    AggregationReport,
    AggregatorStats,
    EventColumns,
    SnapshotAggregator,
    aggregate_columnar,
    aggregate_file,
)

__all__ = [
    "AggregationReport",
    "AggregatorStats",
    "EventColumns",
    "SnapshotAggregator",
    "aggregate_columnar",
    "aggregate_file",
]
