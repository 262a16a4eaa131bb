"""The state document stays under Step Functions' 256 KB: large step results become references to run artifacts,
every step sees them resolved, and the local orchestrator fails a run exactly where Step Functions would."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from slo_engine.adapters.aws.run_artifacts import S3RunArtifacts
from slo_engine.embedded.run_artifacts import LocalRunArtifacts
from slo_engine.workflow.claim_check import (
    INLINE_LIMIT_BYTES,
    REF_KEY,
    STATE_PAYLOAD_LIMIT_BYTES,
    MissingArtifact,
    offload,
    resolve,
    run_id_of,
)
from slo_engine.workflow.orchestrator import LocalOrchestrator
from slo_engine.workflow.steps import RecommendationRequest

BIG = {"findings": ["x" * 1000 for _ in range(400)]}  # about 400 KB of JSON


@pytest.fixture(params=["memory", "files", "s3"])
def artifacts(request, tmp_path):
    if request.param == "memory":
        yield LocalRunArtifacts()
    elif request.param == "files":
        yield LocalRunArtifacts(tmp_path / "artifacts")
    else:
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket="runs")
            yield S3RunArtifacts("runs", client=client)


def test_small_results_stay_in_the_document(artifacts) -> None:
    small = {"ok": True, "text": "y" * (INLINE_LIMIT_BYTES // 2)}
    assert offload(artifacts, "run-1", "Reviewer", small) is small


def test_large_results_become_references_that_resolve_back(artifacts) -> None:
    reference = offload(artifacts, "run-1", "MetricDiscovery", BIG)
    assert set(reference) == {REF_KEY, "bytes", "sha256"} and reference["bytes"] > INLINE_LIMIT_BYTES
    assert len(json.dumps(reference)) < 300
    document = {"request": {"run_id": "run-1"}, "findings": [reference, {"small": 1}], "nested": {"r": reference}}
    assert resolve(artifacts, document) == {
        "request": {"run_id": "run-1"},
        "findings": [BIG, {"small": 1}],
        "nested": {"r": BIG},
    }


def test_the_same_result_twice_is_the_same_artifact(artifacts) -> None:
    """A retried Lambda writes the same content-addressed name: no duplicates, no dangling references."""
    assert offload(artifacts, "run-1", "Safety", BIG) == offload(artifacts, "run-1", "Safety", BIG)


def test_a_missing_or_altered_artifact_is_a_clear_error(artifacts, tmp_path) -> None:
    reference = offload(artifacts, "run-1", "Safety", BIG)
    with pytest.raises(MissingArtifact, match="no artifact store"):
        resolve(None, reference)
    with pytest.raises(MissingArtifact, match="digest differs"):
        resolve(artifacts, {**reference, "sha256": "0" * 64})
    gone = {**reference, REF_KEY: reference[REF_KEY].replace("Safety", "Gone")}
    with pytest.raises(MissingArtifact):
        resolve(artifacts, gone)


def test_local_artifacts_refuse_paths_outside_their_folder(tmp_path) -> None:
    store = LocalRunArtifacts(tmp_path / "artifacts")
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    with pytest.raises(KeyError, match="outside"):
        store.get(outside.as_uri())
    with pytest.raises(ValueError, match="segment"):
        store.put("..", "x.json", b"{}")


def test_without_a_run_id_or_a_store_nothing_is_offloaded() -> None:
    assert offload(None, "run-1", "Safety", BIG) is BIG
    assert offload(LocalRunArtifacts(), None, "Safety", BIG) is BIG
    assert run_id_of({"taskToken": "t", "state": {"request": {"run_id": "r9"}}}) == "r9"


def _machine() -> dict:
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
    return {
        "StartAt": "Discover",
        "States": {
            "Discover": {"Type": "Task", "Resource": "x", "ResultPath": "$.findings", "Catch": catch, "Next": "Use"},
            "Use": {"Type": "Task", "Resource": "x", "ResultPath": "$.used", "End": True},
            "Caught": {"Type": "Pass", "End": True},
        },
    }


def _run(artifacts):
    seen = {}

    def use(engine, doc):
        seen["findings"] = doc["findings"]
        return len(doc["findings"]["findings"])

    steps = {"Discover": lambda engine, doc: BIG, "Use": use}
    engine = SimpleNamespace(artifacts=artifacts)
    orchestrator = LocalOrchestrator(engine, lambda e, d: {}, definition=_machine(), steps=steps)  # type: ignore[arg-type]
    return orchestrator.run(RecommendationRequest(run_id="big-run")), seen


def test_a_state_output_over_the_limit_fails_the_run_uncaught_like_step_functions() -> None:
    result, _ = _run(None)
    assert result.status == "FAILED" and result.states == ["Discover"]
    assert result.doc["error"]["Error"] == "States.DataLimitExceeded"
    assert f"{STATE_PAYLOAD_LIMIT_BYTES:,}" in result.doc["error"]["Cause"]


def test_with_an_artifact_store_the_same_run_succeeds_and_every_step_sees_the_whole_result() -> None:
    result, seen = _run(LocalRunArtifacts())
    assert result.status == "SUCCEEDED" and result.states == ["Discover", "Use"]
    assert seen["findings"] == BIG and result.doc["used"] == 400
    assert result.doc["findings"] == BIG  # the run's result is handed back resolved


def test_the_lambdas_resolve_references_in_and_store_large_results_out(monkeypatch) -> None:
    from slo_engine.workflow import lambda_steps

    store = LocalRunArtifacts()
    engine = SimpleNamespace(artifacts=store, reasoner=None)
    seen = {}
    monkeypatch.setitem(lambda_steps.STEPS, "Reviewer", lambda e, doc: seen.update(doc) or BIG)
    earlier = offload(store, "run-7", "MetricDiscovery", BIG)
    answer = lambda_steps.run_state("Reviewer", {"request": {"run_id": "run-7"}, "findings": [earlier]}, engine)
    assert seen["findings"] == [BIG]
    assert set(answer) == {REF_KEY, "bytes", "sha256"} and resolve(store, answer) == BIG


def test_a_local_run_leaves_no_artifacts_behind(tmp_path) -> None:
    store = LocalRunArtifacts(tmp_path / "artifacts")
    result, _ = _run(store)
    assert result.status == "SUCCEEDED" and result.doc["findings"] == BIG
    assert not (tmp_path / "artifacts" / "big-run").exists()
    memory = LocalRunArtifacts()
    _run(memory)
    assert memory._memory == {}


def test_s3_keeps_a_finished_runs_artifacts_for_the_api() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="runs")
        store = S3RunArtifacts("runs", client=client)
        reference = offload(store, "run-1", "Safety", BIG)
        store.discard("run-1")
        assert resolve(store, reference) == BIG
