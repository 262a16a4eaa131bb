"""``slo-engine runbooks index DIR`` and ``runbooks search TEXT --format json`` as a user runs them (a subprocess),
on public runbooks copied from ../shared/corpus, with the persistent index under ``--data-dir``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUNBOOKS = ["kubernetes/KubePodCrashLooping.md", "etcd/etcdNoLeader.md", "node/NodeFilesystemSpaceFillingUp.md"]


def cli(*args: str, cwd: Path, embedder: str = "hashing") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "SLO_ENGINE_EMBEDDER": embedder}
    return subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def runbooks(tmp_path: Path, corpus_root: Path) -> Path:
    source = corpus_root / "runbooks-prometheus-operator" / "content" / "runbooks"
    folder = tmp_path / "runbooks"
    for name in RUNBOOKS:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, folder / name)
    (folder / "broken.md").write_bytes(b"\xff\xfe not utf-8")
    return folder


def test_index_then_search_prints_a_json_array_of_hits_with_the_contract_fields(runbooks: Path, tmp_path: Path) -> None:
    indexed = cli("runbooks", "index", str(runbooks), "--data-dir", "state", cwd=tmp_path)
    assert indexed.returncode == 0, indexed.stderr
    assert "3 runbooks" in indexed.stdout and "broken.md: not UTF-8" in indexed.stderr
    found = cli(
        "runbooks", "search", "pod keeps crashing", "--k", "2", "--format", "json", "--data-dir", "state", cwd=tmp_path
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 2 and {"path", "heading", "score", "resolution"} <= set(hits[0])
    assert hits[0]["path"] == "kubernetes/KubePodCrashLooping.md"
    assert hits[0]["resolution"]["symptoms"][0] == "KubePodCrashLooping"


def test_search_with_a_service_keeps_only_that_services_runbooks(runbooks: Path, tmp_path: Path) -> None:
    cli("runbooks", "index", str(runbooks), "--data-dir", "state", cwd=tmp_path)
    found = cli(
        "runbooks",
        "search",
        "cluster has no leader",
        "--service",
        "etcd",
        "--format",
        "json",
        "--data-dir",
        "state",
        cwd=tmp_path,
    )
    assert {hit["path"] for hit in json.loads(found.stdout)} == {"etcd/etcdNoLeader.md"}


def test_searching_without_an_index_or_indexing_a_missing_folder_exits_2(tmp_path: Path) -> None:
    missing_index = cli("runbooks", "search", "disk full", "--format", "json", "--data-dir", "nowhere", cwd=tmp_path)
    assert missing_index.returncode == 2 and "runbooks index" in missing_index.stderr and missing_index.stdout == ""
    missing_folder = cli("runbooks", "index", "no-such-folder", cwd=tmp_path)
    assert missing_folder.returncode == 2 and "not a folder" in missing_folder.stderr
