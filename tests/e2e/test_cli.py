"""The public CLI contract, driven as users and scripts drive it (a subprocess, JSON on stdout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("cli")

REQUIRED = {
    "service",
    "sli",
    "target",
    "window_days",
    "threshold_ms",
    "attained",
    "events",
    "history_days",
    "confidence",
    "dependency_ceiling",
    "status",
    "risks",
    "rationale",
}


def cli(*args: str, cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


@pytest.fixture(scope="module")
def user_data(tmp_path_factory, fleet):
    root = tmp_path_factory.mktemp("user")
    fleet.write_snapshots_jsonl(root / "snapshots.jsonl", days=3, step_seconds=300)
    fleet.write_graph_json(root / "graph.json")
    fleet.write_runbooks(root / "runbooks")
    return root


@pytest.fixture(scope="module")
def recommended(user_data):
    result = cli(
        "recommend",
        "--snapshots",
        "snapshots.jsonl",
        "--graph",
        "graph.json",
        "--runbooks",
        "runbooks",
        "--window-days",
        "3",
        "--format",
        "json",
        "--approve",
        "manual",
        cwd=user_data,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_recommend_prints_one_json_object_per_service_and_sli(recommended):
    assert recommended
    pairs = {(r["service"], r["sli"]) for r in recommended}
    assert len(pairs) == len(recommended)
    for r in recommended:
        assert set(r) >= REQUIRED
        assert r["sli"] in ("availability", "latency")
        assert 0 < r["target"] < 1 and 0 <= r["confidence"] <= 1
        assert r["window_days"] == 3
        assert r["status"] == "pending"
        assert (r["threshold_ms"] is not None) == (r["sli"] == "latency")
        if r["sli"] == "latency":
            assert r["dependency_ceiling"] is None


def test_recommend_reports_the_capped_service(recommended):
    payments = next(r for r in recommended if r["service"] == "payments" and r["sli"] == "availability")
    assert "capped by dependency legacy-ledger" in payments["risks"]


def test_manual_recommendations_can_be_approved_once(user_data, recommended):
    rec_id = next(r["id"] for r in recommended if r["service"] == "payments")
    listed = cli("approvals", "list", "--format", "json", cwd=user_data)
    assert rec_id in {r["id"] for r in json.loads(listed.stdout)}
    ok = cli("approvals", "decide", rec_id, "--approve", "--reason", "fits", "--by", "alice", cwd=user_data)
    assert ok.returncode == 0, ok.stderr
    again = cli("approvals", "decide", rec_id, "--reject", "--by", "bob", cwd=user_data)
    assert again.returncode != 0 and "already approved" in again.stderr


def test_bad_lines_are_named_and_valid_lines_still_used(tmp_path, user_data):
    lines = (user_data / "snapshots.jsonl").read_text().splitlines()[:400]
    lines.insert(3, "{truncated")
    lines.insert(7, json.dumps({"service": "x", "window_start": "2026-10-30T00:00:00Z", "requests": 1, "errors": 5}))
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    result = cli("recommend", "--snapshots", "s.jsonl", "--format", "json", "--window-days", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "s.jsonl:4" in result.stderr and "not valid JSON" in result.stderr
    assert "s.jsonl:8" in result.stderr and "exceed" in result.stderr
    assert json.loads(result.stdout)


def test_an_empty_file_exits_non_zero_with_a_clear_message(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    result = cli("recommend", "--snapshots", "empty.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "empty" in result.stderr


def test_a_file_with_only_bad_lines_exits_non_zero(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"service": "a", "requests": -5}\nnot json\n')
    result = cli("recommend", "--snapshots", "bad.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.jsonl:1" in result.stderr and "bad.jsonl:2" in result.stderr


def test_a_graph_naming_an_unknown_service_is_refused_clearly(tmp_path, user_data):
    graph = {"services": [{"name": "a"}], "dependencies": [{"from": "a", "to": "ghost", "kind": "hard"}]}
    (tmp_path / "g.json").write_text(json.dumps(graph))
    result = cli("recommend", "--snapshots", str(user_data / "snapshots.jsonl"), "--graph", "g.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "ghost" in result.stderr and "g.json" in result.stderr


def test_aggregate_folds_raw_events_and_sidecar_exports_and_reports_what_it_refused(tmp_path) -> None:
    from slo_engine.ingest.otlp import exports_from_events

    raw = [
        {"service": "cart", "timestamp": "2026-11-01T00:00:01Z", "duration_ms": 12.0},
        {"service": "cart", "timestamp": "2026-11-01T00:00:02Z", "duration_ms": 30.0, "error": True},
    ]
    sidecar = exports_from_events([{**raw[0], "service": "search"}])
    lines = [json.dumps(r) for r in raw] + [json.dumps(e) for e in sidecar] + ['{"resourceMetrics": 5}', "{oops"]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    done = cli("aggregate", "--events", "events.jsonl", "--out", "snapshots.jsonl", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["lines"], report["accepted"], report["points"], report["malformed"]) == (5, 3, 2, 2)
    assert report["malformed_reasons"] == {"invalid OTLP": 1, "invalid JSON": 1}
    snapshots = {s["service"]: s for s in map(json.loads, (tmp_path / "snapshots.jsonl").read_text().splitlines())}
    assert (snapshots["cart"]["requests"], snapshots["cart"]["errors"], snapshots["search"]["requests"]) == (2, 1, 1)
    (tmp_path / "junk.jsonl").write_text("{oops\n")
    refused = cli("aggregate", "--events", "junk.jsonl", "--out", "none.jsonl", cwd=tmp_path)
    assert refused.returncode == 2 and "1 malformed" in refused.stderr
