"""`slo-engine discover --cloudmap-namespace NAME`: one poll of Cloud Map (moto, in process) mapped into the local
graph; a second run of an unchanged registry reports nothing new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from slo_engine.cli import app
from slo_engine.embedded.graph_store import SqliteGraphStore


@pytest.fixture
def cloud_map(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("servicediscovery")
        client.create_http_namespace(Name="shop")
        namespace_id = client.list_namespaces()["Namespaces"][0]["Id"]
        for name, attributes in (("checkout", {"depends_on": "payments"}), ("payments", {"team": "pay"})):
            service_id = client.create_service(Name=name, NamespaceId=namespace_id)["Service"]["Id"]
            client.register_instance(ServiceId=service_id, InstanceId=f"{name}-1", Attributes=attributes)
        yield client


def discover(data_dir: Path, *namespaces: str) -> object:
    args = ["discover", *[a for n in namespaces for a in ("--cloudmap-namespace", n)], "--data-dir", str(data_dir)]
    return CliRunner().invoke(app, args)


def test_discover_registers_the_services_and_maps_their_edges(cloud_map: object, tmp_path: Path) -> None:
    result = discover(tmp_path, "shop")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["registered"] == 2
    assert [(c["kind"], c["service"]) for c in summary["changes"]] == [
        ("registered", "checkout"),
        ("registered", "payments"),
    ]
    graph = SqliteGraphStore(tmp_path / "graph.db")
    assert [(d.from_, d.to, d.source) for d in graph.dependencies()] == [("checkout", "payments", "registry")]


def test_discover_twice_on_an_unchanged_registry_reports_nothing_new(cloud_map: object, tmp_path: Path) -> None:
    discover(tmp_path, "shop")
    summary = json.loads(discover(tmp_path, "shop").stdout)
    assert (summary["registered"], summary["unchanged"], summary["changes"]) == (0, 2, [])


def test_discover_a_missing_namespace_exits_2_naming_it(cloud_map: object, tmp_path: Path) -> None:
    result = discover(tmp_path, "warehouse")
    assert result.exit_code == 2
    assert "warehouse" in result.output
