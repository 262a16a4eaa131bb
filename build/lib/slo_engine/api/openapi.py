"""The API's routes (one table, used by the local server and the Lambda) and the OpenAPI 3.1 document generated
from them and from the pydantic models. ``python -m slo_engine.api.openapi docs/openapi.json`` publishes it;
a test fails when the published file drifts from the code.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from slo_engine.api.models import (
    ConverseRequest,
    ConverseResponse,
    ErrorBody,
    FeedbackAccepted,
    FeedbackRequest,
    RecommendationView,
    ResourceId,
    RunAccepted,
    ServiceName,
    ServiceSlos,
    StartRecommendationRequest,
)

API_VERSION = "1.0.0"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation: str
    summary: str
    success: int
    response: type[BaseModel]
    request: type[BaseModel] | None = None
    errors: tuple[int, ...] = (401, 403, 404, 422, 429)


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/recommendations",
        "start_recommendation",
        "Start a recommendation workflow run for some services (all when none are named); returns its id",
        202,
        RunAccepted,
        StartRecommendationRequest,
        (400, 401, 403, 404, 413, 422, 429),
    ),
    Route(
        "GET",
        "/recommendations/{id}",
        "get_recommendation",
        "A run (or one recommendation): status, findings, review, pre-approval summary and result",
        200,
        RecommendationView,
    ),
    Route(
        "POST",
        "/recommendations/{id}/feedback",
        "submit_feedback",
        "Feedback on a recommendation; the next plan for its service takes it into account",
        201,
        FeedbackAccepted,
        FeedbackRequest,
        (400, 401, 403, 404, 413, 422, 429),
    ),
    Route(
        "GET",
        "/services/{name}/slos",
        "list_service_slos",
        "The approved SLOs of a service and the history of its recommendations",
        200,
        ServiceSlos,
    ),
    Route(
        "POST",
        "/converse",
        "converse",
        "A question about a service's reliability or a recommendation, answered from the recorded evidence",
        200,
        ConverseResponse,
        ConverseRequest,
        (400, 401, 403, 404, 413, 422, 429),
    ),
)
_PATH_PARAMETERS: dict[str, Any] = {"id": ResourceId, "name": ServiceName}
_ERROR_TEXT = {
    400: "The body is not valid JSON, or the request cannot be served as asked",
    401: "No credentials: sign the request with AWS SigV4 (integrations) or sign in (people)",
    403: "Bad, expired or replayed signature, unknown key, or missing CSRF token",
    404: "No such run, recommendation or service",
    409: "Already decided",
    413: "The body is larger than the limit",
    422: "The input does not match the schema; details name each field",
    429: "Throttled: retry after the Retry-After header's seconds",
}


def build_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [ErrorBody]
    for route in ROUTES:
        models.append(route.response)
        if route.request is not None:
            models.append(route.request)
    _, schema = models_json_schema(
        [(m, "validation" if m is route_request else "serialization") for m, route_request in _modes(models)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        names = [part[1:-1] for part in route.path.split("/") if part.startswith("{")]
        operation: dict[str, Any] = {
            "operationId": route.operation,
            "summary": route.summary,
            "security": [{"sigv4": []}, {"session": []}],
            "responses": {
                str(route.success): {
                    "description": route.summary.split(";")[0],
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{route.response.__name__}"}}
                    },
                },
                **{
                    str(code): {
                        "description": _ERROR_TEXT[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    }
                    for code in route.errors
                },
            },
        }
        if names:
            operation["parameters"] = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": TypeAdapter(_PATH_PARAMETERS[name]).json_schema(),
                }
                for name in names
            ]
        if route.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{route.request.__name__}"}}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SLO engine API",
            "version": API_VERSION,
            "description": (
                "Recommendations, approved SLOs, feedback and conversations. Integrations sign every request with "
                "AWS SigV4 (IAM authorizer); people use a Cognito session (deployed) or a local browser session "
                "(slo-engine serve). See docs/api.md."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "AWS Signature Version 4 (AWS4-HMAC-SHA256), service execute-api",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "slo_session"},
            },
        },
    }


def _modes(models: list[type[BaseModel]]) -> list[tuple[type[BaseModel], type[BaseModel] | None]]:
    requests = {r.request for r in ROUTES if r.request is not None}
    seen: dict[type[BaseModel], None] = dict.fromkeys(models)
    return [(m, m if m in requests else None) for m in seen]


def render_openapi() -> str:
    return json.dumps(build_openapi(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path("docs/openapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_openapi(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
