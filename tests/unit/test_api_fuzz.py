"""Schemathesis fuzzes the local server against the published docs/openapi.json with signed requests (bounded
examples per operation): no input may produce a 500, and every answer must match the documented schema and status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from api_support import sample_data_dir
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from slo_engine.api.sigv4 import signed_request_headers
from slo_engine.server.app import LocalApiServer, ServeSettings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api_fuzz")]
ROOT = Path(__file__).resolve().parents[2]
schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
EXAMPLES_PER_OPERATION = 25


class SigV4Auth(requests.auth.AuthBase):
    """Signs each request schemathesis sends, as an integration would."""

    def __init__(self, access_key_id: str, secret_access_key: str) -> None:
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        content_type = request.headers.get("Content-Type")
        signed = signed_request_headers(
            request.method or "GET",
            request.url or "",
            raw,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region="local",
            headers={"content-type": content_type} if content_type else None,
        )
        request.headers.update(signed)
        return request


@pytest.fixture(scope="module")
def signed_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, requests.Session]]:
    data = sample_data_dir(tmp_path_factory.mktemp("fuzz") / "data")
    server = LocalApiServer(ServeSettings(port=0, data_dir=data, rate_per_second=10_000, burst=10_000)).start()
    key = server.api.credentials.integrations[0]
    session = requests.Session()
    session.auth = SigV4Auth(key.access_key_id, key.secret_access_key)
    yield server.url, session
    server.stop()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_makes_the_server_fail_or_break_its_documented_contract(
    case: schemathesis.Case, signed_session: tuple[str, requests.Session]
) -> None:
    base_url, session = signed_session
    case.call_and_validate(
        base_url=base_url,
        session=session,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        timeout=30,
    )
