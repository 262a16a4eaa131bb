"""Kinesis Data Streams behind ``slo_engine.ingest.producer.StreamTransport`` (``PutRecords``), and a reader of a
stream's records for tools and tests. boto3 is imported lazily."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from slo_engine.ingest.producer import StreamRecord


class KinesisTransport:
    def __init__(self, stream_name: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("kinesis")
        self._client = client
        self.stream_name = stream_name

    def put_batch(self, records: Sequence[StreamRecord]) -> list[str | None]:
        answer = self._client.put_records(
            StreamName=self.stream_name,
            Records=[{"Data": r.data, "PartitionKey": r.partition_key} for r in records],
        )
        return [
            f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}" if result.get("ErrorCode") else None
            for result in answer["Records"]
        ]


def read_stream(client: Any, stream_name: str, limit: int = 10_000) -> Iterator[bytes]:
    """Every record of every shard from the trim horizon, shard by shard (in order within a shard)."""
    shards = client.list_shards(StreamName=stream_name)["Shards"]
    for shard in shards:
        iterator = client.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator, Limit=limit)
            for record in page["Records"]:
                yield bytes(record["Data"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
