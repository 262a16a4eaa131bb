"""The Backstage example (backstage/plugins/slo-engine-backend, plain Node, no npm packages): its SigV4 signer passes
AWS's published vectors, and its backend route reads a service's recommendation and approval state from a running
``slo-engine serve`` with signed requests (so the Python verifier accepts the Node signer's signatures)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from api_support import sample_data_dir

from slo_engine.server.app import LocalApiServer, ServeSettings

pytestmark = pytest.mark.xdist_group("api_server")
PLUGIN = Path(__file__).resolve().parents[2] / "backstage" / "plugins" / "slo-engine-backend"
NODE = shutil.which("node")


def _node_test(name: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if NODE is None:
        pytest.fail("node is not on PATH (Node 20 ships with this machine)")
    return subprocess.run(
        [NODE, "--test", f"test/{name}"],
        cwd=PLUGIN,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _counts(output: str) -> dict[str, int]:
    return {
        line.split()[1]: int(line.split()[2])
        for line in output.splitlines()
        if line.startswith("# ") and len(line.split()) == 3 and line.split()[2].isdigit()
    }


def test_the_node_signer_passes_the_published_sigv4_vectors() -> None:
    result = _node_test("sigv4.test.js")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _counts(result.stdout)["pass"] == 5


def test_the_backstage_route_shows_a_services_state_from_a_signed_local_api(tmp_path: Path) -> None:
    server = LocalApiServer(ServeSettings(port=0, data_dir=sample_data_dir(tmp_path / "data"))).start()
    try:
        key = server.api.credentials.integrations[0]
        service = server.api.service.pending()[0].service
        result = _node_test(
            "route.test.js",
            {
                "SLO_ENGINE_URL": server.url,
                "SLO_ENGINE_KEY_ID": key.access_key_id,
                "SLO_ENGINE_SECRET": key.secret_access_key,
                "SLO_ENGINE_SERVICE": service,
            },
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    counts = _counts(result.stdout)
    assert (counts["pass"], counts["fail"], counts["skipped"]) == (3, 0, 0)
