"""``api.runs.WorkflowRuns`` over Step Functions: a run is an execution of the recommendation state machine, named
by its run id; reading it back describes the execution and maps its status and output to a ``RunRecord``."""

from __future__ import annotations

import json
from typing import Any

from slo_engine.api.errors import Unavailable
from slo_engine.api.models import StartRecommendationRequest
from slo_engine.api.runs import RunRecord, new_run_id
from slo_engine.ports import RunArtifacts
from slo_engine.workflow.claim_check import MissingArtifact, resolve, without_references

_STATUS = {"RUNNING": "running", "SUCCEEDED": "succeeded", "PENDING_REDRIVE": "running"}


class StepFunctionsWorkflowRuns:
    def __init__(
        self, state_machine_arn: str, client: Any | None = None, artifacts: RunArtifacts | None = None
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("stepfunctions")
        self._client = client
        self._machine = state_machine_arn
        self._artifacts = artifacts
        """Where the execution's large results are (its output holds references to them)."""

    def _execution_arn(self, run_id: str) -> str:
        prefix, _, name = self._machine.rpartition(":stateMachine:")
        return f"{prefix}:execution:{name}:{run_id}"

    def start(self, request: StartRecommendationRequest, requested_by: str) -> RunRecord:
        run_id = new_run_id()
        payload = {
            "run_id": run_id,
            "services": list(request.services),
            "slis": [s.value for s in request.slis],
            "window_days": request.window_days,
            "exclusions": [e.model_dump(mode="json") for e in request.exclusions],
            "approve": "manual",
            "requested_by": requested_by,
        }
        self._client.start_execution(
            stateMachineArn=self._machine, name=run_id, input=json.dumps({"request": payload}, default=str)
        )
        return RunRecord(id=run_id, status="running", requested_by=requested_by, request=payload)

    def get(self, run_id: str) -> RunRecord | None:
        if not run_id.startswith("run-"):
            return None
        from botocore.exceptions import ClientError

        try:
            execution = self._client.describe_execution(executionArn=self._execution_arn(run_id))
        except self._client.exceptions.ExecutionDoesNotExist:
            return None
        except ClientError as refused:
            if refused.response.get("Error", {}).get("Code") == "AccessDeniedException":
                missing = "this API may not read workflow runs (it needs states:DescribeExecution)"
                raise Unavailable(missing) from refused
            raise
        request = json.loads(execution.get("input") or "{}").get("request", {})
        output = json.loads(execution.get("output") or "{}")
        status = _STATUS.get(execution["status"], "failed")
        failure = None
        if status == "failed":
            failure = f"{execution['status']}: {execution.get('error', '')} {execution.get('cause', '')}".strip()
        try:
            output = resolve(self._artifacts, output)
        except MissingArtifact as gone:  # expired with the bucket's lifecycle: the run reads back without them
            output = without_references(output)
            failure = failure or f"parts of this run's record are no longer kept: {gone}"
        return RunRecord(
            id=run_id,
            status=status,
            requested_by=str(request.get("requested_by", "unknown")),
            created_at=execution["startDate"],
            request=request,
            doc=output if isinstance(output, dict) else {},
            error=failure,
        )
