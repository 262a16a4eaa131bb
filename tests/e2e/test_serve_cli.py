"""``slo-engine serve`` as a newcomer runs it: the command starts on loopback, prints where to sign in and the
integration key id, serves the health check and the pending page's sign-in, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from api_support import sample_data_dir

pytestmark = pytest.mark.xdist_group("api_server")


def test_serve_prints_how_to_sign_in_and_serves_until_interrupted(tmp_path: Path) -> None:
    data = sample_data_dir(tmp_path / "data")
    command = [sys.executable, "-m", "slo_engine.cli", "serve", "--port", "0", "--data-dir", str(data)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline() for _ in range(3)]
        url = re.search(r"(http://127\.0\.0\.1:\d+)/", lines[0])
        assert url, lines
        assert "access token" in lines[1] and "SigV4 key for backstage: SLOLOCAL" in lines[2]
        assert requests.get(url[1] + "/healthz", timeout=10).json() == {"status": "ok"}
        assert requests.get(url[1] + "/ui/pending", timeout=10).url.endswith("/login")
    finally:
        process.send_signal(signal.SIGINT)
        deadline = time.time() + 20
        while process.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0


def test_serve_on_a_port_in_use_fails_with_a_clear_message(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "slo_engine.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
