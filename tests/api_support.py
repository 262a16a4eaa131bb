"""Test support for the API: a small data folder (sample fleet, one run of three services left pending) built once
per worker and copied per test, and a SigV4-signing HTTP client for the local server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import requests

from slo_engine.api.sigv4 import signed_request_headers

SERVICES = ["checkout", "payments", "search"]
_TEMPLATE: dict[str, Path] = {}


def sample_data_dir(root: Path) -> Path:
    """A data folder with a 7-day sample fleet and one finished run for three services (its SLOs pending)."""
    if "dir" not in _TEMPLATE:
        from slo_engine.api.models import Caller, StartRecommendationRequest
        from slo_engine.api.runs import LocalWorkflowRuns
        from slo_engine.embedded.fleet import generate_fleet
        from slo_engine.embedded.metric_store import SqliteMetricStore
        from slo_engine.engine import Engine
        from slo_engine.workflow.pipeline import load_graph

        template = root.parent / f"{root.name}-template"
        fleet = generate_fleet(seed=7, days=7)
        engine = Engine.embedded(template)
        assert isinstance(engine.metrics, SqliteMetricStore)
        for name, series in fleet.series.items():
            engine.metrics.write_series(name, series)
        load_graph(engine, fleet.graph)
        names = [s for s in SERVICES if s in fleet.series] or sorted(fleet.series)[:3]
        runs = LocalWorkflowRuns(engine, template / "runs.db")
        record = runs.start(StartRecommendationRequest(services=names), Caller(kind="person", id="setup").id)
        done = runs.wait(record.id, timeout=120)
        assert done is not None and done.status == "succeeded", done
        runs.close()
        _TEMPLATE["dir"] = template
        _TEMPLATE["run"] = Path(record.id)
    shutil.copytree(_TEMPLATE["dir"], root, dirs_exist_ok=True)
    return root


def sample_run_id() -> str:
    return str(_TEMPLATE["run"])


class SignedClient:
    """Signs every request with one of the server's integration keys (AWS SigV4, service execute-api)."""

    def __init__(self, base_url: str, access_key_id: str, secret_access_key: str, region: str = "local") -> None:
        self.base_url = base_url
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.region = region
        self.http = requests.Session()

    def headers(self, method: str, path: str, raw: bytes, **overrides: Any) -> dict[str, str]:
        return signed_request_headers(
            method,
            self.base_url + path,
            raw,
            access_key_id=overrides.get("access_key_id", self.access_key_id),
            secret_access_key=overrides.get("secret_access_key", self.secret_access_key),
            region=self.region,
            headers={"content-type": "application/json"} if raw else None,
            now=overrides.get("now"),
        )

    def call(self, method: str, path: str, body: Any = None, **overrides: Any) -> requests.Response:
        raw = json.dumps(body).encode() if body is not None else b""
        headers = self.headers(method, path, raw, **overrides)
        return self.http.request(method, self.base_url + path, data=raw, headers=headers, timeout=30)
