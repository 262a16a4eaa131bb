"""The state machine definition itself, executed by moto's Step Functions interpreter, against the real core.

moto runs step_functions/recommendation.asl.json; each Lambda invocation is answered by the core step behind that
function (``run_state``, as the deployed handlers do). The human approves or rejects through the signed link in the
notifier's message, which resumes the execution with SendTaskSuccess / SendTaskFailure. Each path must take the
same states in the same order as the local orchestrator.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from slo_engine.embedded.fleet import generate_fleet
from slo_engine.engine import Engine
from slo_engine.entrypoints.wiring import approval_service_from_env
from slo_engine.models import ApprovalDecision
from slo_engine.workflow.lambda_steps import run_state
from slo_engine.workflow.orchestrator import ApprovalRejected, ApprovalTimedOut, LocalOrchestrator, definition_path
from slo_engine.workflow.pipeline import load_graph
from slo_engine.workflow.steps import STEPS, RecommendationRequest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("moto_sfn")]

REGION = "us-east-1"
ACCOUNT = "123456789012"
SERVICES = ["payments", "legacy-ledger", "checkout"]
MOTO = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
FUNCTION_STATES = {
    "load_context": "LoadContext",
    "master_agent": "MasterAgent",
    "metric_discovery": "MetricDiscovery",
    "relationship_discovery": "RelationshipDiscovery",
    "runbook_discovery": "RunbookDiscovery",
    "reviewer": "Reviewer",
    "safety": "Safety",
    "pre_approval": "PreApproval",
    "approval_notifier": "HumanApproval",
    "finalize": "Finalize",
    "reject": "Reject",
    "record_feedback": "RecordFeedback",
}
BRANCH_STATES = {
    "MetricDiscovery",
    "MetricDiscoveryFailed",
    "RelationshipDiscovery",
    "RelationshipDiscoveryFailed",
    "RunbookDiscovery",
    "RunbookDiscoveryFailed",
}


def definition(heartbeat: int, timeout: int) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "ApprovalHeartbeatSeconds":
            return str(heartbeat)
        if name == "ApprovalTimeoutSeconds":
            return str(timeout)
        folder = re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("FunctionArn")).lower()
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{folder}"

    return re.sub(r"\$\{([A-Za-z0-9_]+)\}", substitute, definition_path().read_text())


@pytest.fixture(scope="module")
def short_fleet():
    return generate_fleet(seed=3, days=3)


@pytest.fixture
def engine(short_fleet, tmp_path, monkeypatch):
    monkeypatch.setenv("SLO_ENGINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLO_ENGINE_APPROVAL_SIGNING_KEY", "test-signing-key-0123456789abcdef")
    monkeypatch.setenv("SLO_ENGINE_APPROVAL_BASE_URL", "https://approvals.example.test/prod")
    monkeypatch.setenv("SLO_ENGINE_TASK_RESUMER", "stepfunctions")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    engine = Engine.embedded(in_memory=True)
    for name, series in short_fleet.series.items():
        engine.metrics.write_series(name, series)
    engine.metrics.write_edge_totals(short_fleet.edge_totals(), day=short_fleet.end // 86400 - 1)
    load_graph(engine, short_fleet.graph)
    return engine


@pytest.fixture
def lambdas(engine, monkeypatch):
    """Every Lambda invocation runs the core step of its state; ``failing`` names functions that raise."""
    failing: dict[str, Exception] = {}

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        folder = function_name.rsplit(":", 1)[-1]
        if folder in failing:
            error = failing[folder]
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
        result = run_state(FUNCTION_STATES[folder], json.loads(body), engine)
        return json.dumps(result, default=str).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    return failing


def execute(engine, tmp_path, run_id, *, heartbeat=30, timeout=60, human=None):
    """Start an execution in moto; when it waits for approval, let ``human`` decide; return (status, states)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=f"recommendation-{run_id}",
        definition=definition(heartbeat, timeout),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
    )["stateMachineArn"]
    request = RecommendationRequest(run_id=run_id, services=SERVICES, window_days=3)
    execution = sfn.start_execution(
        stateMachineArn=machine, name=run_id, input=json.dumps({"request": request.model_dump(mode="json")})
    )["executionArn"]
    outbox = tmp_path / "approval-outbox.jsonl"
    decided = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status != "RUNNING":
            break
        if human is not None and not decided and outbox.exists() and outbox.read_text().strip():
            message = json.loads(outbox.read_text().splitlines()[-1])
            human(engine, message)
            decided = True
        time.sleep(0.1)
    else:
        pytest.fail(f"execution {run_id} still running after 120 s")
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    states = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    output = sfn.describe_execution(executionArn=execution).get("output")
    return status, states, json.loads(output) if output else None


def click(engine, message, link_action, action, by, reason):
    """What a person does: open the link from the email, submit the form."""
    service = approval_service_from_env(engine)
    query = dict(parse_qsl(urlsplit(message["links"][link_action]).query))
    status, page = service.render_approval_page(message["approval_id"], query)
    assert status == 200, page
    form = {"link_action": query["action"], "exp": query["exp"], "sig": query["sig"], "action": action}
    status, page = service.submit_decision(message["approval_id"], {**form, "by": by, "reason": reason})
    assert status == 200, page


