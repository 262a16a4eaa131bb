"""Approval channels: an SNS topic (email subscribers) and a Slack incoming webhook (Block Kit)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from slo_engine.approval.messages import ApprovalMessage

SLACK_TIMEOUT_SECONDS = 10


class SnsEmailNotifier:
    channel = "email"

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sns")
        self._client = client
        self._topic_arn = topic_arn

    def notify(self, message: ApprovalMessage) -> None:
        self._client.publish(
            TopicArn=self._topic_arn,
            Subject=message.subject,
            Message=message.email_text,
            MessageAttributes={"approval_id": {"DataType": "String", "StringValue": message.approval_id}},
        )


class SlackWebhookNotifier:
    channel = "slack"

    def __init__(self, webhook_url: str) -> None:
        if not webhook_url.startswith("https://"):
            raise ValueError("the Slack webhook URL must be https")
        self._url = webhook_url

    def notify(self, message: ApprovalMessage) -> None:
        request = urllib.request.Request(
            self._url,
            data=json.dumps(message.slack).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as response:
            if response.status != 200:
                raise RuntimeError(f"Slack webhook answered {response.status}")
