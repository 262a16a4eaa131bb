"""The local server mounts the signed approval-link routes (issue 6's approval service) and the signed webhook
routes (issue 5's ``handle_webhook``): both verify their own signatures, so neither needs SigV4 or a session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from api_support import sample_data_dir, sample_run_id

from slo_engine.server.app import LocalApiServer, ServeSettings

pytestmark = pytest.mark.xdist_group("api_server")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalApiServer]:
    srv = LocalApiServer(ServeSettings(port=0, data_dir=sample_data_dir(tmp_path / "data"))).start()
    yield srv
    srv.stop()


def _open_approval(server: LocalApiServer) -> dict[str, str]:
    service = server.api.approvals()
    run = server.api.runs.get(sample_run_id())
    assert run is not None
    opened = service.open_approval({"taskToken": "token-1", "executionId": run.id, "state": run.doc})
    return service.links(opened["approval_id"], opened["expires"])


def test_a_signed_approval_link_opens_the_approval_page(server: LocalApiServer) -> None:
    link = urlsplit(_open_approval(server)["review"])
    assert f"{link.scheme}://{link.netloc}" == server.url
    page = requests.get(f"{server.url}{link.path}?{link.query}", timeout=10)
    assert page.status_code == 200 and "<form" in page.text


def test_an_approval_link_with_a_forged_signature_is_403_and_decides_nothing(server: LocalApiServer) -> None:
    link = urlsplit(_open_approval(server)["approve"])
    forged = link.query.replace("sig=", "sig=00")
    pending = len(server.api.service.pending())
    page = requests.get(f"{server.url}{link.path}?{forged}", timeout=10)
    assert page.status_code == 403
    assert len(server.api.service.pending()) == pending


def test_an_unsigned_github_webhook_is_refused(server: LocalApiServer) -> None:
    reply = requests.post(
        server.url + "/webhooks/github",
        data=b'{"ref": "refs/heads/main"}',
        headers={"X-GitHub-Event": "push", "Content-Type": "application/json"},
        timeout=10,
    )
    assert reply.status_code == 401, reply.text