def local_states(engine, run_id, approver, steps=None):
    run = LocalOrchestrator(engine, approver, steps=steps).run(
        RecommendationRequest(run_id=run_id, services=SERVICES, window_days=3)
    )
    return run.states


def normalized(states):
    """Parallel branches interleave: compare the branch states as a set, everything else in order."""
    out, branch = [], []
    for state in states:
        if state in BRANCH_STATES:
            branch.append(state)
            continue
        if branch:
            out.append(tuple(sorted(branch)))
            branch = []
        out.append(state)
    return out


def approve_all(engine, doc):
    ids = doc["summary"]["recommendation_ids"]
    for rec_id in ids:
        engine.state.record_decision(ApprovalDecision(recommendation_id=rec_id, approved=True, by="alice"))
    return {"approved": ids, "held": [], "by": "alice"}


def statuses(engine, output):
    return {engine.state.get_recommendation(i).status.value for i in output["summary"]["recommendation_ids"]}


def test_approval_through_the_signed_link_finalizes_and_emits_slo_approved(engine, lambdas, tmp_path):
    with mock_aws(config=MOTO):
        status, states, output = execute(
            engine,
            tmp_path,
            "approve",
            human=lambda e, m: click(e, m, "approve", "approve", "alice", "fits our on-call"),
        )
    assert status == "SUCCEEDED"
    assert states[-4:] == ["HumanApproval", "Finalize", "RecordFeedback", "Done"]
    assert statuses(engine, output) == {"approved"}
    assert output["decision"]["by"] == "alice"
    assert len(engine.events.events) == len(output["summary"]["recommendation_ids"])
    assert {e["detail_type"] for e in engine.events.events} == {"SLOApproved"}
    assert normalized(states) == normalized(local_states(engine, "approve-local", approve_all))


def test_rejection_through_the_link_goes_to_reject_with_the_reason(engine, lambdas, tmp_path):
    with mock_aws(config=MOTO):
        status, states, output = execute(
            engine,
            tmp_path,
            "reject",
            human=lambda e, m: click(e, m, "review", "reject", "bob", "too tight for the Q4 freeze"),
        )
    assert status == "SUCCEEDED"
    assert "Reject" in states and "Finalize" not in states
    assert statuses(engine, output) == {"rejected"}
    rec = engine.state.get_recommendation(output["summary"]["recommendation_ids"][0])
    assert (rec.decided_by, rec.decision_reason) == ("bob", "too tight for the Q4 freeze")

    def reject(engine, doc):
        raise ApprovalRejected("no")

    assert normalized(states) == normalized(local_states(engine, "reject-local", reject))


def test_an_approval_nobody_answers_times_out_into_reject(engine, lambdas, tmp_path):
    with mock_aws(config=MOTO):
        status, states, output = execute(engine, tmp_path, "timeout", heartbeat=1, timeout=2)
    assert status == "SUCCEEDED"
    assert states[-5:] == ["HumanApproval", "ApprovalTimedOut", "Reject", "RecordFeedback", "Done"]
    assert output["decision"]["outcome"] == "timed_out"
    assert statuses(engine, output) == {"rejected"}

    def never(engine, doc):
        raise ApprovalTimedOut()

    assert normalized(states) == normalized(local_states(engine, "timeout-local", never))


def test_a_failed_agent_becomes_a_placeholder_finding_and_the_run_goes_on(engine, lambdas, tmp_path):
    lambdas["relationship_discovery"] = ConnectionError("graph store unreachable")
    with mock_aws(config=MOTO):
        status, states, output = execute(
            engine, tmp_path, "agent-failure", human=lambda e, m: click(e, m, "approve", "approve", "alice", "ok")
        )
    assert status == "SUCCEEDED"
    assert "RelationshipDiscoveryFailed" in states
    rec = engine.state.get_recommendation(output["summary"]["recommendation_ids"][0])
    assert any("relationship discovery failed" in r for r in rec.risks)

    def broken(engine, doc):
        raise ConnectionError("graph store unreachable")

    local = local_states(engine, "agent-failure-local", approve_all, steps={**STEPS, "RelationshipDiscovery": broken})
    assert normalized(states) == normalized(local)


def test_the_definition_has_the_parallel_agents_retries_catches_and_the_task_token_step():
    asl = json.loads(definition(30, 60))
    branches = asl["States"]["Discovery"]["Branches"]
    assert [b["StartAt"] for b in branches] == ["MetricDiscovery", "RelationshipDiscovery", "RunbookDiscovery"]
    tasks = {n: s for n, s in asl["States"].items() if s["Type"] == "Task"}
    tasks.update({n: s for b in branches for n, s in b["States"].items() if s["Type"] == "Task"})
    assert all(s.get("Retry") and s.get("Catch") for s in tasks.values())
    assert all(r["BackoffRate"] > 1 for s in tasks.values() for r in s["Retry"])
    approval = asl["States"]["HumanApproval"]
    assert approval["Resource"].endswith(".waitForTaskToken")
    assert approval["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    assert approval["HeartbeatSeconds"] < approval["TimeoutSeconds"]
    assert Path(definition_path()).name == "recommendation.asl.json"
