"""The local server's security, over real HTTP on 127.0.0.1: unauthenticated, badly signed, expired, replayed,
throttled, oversized and CSRF-less requests each get their status, and none of them changes anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from api_support import SignedClient, sample_data_dir

from slo_engine.server.app import LocalApiServer, ServeSettings

pytestmark = pytest.mark.xdist_group("api_server")


def _server(tmp_path: Path, **settings: object) -> LocalApiServer:
    data = sample_data_dir(tmp_path / "data")
    return LocalApiServer(ServeSettings(port=0, data_dir=data, **settings)).start()  # type: ignore[arg-type]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalApiServer]:
    srv = _server(tmp_path)
    yield srv
    srv.stop()


def _client(server: LocalApiServer) -> SignedClient:
    key = server.api.credentials.integrations[0]
    return SignedClient(server.url, key.access_key_id, key.secret_access_key)


def _snapshot(server: LocalApiServer) -> tuple[object, ...]:
    """Everything a request could change: recommendations, feedback, memory and the audit log."""
    state = server.api.engine.state
    recs = [(r.id, r.status.value, r.decided_by) for r in state.list_recommendations()]
    services = sorted({r.service for r in state.list_recommendations()})
    feedback = [len(state.feedback_for(s)) for s in services]
    memory = [len(state.context_for(s, limit=10_000)) for s in services]
    audit = [len(server.api.service.audit.for_service(s, limit=10_000)) for s in services]
    return recs, feedback, memory, audit


def _feedback_path(server: LocalApiServer) -> str:
    return f"/recommendations/{server.api.service.pending()[0].id}/feedback"


FEEDBACK = {"kind": "comment", "text": "looks right"}


def test_a_signed_request_is_accepted_and_recorded_with_the_integration_as_actor(server: LocalApiServer) -> None:
    reply = _client(server).call("POST", _feedback_path(server), FEEDBACK)
    assert reply.status_code == 201, reply.text
    assert reply.json()["by"].startswith("backstage:SLOLOCAL")


def test_an_unauthenticated_request_is_401_and_changes_nothing(server: LocalApiServer) -> None:
    before = _snapshot(server)
    reply = requests.post(server.url + _feedback_path(server), json=FEEDBACK, timeout=10)
    assert reply.status_code == 401 and "WWW-Authenticate" in reply.headers
    assert _snapshot(server) == before


def test_a_request_signed_with_the_wrong_secret_is_403_and_changes_nothing(server: LocalApiServer) -> None:
    before = _snapshot(server)
    reply = _client(server).call("POST", _feedback_path(server), FEEDBACK, secret_access_key="not-the-secret-at-all")
    assert reply.status_code == 403 and "does not match" in reply.json()["message"]
    assert _snapshot(server) == before


def test_a_body_changed_after_signing_is_403_and_changes_nothing(server: LocalApiServer) -> None:
    client = _client(server)
    path = _feedback_path(server)
    headers = client.headers("POST", path, json.dumps(FEEDBACK).encode())
    before = _snapshot(server)
    tampered = json.dumps({"kind": "too_loose", "text": "tampered"}).encode()
    reply = requests.post(server.url + path, data=tampered, headers=headers, timeout=10)
    assert reply.status_code == 403
    assert _snapshot(server) == before


def test_an_unknown_access_key_is_403(server: LocalApiServer) -> None:
    reply = _client(server).call("GET", "/services/cart/slos", access_key_id="SLOLOCALNOBODY0000")
    assert reply.status_code == 403 and "not known" in reply.json()["message"]


def test_a_malformed_authorization_header_is_403(server: LocalApiServer) -> None:
    reply = requests.get(server.url + "/services/cart/slos", headers={"Authorization": "Bearer x"}, timeout=10)
    assert reply.status_code == 403 and "malformed" in reply.json()["message"]


def test_an_expired_signature_is_403_and_changes_nothing(server: LocalApiServer) -> None:
    before = _snapshot(server)
    old = datetime.now(UTC) - timedelta(minutes=10)
    reply = _client(server).call("POST", _feedback_path(server), FEEDBACK, now=old)
    assert reply.status_code == 403 and "expired" in reply.json()["message"]
    assert _snapshot(server) == before


def test_a_replayed_request_is_403_and_changes_nothing(server: LocalApiServer) -> None:
    client = _client(server)
    path = _feedback_path(server)
    raw = json.dumps(FEEDBACK).encode()
    headers = client.headers("POST", path, raw)
    assert requests.post(server.url + path, data=raw, headers=headers, timeout=10).status_code == 201
    after_first = _snapshot(server)
    replay = requests.post(server.url + path, data=raw, headers=headers, timeout=10)
    assert replay.status_code == 403 and "replayed" in replay.json()["message"]
    assert _snapshot(server) == after_first


def test_requests_over_the_rate_limit_are_429_with_retry_after_and_change_nothing(tmp_path: Path) -> None:
    server = _server(tmp_path, rate_per_second=0.01, burst=3)
    try:
        client = _client(server)
        path = _feedback_path(server)
        statuses = [client.call("POST", path, FEEDBACK).status_code for _ in range(3)]
        assert statuses == [201, 201, 201]
        before = _snapshot(server)
        throttled = client.call("POST", path, FEEDBACK)
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert _snapshot(server) == before
    finally:
        server.stop()


def test_a_body_over_the_size_limit_is_413_and_changes_nothing(server: LocalApiServer) -> None:
    before = _snapshot(server)
    raw = json.dumps({"kind": "comment", "text": "x" * 2_000_000}).encode()
    client = _client(server)
    path = _feedback_path(server)
    reply = requests.post(server.url + path, data=raw, headers=client.headers("POST", path, raw), timeout=10)
    assert reply.status_code == 413
    assert _snapshot(server) == before


def test_a_signed_body_that_is_not_json_is_400(server: LocalApiServer) -> None:
    client = _client(server)
    path = _feedback_path(server)
    reply = requests.post(server.url + path, data=b"{nope", headers=client.headers("POST", path, b"{nope"), timeout=10)
    assert reply.status_code == 400 and "not valid JSON" in reply.json()["message"]


def _signed_in(server: LocalApiServer) -> requests.Session:
    browser = requests.Session()
    token = server.api.credentials.login_token
    reply = browser.post(server.url + "/login", data={"name": "alice", "token": token}, timeout=10)
    assert reply.status_code == 200 and reply.url.endswith("/ui/pending")
    return browser


def test_a_wrong_login_token_is_401_and_sets_no_session(server: LocalApiServer) -> None:
    browser = requests.Session()
    reply = browser.post(server.url + "/login", data={"name": "mallory", "token": "guess"}, timeout=10)
    assert reply.status_code == 401 and not browser.cookies


def test_a_session_may_read_the_api(server: LocalApiServer) -> None:
    assert _signed_in(server).get(server.url + "/services/cart/slos", timeout=10).status_code == 200


def test_a_session_post_without_its_csrf_token_is_403_and_changes_nothing(server: LocalApiServer) -> None:
    browser = _signed_in(server)
    before = _snapshot(server)
    reply = browser.post(server.url + _feedback_path(server), json=FEEDBACK, timeout=10)
    assert reply.status_code == 403 and "CSRF" in reply.json()["message"]
    assert _snapshot(server) == before


def test_a_decision_form_without_its_csrf_token_is_403_and_changes_nothing(server: LocalApiServer) -> None:
    browser = _signed_in(server)
    rec_id = server.api.service.pending()[0].id
    before = _snapshot(server)
    reply = browser.post(
        f"{server.url}/ui/recommendations/{rec_id}/decision", data={"decision": "approve", "csrf": "x"}, timeout=10
    )
    assert reply.status_code == 403
    assert _snapshot(server) == before


def test_a_forged_session_cookie_is_refused(server: LocalApiServer) -> None:
    reply = requests.get(
        server.url + "/services/cart/slos", cookies={"slo_session": "eyJ1IjoibWFsbG9yeSJ9.0000"}, timeout=10
    )
    assert reply.status_code == 401


def test_the_pending_page_redirects_to_sign_in_without_a_session(server: LocalApiServer) -> None:
    reply = requests.get(server.url + "/ui/pending", allow_redirects=False, timeout=10)
    assert reply.status_code == 303 and reply.headers["Location"] == "/login"


def test_the_openapi_document_is_served(server: LocalApiServer) -> None:
    document = requests.get(server.url + "/openapi.json", timeout=10).json()
    assert set(document["paths"]) >= {"/recommendations", "/converse"}


def test_a_wrong_method_on_an_api_path_is_405(server: LocalApiServer) -> None:
    assert _client(server).call("DELETE", "/converse").status_code == 405
