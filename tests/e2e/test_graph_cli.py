"""`slo-engine graph analyze --graph FILE [--snapshots FILE] --format json`, driven as a script would drive it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("cli")

BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
GRAPH = {
    "services": [{"name": n, "tier": 1} for n in ("web", "api", "db", "cache", "a", "b")],
    "dependencies": [
        {"from": "web", "to": "api", "kind": "hard"},
        {"from": "api", "to": "db", "kind": "hard"},
        {"from": "api", "to": "cache", "kind": "soft"},
        {"from": "a", "to": "b", "kind": "hard"},
        {"from": "b", "to": "a", "kind": "hard"},
    ],
}


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", "graph", "analyze", *args, "--format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(GRAPH), encoding="utf-8")
    return path


def test_the_report_has_the_contracted_shape_and_counts(graph_file: Path) -> None:
    result = analyze("--graph", str(graph_file), cwd=graph_file.parent)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["services"] == 6
    assert report["cycles"] == [["a", "b"]]
    assert set(report["ceilings"]) == {s["name"] for s in GRAPH["services"]}
    assert all(set(c) >= {"ceiling", "capped_by"} for c in report["ceilings"].values())
    assert report["fan_in"]["api"] == 1 and report["fan_in"]["db"] == 1
    assert report["fan_out"] == {"a": 1, "api": 2, "b": 1, "cache": 0, "db": 0, "web": 1}


def test_observed_snapshots_cap_ceilings_by_the_weakest_hard_dependency(graph_file: Path) -> None:
    lines = []
    for service, errors in (("web", 0), ("api", 0), ("db", 50), ("cache", 500), ("a", 0), ("b", 0)):
        lines.append(
            {
                "service": service,
                "window_start": "2026-11-20T00:00:00Z",
                "window_seconds": 300,
                "requests": 10_000,
                "errors": errors,
                "latency_ms": {"bounds": BOUNDS, "counts": [10_000] + [0] * len(BOUNDS)},
                "downstream": {"db": {"requests": 10_000, "errors": 0}} if service == "api" else {},
            }
        )
    snapshots = graph_file.parent / "snapshots.jsonl"
    snapshots.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = analyze("--graph", str(graph_file), "--snapshots", str(snapshots), cwd=graph_file.parent)
    assert result.returncode == 0, result.stderr
    ceilings = json.loads(result.stdout)["ceilings"]
    assert ceilings["api"]["capped_by"] == "db"  # the soft dependency on a worse cache does not cap
    assert ceilings["api"]["ceiling"] == pytest.approx(0.995)
    assert ceilings["db"]["capped_by"] is None


def test_a_graph_with_an_unknown_service_exits_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"services": [{"name": "a"}], "dependencies": [{"from": "a", "to": "ghost"}]}))
    result = analyze("--graph", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "ghost" in result.stderr and result.stdout == ""


def test_snapshots_the_store_cannot_take_are_reported_not_silently_dropped(graph_file: Path) -> None:
    line = {
        "service": "db",
        "window_start": "2026-11-20T00:00:00Z",
        "window_seconds": 300,
        "requests": 10,
        "errors": 0,
        "latency_ms": {"bounds": [100], "counts": [10, 0]},
    }
    snapshots = graph_file.parent / "odd.jsonl"
    snapshots.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = analyze("--graph", str(graph_file), "--snapshots", str(snapshots), cwd=graph_file.parent)
    assert result.returncode == 2
    assert "latency bounds" in result.stderr and "no snapshot could be stored" in result.stderr
