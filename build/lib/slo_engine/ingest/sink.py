"""The snapshot sink: each snapshot from the stream goes to Prometheus, the snapshot archive and the observed edges.

Idempotent on redelivery: Prometheus samples and archive objects are keyed by (service, window) and rewriting them
changes nothing; edge counts are added in the same atomic step that claims the window, so a replay adds nothing.
The destinations are small Protocols; ``slo_engine.adapters`` implements them for AWS and Prometheus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import ValidationError

from slo_engine.models.snapshot import ServiceSnapshot


class SnapshotRejectedError(ValueError):
    """The record is not a valid snapshot; retrying cannot help (the Lambda reports it as a failed item)."""


class SampleWriter(Protocol):
    def write_snapshots(self, snapshots: Sequence[ServiceSnapshot]) -> int: ...


class SnapshotArchive(Protocol):
    def put(self, snapshot: ServiceSnapshot) -> None:
        """Store the snapshot under a key derived from (service, window): a rewrite replaces it."""
        ...


class EdgeLedger(Protocol):
    def record_once(self, snapshot: ServiceSnapshot) -> bool:
        """Atomically claim the snapshot's (service, window) and add its downstream edge counts.

        Returns False (and changes nothing) when that window was already recorded.
        """
        ...


@dataclass
class SinkReport:
    received: int = 0
    written: int = 0
    replayed: int = 0
    rejected: list[str] = field(default_factory=list)


def parse_snapshot(data: bytes | str, where: str = "record") -> ServiceSnapshot:
    """One stream record -> a validated snapshot; a clear SnapshotRejectedError otherwise."""
    try:
        document = json.loads(data)
    except ValueError as error:
        raise SnapshotRejectedError(f"{where}: not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise SnapshotRejectedError(f"{where}: expected a JSON object, got {type(document).__name__}")
    try:
        return ServiceSnapshot.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'snapshot'}: {e['msg']}" for e in error.errors())
        raise SnapshotRejectedError(f"{where}: {problems}") from error


class SnapshotSink:
    """Writes snapshots to every destination; a destination's failure propagates so the record is retried."""

    def __init__(self, samples: SampleWriter, archive: SnapshotArchive | None, edges: EdgeLedger | None) -> None:
        self._samples = samples
        self._archive = archive
        self._edges = edges

    def write(self, snapshots: Sequence[ServiceSnapshot]) -> SinkReport:
        """Samples first (idempotent), then the archive (idempotent), then the edge ledger (exactly once)."""
        report = SinkReport(received=len(snapshots))
        if not snapshots:
            return report
        self._samples.write_snapshots(snapshots)
        for snapshot in snapshots:
            if self._archive is not None:
                self._archive.put(snapshot)
            if self._edges is None or self._edges.record_once(snapshot):
                report.written += 1
            else:
                report.replayed += 1
        return report

    def write_records(self, records: Sequence[bytes | str]) -> SinkReport:
        """Parse then write; invalid records are listed in ``rejected`` (with their index), valid ones written."""
        valid: list[ServiceSnapshot] = []
        rejected: list[str] = []
        for index, record in enumerate(records):
            try:
                valid.append(parse_snapshot(record, f"record {index}"))
            except SnapshotRejectedError as error:
                rejected.append(str(error))
        report = self.write(valid)
        report.received = len(records)
        report.rejected = rejected
        return report
