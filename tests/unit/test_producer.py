"""The stream producer: batching within Kinesis limits, retrying only failed records, nothing lost silently."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import boto3
import pytest
from moto import mock_aws

from slo_engine.adapters.aws.kinesis import KinesisTransport, read_stream
from slo_engine.ingest.producer import StreamProducer, StreamRecord


class FlakyTransport:
    """Fails the records whose data is in ``failures`` (counting down per record), records every call."""

    def __init__(self, failures: dict[bytes, int] | None = None, raise_first: int = 0) -> None:
        self.failures = dict(failures or {})
        self.calls: list[list[bytes]] = []
        self.stored: list[bytes] = []
        self.raise_first = raise_first

    def put_batch(self, records: Sequence[StreamRecord]) -> list[str | None]:
        self.calls.append([r.data for r in records])
        if self.raise_first:
            self.raise_first -= 1
            raise ConnectionError("network down")
        outcome: list[str | None] = []
        for record in records:
            if self.failures.get(record.data, 0) > 0:
                self.failures[record.data] -= 1
                outcome.append("ProvisionedThroughputExceededException: slow down")
            else:
                self.stored.append(record.data)
                outcome.append(None)
        return outcome


def records(n: int, size: int = 10) -> list[StreamRecord]:
    return [StreamRecord(f"k{i % 3}", str(i).encode().ljust(size, b".")) for i in range(n)]


def producer(transport: FlakyTransport, **options: object) -> tuple[StreamProducer, list[float]]:
    slept: list[float] = []
    return StreamProducer(transport, sleep=slept.append, **options), slept  # type: ignore[arg-type]


def test_batches_hold_at_most_500_records() -> None:
    transport = FlakyTransport()
    report = producer(transport)[0].send(records(1201))
    assert [len(call) for call in transport.calls] == [500, 500, 201]
    assert report.sent == 1201 and report.ok


def test_batches_stay_under_the_byte_limit() -> None:
    transport = FlakyTransport()
    producer(transport, max_batch_bytes=100)[0].send(records(25, size=10))
    assert all(sum(len(d) + 2 for d in call) <= 100 for call in transport.calls)
    assert sum(len(call) for call in transport.calls) == 25


def test_only_the_failed_records_are_retried() -> None:
    batch = records(10)
    transport = FlakyTransport({batch[3].data: 1, batch[7].data: 2})
    report = producer(transport)[0].send(batch)
    assert transport.calls[1] == [batch[3].data, batch[7].data]
    assert transport.calls[2] == [batch[7].data]
    assert report.sent == 10 and report.retried == 3 and report.ok
    assert sorted(transport.stored) == sorted(r.data for r in batch)


def test_backoff_grows_between_attempts() -> None:
    batch = records(1)
    transport = FlakyTransport({batch[0].data: 3})
    prod, slept = producer(transport, base_delay_seconds=1.0, max_delay_seconds=100.0)
    prod.send(batch)
    assert len(slept) == 3
    assert all(0 <= s <= cap for s, cap in zip(slept, (1.0, 2.0, 4.0), strict=True))


def test_records_still_failing_after_the_last_attempt_are_returned_with_their_error() -> None:
    batch = records(3)
    transport = FlakyTransport({batch[1].data: 99})
    report = producer(transport, max_attempts=3)[0].send(batch)
    assert [(r.data, e.split(":")[0]) for r, e in report.failed] == [
        (batch[1].data, "ProvisionedThroughputExceededException")
    ]
    assert report.sent == 2 and not report.ok


def test_a_whole_call_failure_retries_the_whole_batch() -> None:
    transport = FlakyTransport(raise_first=1)
    report = producer(transport)[0].send(records(4))
    assert len(transport.calls) == 2 and report.sent == 4 and report.ok


def test_an_oversized_record_is_rejected_with_a_reason_and_the_rest_sent() -> None:
    transport = FlakyTransport()
    batch = [*records(2), StreamRecord("big", b"x" * 2000)]
    report = producer(transport, max_record_bytes=1000)[0].send(batch)
    assert report.sent == 2 and len(report.rejected) == 1 and "2003 bytes" in report.rejected[0]


def test_a_document_that_is_not_json_serialisable_is_rejected_not_lost() -> None:
    transport = FlakyTransport()
    report = producer(transport)[0].send_json(
        [{"service": "a"}, {"service": "b", "bad": float("nan")}], key=lambda d: str(d["service"])
    )
    assert report.offered == 2 and report.sent == 1 and len(report.rejected) == 1


def test_kinesis_transport_puts_records_that_read_back_in_order() -> None:
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName="telemetry", ShardCount=1)
        documents = [{"service": "cart", "n": i} for i in range(30)]
        report = StreamProducer(KinesisTransport("telemetry", client)).send_json(documents, key=lambda d: d["service"])
        assert report.sent == 30 and report.ok
        assert [json.loads(d) for d in read_stream(client, "telemetry")] == documents


@pytest.mark.parametrize("max_attempts", [0, -1])
def test_a_producer_needs_at_least_one_attempt(max_attempts: int) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        StreamProducer(FlakyTransport(), max_attempts=max_attempts)


class FakeKafkaProducer:
    """confluent_kafka.Producer's produce/flush contract: callbacks fire on flush; ``refuse`` fails those values."""

    def __init__(self, refuse: set[bytes] | None = None, silent: set[bytes] | None = None) -> None:
        self.refuse = refuse or set()
        self.silent = silent or set()
        self.queued: list[tuple[bytes, Any]] = []
        self.delivered: list[tuple[str, bytes, bytes]] = []

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Any) -> None:
        self.queued.append((value, on_delivery))
        if value not in self.refuse and value not in self.silent:
            self.delivered.append((topic, key, value))

    def flush(self, timeout: float) -> int:
        for value, callback in self.queued:
            if value in self.silent:
                continue
            callback("KafkaError{code=MSG_TIMED_OUT}" if value in self.refuse else None, None)
        self.queued = []
        return 0


def test_kafka_transport_reports_each_record_from_its_delivery_callback() -> None:
    from slo_engine.adapters.kafka import KafkaTransport

    batch = records(3)
    fake = FakeKafkaProducer(refuse={batch[1].data}, silent={batch[2].data})
    outcome = KafkaTransport("telemetry", fake).put_batch(batch)
    assert outcome[0] is None
    assert outcome[1] is not None and "MSG_TIMED_OUT" in outcome[1]
    assert outcome[2] is not None and "not acknowledged" in outcome[2]
    assert fake.delivered == [("telemetry", b"k0", batch[0].data)]


def test_the_producer_retries_kafka_records_that_were_not_acknowledged() -> None:
    from slo_engine.adapters.kafka import KafkaTransport

    batch = records(4)

    class OnceRefusing(FakeKafkaProducer):
        def flush(self, timeout: float) -> int:
            result = super().flush(timeout)
            self.refuse = set()
            return result

    fake = OnceRefusing(refuse={batch[2].data})
    report = StreamProducer(KafkaTransport("telemetry", fake), sleep=lambda _: None).send(batch)
    assert report.sent == 4 and report.retried == 1 and report.ok
