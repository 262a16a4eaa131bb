"""The runbook-change queue on Amazon SQS: ``knowledge.webhooks.ChangeQueue`` with SendMessageBatch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slo_engine.knowledge.webhooks import RunbookChangeMessage

SQS_BATCH_LIMIT = 10


class ChangesNotQueued(RuntimeError):
    """SQS refused some messages of a batch; the caller answers 503 and the provider redelivers."""


class SqsChangeQueue:
    """One SQS message per runbook change, sent in batches of ten; any refused entry raises ``ChangesNotQueued``."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        if not queue_url:
            raise ValueError("queue_url is required (SLO_ENGINE_RUNBOOK_QUEUE_URL)")
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def send(self, messages: Sequence[RunbookChangeMessage]) -> None:
        failed: list[str] = []
        for start in range(0, len(messages), SQS_BATCH_LIMIT):
            batch = messages[start : start + SQS_BATCH_LIMIT]
            response = self.client.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(position),
                        "MessageBody": message.model_dump_json(),
                        "MessageAttributes": {
                            "change_type": {"DataType": "String", "StringValue": message.change_type.value}
                        },
                    }
                    for position, message in enumerate(batch)
                ],
            )
            for failure in response.get("Failed", []):
                message = batch[int(failure["Id"])]
                failed.append(f"{message.path}: {failure.get('Code')} {failure.get('Message', '')}".strip())
        if failed:
            raise ChangesNotQueued(f"{len(failed)} of {len(messages)} changes not queued: " + "; ".join(failed[:5]))
