"""``ports.TaskResumer`` over Step Functions: SendTaskSuccess with the decision, SendTaskFailure for a rejection,
SendTaskHeartbeat while a human has not decided yet."""

from __future__ import annotations

import json
from typing import Any

CAUSE_LIMIT = 32_768  # the API's maximum cause length
ERROR_LIMIT = 256


class StepFunctionsResumer:
    def __init__(self, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("stepfunctions")
        self._client = client

    def succeed(self, task_token: str, output: dict[str, object]) -> None:
        self._client.send_task_success(taskToken=task_token, output=json.dumps(output, default=str))

    def fail(self, task_token: str, error: str, cause: str) -> None:
        self._client.send_task_failure(taskToken=task_token, error=error[:ERROR_LIMIT], cause=cause[:CAUSE_LIMIT])

    def heartbeat(self, task_token: str) -> None:
        self._client.send_task_heartbeat(taskToken=task_token)
