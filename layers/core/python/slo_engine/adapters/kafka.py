"""Kafka (Amazon MSK) behind ``slo_engine.ingest.producer.StreamTransport``: the same producer, another stream.

``confluent_kafka`` is imported lazily (install it where this transport is used; it is not a core dependency).
Delivery is confirmed per record through the delivery callback; records without a confirmation within the flush
timeout are reported as failed, so the producer retries them and never loses one silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slo_engine.ingest.producer import StreamRecord


class KafkaTransport:
    def __init__(
        self,
        topic: str,
        producer: Any = None,
        *,
        config: Mapping[str, Any] | None = None,
        flush_timeout_seconds: float = 30.0,
    ) -> None:
        if producer is None:
            from confluent_kafka import Producer

            producer = Producer({"enable.idempotence": True, "acks": "all", **dict(config or {})})
        self._producer = producer
        self.topic = topic
        self._timeout = flush_timeout_seconds

    def put_batch(self, records: Sequence[StreamRecord]) -> list[str | None]:
        outcome: list[str | None] = ["not acknowledged before the flush timeout"] * len(records)

        def delivered(index: int) -> Any:
            def callback(error: Any, _message: Any) -> None:
                outcome[index] = None if error is None else str(error)

            return callback

        for index, record in enumerate(records):
            try:
                self._producer.produce(
                    self.topic, value=record.data, key=record.partition_key.encode(), on_delivery=delivered(index)
                )
            except BufferError as error:  # local queue full: flush what is queued, then try this one once more
                self._producer.flush(self._timeout)
                try:
                    self._producer.produce(
                        self.topic, value=record.data, key=record.partition_key.encode(), on_delivery=delivered(index)
                    )
                except BufferError:
                    outcome[index] = f"local queue full: {error}"
        self._producer.flush(self._timeout)
        return outcome
