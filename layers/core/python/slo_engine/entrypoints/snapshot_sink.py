"""The snapshot sink glue: one Kinesis record (one snapshot) -> Prometheus remote write, the S3 archive and the
exactly-once edge ledger, built from the environment (``SLO_ENGINE_PROMETHEUS_REMOTE_WRITE_URL``, the bucket and
table variables). AMP URLs are SigV4-signed; any other URL is written to as is.
"""

from __future__ import annotations

import base64
import functools
import os
from typing import Any, Protocol

from slo_engine.ingest.sink import SinkReport, SnapshotRejectedError, SnapshotSink, parse_snapshot

REMOTE_WRITE_URL = "SLO_ENGINE_PROMETHEUS_REMOTE_WRITE_URL"
SNAPSHOT_BUCKET = "SLO_ENGINE_SNAPSHOT_BUCKET"
SNAPSHOT_PREFIX = "SLO_ENGINE_SNAPSHOT_PREFIX"
EDGES_TABLE = "SLO_ENGINE_OBSERVED_EDGES_TABLE"
CLAIMS_TABLE = "SLO_ENGINE_IDEMPOTENCY_TABLE"


class KinesisPayload(Protocol):
    data: Any


class KinesisRecord(Protocol):
    """What ``lambdas/snapshot_sink/handler.py`` passes: a Powertools ``KinesisDataStreamRecord``."""

    kinesis: KinesisPayload


class SinkConfigurationError(RuntimeError):
    """A required environment variable is missing."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SinkConfigurationError(f"{name} is not set")
    return value


@functools.cache
def sink_from_env() -> SnapshotSink:
    from slo_engine.adapters.aws.snapshot_sink_stores import DynamoDbEdgeLedger, S3SnapshotArchive
    from slo_engine.adapters.prometheus import RemoteWriteClient, transport_for

    url = _required(REMOTE_WRITE_URL)
    transport = transport_for(url)
    bucket = os.environ.get(SNAPSHOT_BUCKET, "").strip()
    edges, claims = os.environ.get(EDGES_TABLE, "").strip(), os.environ.get(CLAIMS_TABLE, "").strip()
    return SnapshotSink(
        RemoteWriteClient(url, transport),
        S3SnapshotArchive(bucket, os.environ.get(SNAPSHOT_PREFIX, "snapshots")) if bucket else None,
        DynamoDbEdgeLedger(edges, claims) if edges and claims else None,
    )


def record_bytes(record: KinesisRecord) -> bytes:
    """The record's data: Powertools' model decodes base64 already (bytes); a raw event dict holds base64 text."""
    data = record.kinesis.data
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return base64.b64decode(data)


def handle(record: KinesisRecord, context: Any = None, sink: SnapshotSink | None = None) -> SinkReport:
    """Write one snapshot. A malformed record raises SnapshotRejectedError (reported as a failed item, retried
    until the mapping's retry limit sends it to the on-failure queue); a destination error raises as is."""
    snapshot = parse_snapshot(record_bytes(record), "kinesis record")
    return (sink or sink_from_env()).write([snapshot])


__all__ = ["SnapshotRejectedError", "handle", "record_bytes", "sink_from_env"]
