"""The stream producer: batches records for the stream, retries only the records that failed, and never drops one
silently (what still fails after the last attempt is returned, with its error, for the caller to dead-letter).

Transports implement ``StreamTransport``: Kinesis ``PutRecords`` (``slo_engine.adapters.aws.kinesis``) or Kafka/MSK
(``slo_engine.adapters.kafka``). The core has no driver import.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_RECORDS_PER_BATCH = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
"""Kinesis limits (PutRecords: 500 records, 5 MiB; one record: 1 MiB including its partition key)."""


@dataclass(frozen=True)
class StreamRecord:
    partition_key: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())


class StreamTransport(Protocol):
    def put_batch(self, records: Sequence[StreamRecord]) -> list[str | None]:
        """Send one batch; one entry per record: None when stored, else the error (code and message)."""
        ...


@dataclass
class ProduceReport:
    offered: int = 0
    sent: int = 0
    attempts: int = 0
    retried: int = 0
    failed: list[tuple[StreamRecord, str]] = field(default_factory=list)
    """Records still not stored after the last attempt, with the last error: nothing else is lost."""
    rejected: list[str] = field(default_factory=list)
    """Records refused before sending (too large, not JSON-serialisable), with why."""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.rejected


class StreamProducer:
    """Batches up to the stream's limits; retries failed records only, with exponential backoff and full jitter."""

    def __init__(
        self,
        transport: StreamTransport,
        *,
        max_attempts: int = 5,
        base_delay_seconds: float = 0.1,
        max_delay_seconds: float = 5.0,
        max_records_per_batch: int = MAX_RECORDS_PER_BATCH,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        max_record_bytes: int = MAX_RECORD_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._transport = transport
        self._max_attempts = max_attempts
        self._base = base_delay_seconds
        self._cap = max_delay_seconds
        self._max_records = max_records_per_batch
        self._max_bytes = max_batch_bytes
        self._max_record = max_record_bytes
        self._sleep = sleep
        self._rng = rng or random.Random()

    def batches(self, records: Sequence[StreamRecord]) -> Iterable[list[StreamRecord]]:
        batch: list[StreamRecord] = []
        size = 0
        for record in records:
            if batch and (len(batch) >= self._max_records or size + record.size > self._max_bytes):
                yield batch
                batch, size = [], 0
            batch.append(record)
            size += record.size
        if batch:
            yield batch

    def send(self, records: Iterable[StreamRecord]) -> ProduceReport:
        report = ProduceReport()
        pending: list[StreamRecord] = []
        for record in records:
            report.offered += 1
            if record.size > self._max_record:
                report.rejected.append(
                    f"record with key {record.partition_key!r}: {record.size} bytes exceeds {self._max_record}"
                )
            else:
                pending.append(record)
        for batch in self.batches(pending):
            self._send_batch(batch, report)
        return report

    def send_json(
        self, documents: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], str]
    ) -> ProduceReport:
        """JSON documents (compact, one per record) keyed by ``key`` (e.g. the service, to keep its order)."""
        records: list[StreamRecord] = []
        refused: list[str] = []
        for index, document in enumerate(documents):
            try:
                data = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
                records.append(StreamRecord(str(key(document)), data))
            except (TypeError, ValueError, KeyError) as error:
                refused.append(f"document {index}: {error}")
        report = self.send(records)
        report.offered += len(refused)
        report.rejected.extend(refused)
        return report

    def _send_batch(self, batch: list[StreamRecord], report: ProduceReport) -> None:
        pending = batch
        for attempt in range(1, self._max_attempts + 1):
            report.attempts += 1
            try:
                outcomes = self._transport.put_batch(pending)
            except Exception as error:
                outcomes = [f"{type(error).__name__}: {error}"] * len(pending)
            if len(outcomes) != len(pending):
                outcomes = [f"transport answered {len(outcomes)} results for {len(pending)} records"] * len(pending)
            failed = [(record, error) for record, error in zip(pending, outcomes, strict=True) if error is not None]
            report.sent += len(pending) - len(failed)
            if not failed:
                return
            if attempt == self._max_attempts:
                report.failed.extend(failed)
                return
            report.retried += len(failed)
            pending = [record for record, _ in failed]
            delay = min(self._cap, self._base * 2 ** (attempt - 1))
            self._sleep(self._rng.uniform(0, delay))
