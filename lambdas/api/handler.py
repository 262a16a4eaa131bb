"""Lambda behind the engine's REST API: IAM-authorized routes for integrations and the same routes under
``/frontend`` for people (Cognito authorizer). The Powertools resolver turns each route into an ``ApiRequest`` and the
core's ``slo_engine.entrypoints.api.handle`` answers it with ``(status, body)``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from slo_engine.entrypoints import EntrypointUnavailableError, load_handle

ENTRYPOINT_MODULE = "slo_engine.entrypoints.api"

Operation = Literal["start_recommendation", "get_recommendation", "list_service_slos", "submit_feedback", "converse"]

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")
app = APIGatewayRestResolver()


class Caller(BaseModel):
    """Who made the request, as API Gateway saw it: the IAM principal that signed it (integrations) or the Cognito
    user the JWT names (people); recorded in the audit log."""

    arn: str | None = None
    user: str | None = None
    account_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


class ApiRequest(BaseModel):
    """One API call in the terms the core needs; ``body`` is the parsed JSON body (validated by the core)."""

    operation: Operation
    path_parameters: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    caller: Caller = Field(default_factory=Caller)
    request_id: str | None = None


class MalformedBodyError(ValueError):
    """The request body is not valid JSON."""


@functools.cache
def _entrypoint() -> Callable[..., Any]:
    return load_handle(ENTRYPOINT_MODULE)


def _reply(result: Any) -> Response:
    """Map the core's ``(status, body)`` or ``(status, body, content_type)`` to an HTTP response."""
    status, body, *rest = result
    if rest:
        content_type = rest[0]
    else:
        content_type = content_types.TEXT_HTML if isinstance(body, str) else content_types.APPLICATION_JSON
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return Response(status_code=int(status), content_type=content_type, body=text)


def _cognito_user() -> str | None:
    """The signed-in person on ``/frontend`` routes (the Cognito authorizer put the verified claims here)."""
    claims = (app.current_event.request_context.authorizer.raw_event or {}).get("claims") or {}
    user = claims.get("cognito:username") or claims.get("email") or claims.get("sub")
    return str(user) if user else None


def _call(operation: Operation, *, with_body: bool = False, **path_parameters: str) -> Response:
    event = app.current_event
    identity = event.request_context.identity
    body: Any = None
    if with_body and event.body:
        try:
            body = json.loads(event.decoded_body or "")
        except json.JSONDecodeError as error:
            raise MalformedBodyError(f"request body is not valid JSON: {error.msg} at line {error.lineno}") from error
    request = ApiRequest(
        operation=operation,
        path_parameters=path_parameters,
        query=dict(event.query_string_parameters or {}),
        body=body,
        caller=Caller(
            arn=identity.user_arn,
            user=_cognito_user(),
            account_id=identity.account_id,
            source_ip=identity.source_ip,
            user_agent=identity.user_agent,
        ),
        request_id=event.request_context.request_id,
    )
    logger.append_keys(operation=operation, caller=request.caller.arn)
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    return _reply(_entrypoint()(request, app.lambda_context))


@app.post("/recommendations")
@app.post("/frontend/recommendations")
def start_recommendation() -> Response:
    return _call("start_recommendation", with_body=True)


@app.get("/recommendations/<recommendation_id>")
@app.get("/frontend/recommendations/<recommendation_id>")
def get_recommendation(recommendation_id: str) -> Response:
    return _call("get_recommendation", recommendation_id=recommendation_id)


@app.post("/recommendations/<recommendation_id>/feedback")
@app.post("/frontend/recommendations/<recommendation_id>/feedback")
def submit_feedback(recommendation_id: str) -> Response:
    return _call("submit_feedback", with_body=True, recommendation_id=recommendation_id)


@app.get("/services/<service_name>/slos")
@app.get("/frontend/services/<service_name>/slos")
def list_service_slos(service_name: str) -> Response:
    return _call("list_service_slos", service_name=service_name)


@app.post("/converse")
@app.post("/frontend/converse")
def converse() -> Response:
    return _call("converse", with_body=True)


@app.exception_handler(MalformedBodyError)
def malformed_body(error: MalformedBodyError) -> Response:
    return _reply((400, {"message": str(error)}))


@app.exception_handler(EntrypointUnavailableError)
def entrypoint_unavailable(error: EntrypointUnavailableError) -> Response:
    logger.error("entrypoint unavailable", error=str(error))
    return _reply((501, {"message": str(error)}))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
