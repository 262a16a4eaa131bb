"""Lambda behind the approval links (GET/POST /approvals/{id}): hands the link's query, the submitted form and the raw
body to the core's ``slo_engine.entrypoints.approval_callback.handle``, which verifies the HMAC signature and expiry,
resumes the workflow (SendTaskSuccess / SendTaskFailure) and answers with a page.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from slo_engine.entrypoints import EntrypointUnavailableError, load_handle

ENTRYPOINT_MODULE = "slo_engine.entrypoints.approval_callback"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")
app = APIGatewayRestResolver()


class ApprovalCallbackRequest(BaseModel):
    """A click on an approval link (GET) or a submitted approval form / Slack action (POST)."""

    approval_id: str
    method: Literal["GET", "POST"]
    query: dict[str, str] = Field(default_factory=dict)
    form: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    raw_body: str = ""
    source_ip: str | None = None
    user_agent: str | None = None


@functools.cache
def _entrypoint() -> Callable[..., Any]:
    return load_handle(ENTRYPOINT_MODULE)


def _reply(result: Any) -> Response:
    """Map the core's ``(status, body)`` or ``(status, body, content_type)`` to an HTTP response (HTML by default)."""
    status, body, *rest = result
    if rest:
        content_type = rest[0]
    else:
        content_type = content_types.TEXT_HTML if isinstance(body, str) else content_types.APPLICATION_JSON
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return Response(status_code=int(status), content_type=content_type, body=text)


def _callback(approval_id: str, method: Literal["GET", "POST"]) -> Response:
    event = app.current_event
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    raw_body = event.decoded_body or ""
    is_form = headers.get("content-type", "").split(";")[0].strip() == FORM_CONTENT_TYPE
    request = ApprovalCallbackRequest(
        approval_id=approval_id,
        method=method,
        query=dict(event.query_string_parameters or {}),
        form=dict(parse_qsl(raw_body, keep_blank_values=True)) if is_form else {},
        headers=headers,
        raw_body=raw_body,
        source_ip=event.request_context.identity.source_ip,
        user_agent=event.request_context.identity.user_agent,
    )
    logger.append_keys(approval_id=approval_id)
    metrics.add_metric(name="ApprovalCallbacks", unit=MetricUnit.Count, value=1)
    return _reply(_entrypoint()(request, app.lambda_context))


@app.get("/approvals/<approval_id>")
def show_approval(approval_id: str) -> Response:
    return _callback(approval_id, "GET")


@app.post("/approvals/<approval_id>")
def decide_approval(approval_id: str) -> Response:
    return _callback(approval_id, "POST")


@app.exception_handler(EntrypointUnavailableError)
def entrypoint_unavailable(error: EntrypointUnavailableError) -> Response:
    logger.error("entrypoint unavailable", error=str(error))
    page = "<!doctype html><title>Approvals unavailable</title><p>Approvals are not available yet. Try again later."
    return _reply((501, page))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
