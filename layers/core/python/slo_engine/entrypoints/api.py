"""The REST API Lambda's entry (``lambdas/api/handler.py`` calls ``handle``): maps the handler's ``ApiRequest`` to a
``Caller`` and one ``ApiService.dispatch``, with the engine, the workflow runs and the audit log from the environment
(DynamoDB, Step Functions and Bedrock where their variables are set, the embedded defaults otherwise).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from slo_engine.api.models import Caller
from slo_engine.api.service import ApiService
from slo_engine.ports import AuditLog


@lru_cache(maxsize=1)
def service_from_env() -> ApiService:
    from slo_engine.engine import Engine

    engine = Engine.from_env()
    root = engine.config.data_dir
    audit: AuditLog
    if table := os.environ.get("SLO_ENGINE_AUDIT_TABLE"):
        from slo_engine.adapters.aws.audit_log import DynamoDbAuditLog

        audit = DynamoDbAuditLog(table)
    else:
        from slo_engine.embedded.audit_log import SqliteAuditLog

        audit = SqliteAuditLog(root / "audit.db")
    if machine := os.environ.get("SLO_ENGINE_STATE_MACHINE_ARN"):
        from slo_engine.adapters.aws.workflow_runs import StepFunctionsWorkflowRuns

        return ApiService(engine, StepFunctionsWorkflowRuns(machine, artifacts=engine.artifacts), audit)
    from slo_engine.api.runs import LocalWorkflowRuns

    return ApiService(engine, LocalWorkflowRuns(engine, root / "runs.db"), audit)


def caller_of(request: Any) -> Caller:
    """A Cognito user (people, JWT authorizer) or the IAM principal that signed the request (integrations)."""
    identity = getattr(request, "caller", None)
    if identity is None:
        return Caller(kind="system", id="unknown")
    user = getattr(identity, "user", None)
    if user:
        return Caller(kind="person", id=str(user), source_ip=identity.source_ip, request_id=request.request_id)
    arn = getattr(identity, "arn", None)
    if arn:
        return Caller(kind="integration", id=str(arn), source_ip=identity.source_ip, request_id=request.request_id)
    return Caller(kind="system", id="unknown", source_ip=identity.source_ip)


def handle(request: Any, context: Any = None, service: ApiService | None = None) -> tuple[int, dict[str, Any]]:
    """``request`` is the handler's ``ApiRequest`` (operation, path_parameters, query, body, caller, request_id)."""
    path = dict(request.path_parameters or {})
    if "recommendation_id" in path:
        path["id"] = path.pop("recommendation_id")
    if "service_name" in path:
        path["name"] = path.pop("service_name")
    answer = (service or service_from_env()).dispatch(request.operation, path, request.body, caller_of(request))
    return answer.status, answer.body
