"""Lambda behind the public runbook webhooks (POST /webhooks/github, /webhooks/bitbucket): hands the raw delivery,
unparsed, to the core's ``slo_engine.entrypoints.webhook.handle``, which verifies its HMAC signature before anything.
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
from pydantic import BaseModel

from slo_engine.entrypoints import EntrypointUnavailableError, load_handle

ENTRYPOINT_MODULE = "slo_engine.entrypoints.webhook"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SloEngine")
app = APIGatewayRestResolver()


class WebhookDelivery(BaseModel):
    """One delivery as received: the signature covers ``raw_body`` byte for byte, so it is never re-serialized."""

    provider: Literal["github", "bitbucket"]
    headers: dict[str, str]
    raw_body: str
    source_ip: str | None = None
    request_id: str | None = None


@functools.cache
def _entrypoint() -> Callable[..., Any]:
    return load_handle(ENTRYPOINT_MODULE)


def _reply(result: Any) -> Response:
    """Map the core's ``(status, body)`` or ``(status, body, content_type)`` to an HTTP response."""
    status, body, *rest = result
    if rest:
        content_type = rest[0]
    else:
        content_type = content_types.TEXT_PLAIN if isinstance(body, str) else content_types.APPLICATION_JSON
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return Response(status_code=int(status), content_type=content_type, body=text)


def _deliver(provider: Literal["github", "bitbucket"]) -> Response:
    event = app.current_event
    delivery = WebhookDelivery(
        provider=provider,
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        raw_body=event.decoded_body or "",
        source_ip=event.request_context.identity.source_ip,
        request_id=event.request_context.request_id,
    )
    logger.append_keys(
        provider=provider, delivery=delivery.headers.get("x-github-delivery") or delivery.headers.get("x-request-uuid")
    )
    metrics.add_dimension(name="Provider", value=provider)
    metrics.add_metric(name="WebhookDeliveries", unit=MetricUnit.Count, value=1)
    return _reply(_entrypoint()(delivery, app.lambda_context))


@app.post("/webhooks/github")
def github() -> Response:
    return _deliver("github")


@app.post("/webhooks/bitbucket")
def bitbucket() -> Response:
    return _deliver("bitbucket")


@app.exception_handler(EntrypointUnavailableError)
def entrypoint_unavailable(error: EntrypointUnavailableError) -> Response:
    logger.error("entrypoint unavailable", error=str(error))
    return _reply((501, {"message": str(error)}))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
