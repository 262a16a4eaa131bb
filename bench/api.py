"""Requests/s and p50/p99 latency of the local server's read routes (``slo-engine serve``) under a bounded load.

The server runs in its own process on 127.0.0.1 over a sample data folder (7-day fleet, one run of three services);
this process is the load generator: a few threads with keep-alive connections, every request SigV4-signed as an
integration would sign it. Bounded: at most REQUESTS requests per route and SECONDS seconds per route.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", "2000"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "20"))
THREADS = int(os.environ.get("BENCH_API_THREADS", "4"))

_SERVER = """
import sys
from pathlib import Path
from slo_engine.server.app import LocalApiServer, ServeSettings
server = LocalApiServer(ServeSettings(port=0, data_dir=Path(sys.argv[1]), rate_per_second=1e9, burst=10**9))
print(server.url, flush=True)
server.serve_forever()
"""


def _load(host: str, port: int, paths: list[str], key: tuple[str, str]) -> tuple[list[float], int, float]:
    from slo_engine.api.sigv4 import signed_request_headers

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    budget = iter(range(REQUESTS))
    deadline = time.perf_counter() + SECONDS

    def worker() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(host, port, timeout=10)
        while time.perf_counter() < deadline:
            with lock:
                n = next(budget, None)
            if n is None:
                break
            path = paths[n % len(paths)]
            headers = signed_request_headers(
                "GET",
                f"http://{host}:{port}{path}",
                b"",
                access_key_id=key[0],
                secret_access_key=key[1],
                region="local",
            )
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                errors += response.status != 200
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started


def main() -> int:
    from api_support import sample_data_dir, sample_run_id

    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        data = sample_data_dir(Path(scratch) / "data")
        run_id = sample_run_id()
        server = subprocess.Popen([sys.executable, "-c", _SERVER, str(data)], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            host, port = url.removeprefix("http://").split(":")
            credentials = json.loads((data / "serve-credentials.json").read_text())["integrations"][0]
            key = (credentials["access_key_id"], credentials["secret_access_key"])
            from slo_engine.embedded.state_store import SqliteStateStore

            recs = SqliteStateStore(data / "state.db").list_recommendations()
            routes = {
                "GET /services/{name}/slos": [f"/services/{r.service}/slos" for r in recs],
                "GET /recommendations/{rec id}": [f"/recommendations/{r.id}" for r in recs],
                "GET /recommendations/{run id}": [f"/recommendations/{run_id}"],
            }
            print(
                f"local server {url}; {THREADS} client threads, keep-alive, SigV4-signed; bounded {REQUESTS} "
                f"requests / {SECONDS:g} s per route"
            )
            print(f"{'route':34} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
            for name, paths in routes.items():
                _load(host, int(port), paths[:1], key)  # warm up
                latencies, errors, wall = _load(host, int(port), paths, key)
                ordered = sorted(latencies)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                print(
                    f"{name:34} {len(latencies):8d} {len(latencies) / wall:8.0f} "
                    f"{statistics.median(ordered) * 1000:8.2f} {p99 * 1000:8.2f} {errors:6d}"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
