"""The OpenAPI document is generated from the code: the published docs/openapi.json must equal it, and the routes
it lists are the ones the Lambda handler and the CDK API serve."""

from __future__ import annotations

import json
import re
from pathlib import Path

from slo_engine.api.openapi import ROUTES, build_openapi, render_openapi

ROOT = Path(__file__).resolve().parents[2]


def test_published_openapi_document_matches_the_code() -> None:
    published = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert published == render_openapi(), "docs/openapi.json is stale: run python -m slo_engine.api.openapi"


def test_every_operation_requires_sigv4_or_a_session() -> None:
    for path, methods in build_openapi()["paths"].items():
        for method, operation in methods.items():
            assert operation["security"] == [{"sigv4": []}, {"session": []}], f"{method} {path}"


def test_every_schema_reference_resolves() -> None:
    document = build_openapi()
    text = json.dumps(document)
    names = set(re.findall(r'"#/components/schemas/([A-Za-z0-9_]+)"', text))
    assert names <= set(document["components"]["schemas"])


def test_the_lambda_handler_serves_every_documented_operation() -> None:
    handler = (ROOT / "lambdas" / "api" / "handler.py").read_text(encoding="utf-8")
    for route in ROUTES:
        lambda_path = re.sub(
            r"\{(\w+)\}", lambda m: "<" + {"id": "recommendation_id", "name": "service_name"}[m[1]] + ">", route.path
        )
        assert f'@app.{route.method.lower()}("{lambda_path}")' in handler, route
        assert f'"{route.operation}"' in handler, route


def test_the_cdk_api_declares_every_documented_route() -> None:
    source = (ROOT / "cdk" / "constructs" / "engine_api.py").read_text(encoding="utf-8")
    for route in ROUTES:
        assert f'("{route.path}", "{route.method}")' in source, route
