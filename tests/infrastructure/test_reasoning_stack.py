"""ReasoningStack: the state machine deploys step_functions/recommendation.asl.json itself, and that definition has the
states, parallel agents, retries, catches and task-token approval the workflow promises."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cloud_assembly import INFRASTRUCTURE, REPO_ROOT, CloudAssembly
from template_queries import allowed_actions, as_list, functions_by_folder, role_statements

pytestmark = INFRASTRUCTURE

ASL_PATH = REPO_ROOT / "step_functions" / "recommendation.asl.json"
MAIN_PATH = [
    "LoadContext",
    "MasterAgent",
    "Discovery",
    "Reviewer",
    "Safety",
    "PreApproval",
    "HumanApproval",
    "Finalize",
    "RecordFeedback",
    "Done",
]
DISCOVERY_AGENTS = {"MetricDiscovery": "metric", "RelationshipDiscovery": "relationship", "RunbookDiscovery": "runbook"}
TRANSIENT_LAMBDA_ERRORS = {
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}


def _state_machine(assembly: CloudAssembly) -> tuple[str, dict[str, Any]]:
    machines = assembly.resources("AWS::StepFunctions::StateMachine", "Reasoning")
    assert len(machines) == 1
    name, machine = next(iter(machines.items()))
    return name.split("/")[-1], machine["Properties"]


@pytest.fixture(scope="module")
def deployed_text(assembly: CloudAssembly) -> str:
    """The definition file as uploaded (the S3 asset the state machine points to)."""
    key = _state_machine(assembly)[1]["DefinitionS3Location"]["Key"]
    return (assembly.outdir / f"asset.{key}").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def definition(assembly: CloudAssembly, deployed_text: str) -> dict[str, Any]:
    """The definition after CloudFormation's substitutions (ARNs shown as ``arn:<logical id>``)."""
    substitutions = _state_machine(assembly)[1]["DefinitionSubstitutions"]

    def value(match: re.Match[str]) -> str:
        substituted = substitutions[match.group(1)]
        return substituted if isinstance(substituted, str) else f"arn:{substituted['Fn::GetAtt'][0]}"

    return json.loads(re.sub(r"\$\{(\w+)\}", value, deployed_text))


def _task_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tasks = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            tasks[name] = state
        for branch in state.get("Branches", []):
            tasks.update(_task_states(branch["States"]))
    return tasks


def test_state_machine_deploys_the_definition_file_of_the_repository(deployed_text: str) -> None:
    assert deployed_text == ASL_PATH.read_text(encoding="utf-8")


def test_every_definition_placeholder_has_a_substitution(assembly: CloudAssembly, deployed_text: str) -> None:
    placeholders = set(re.findall(r"\$\{(\w+)\}", deployed_text))
    assert placeholders == set(_state_machine(assembly)[1]["DefinitionSubstitutions"])


def test_state_machine_is_standard_traced_and_logs_everything(assembly: CloudAssembly) -> None:
    properties = _state_machine(assembly)[1]
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is True


def test_happy_path_visits_the_states_in_order(definition: dict[str, Any]) -> None:
    states = definition["States"]
    path, name = [], definition["StartAt"]
    while name is not None:
        path.append(name)
        name = states[name].get("Next")
    assert path == MAIN_PATH
    assert states["Done"]["Type"] == "Succeed"


def test_discovery_runs_three_agent_branches_in_parallel(definition: dict[str, Any]) -> None:
    discovery = definition["States"]["Discovery"]
    assert discovery["Type"] == "Parallel"
    assert discovery["ResultPath"] == "$.findings"
    tasks = []
    for branch in discovery["Branches"]:
        branch_tasks = [name for name, state in branch["States"].items() if state["Type"] == "Task"]
        assert branch_tasks == [branch["StartAt"]]
        tasks += branch_tasks
    assert tasks == list(DISCOVERY_AGENTS)


def test_every_task_retries_transient_errors_with_backoff_and_has_a_catch(definition: dict[str, Any]) -> None:
    tasks = _task_states(definition["States"])
    assert len(tasks) == 12
    for name, task in tasks.items():
        assert task.get("Retry"), f"{name} has no Retry"
        retried = {error for retry in task["Retry"] for error in retry["ErrorEquals"]}
        assert retried >= TRANSIENT_LAMBDA_ERRORS, name
        assert all(retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 2 for retry in task["Retry"]), name
        assert task.get("Catch"), f"{name} has no Catch"


def test_agent_tasks_also_retry_task_timeouts(definition: dict[str, Any]) -> None:
    tasks = _task_states(definition["States"])
    for name in DISCOVERY_AGENTS:
        assert "States.Timeout" in {e for retry in tasks[name]["Retry"] for e in retry["ErrorEquals"]}, name


@pytest.mark.parametrize("agent_state", list(DISCOVERY_AGENTS))
def test_a_failed_agent_becomes_a_failed_low_confidence_finding(definition: dict[str, Any], agent_state: str) -> None:
    branch = next(b for b in definition["States"]["Discovery"]["Branches"] if b["StartAt"] == agent_state)
    catch = branch["States"][agent_state]["Catch"]
    assert [c["ErrorEquals"] for c in catch] == [["States.ALL"]]
    fallback = branch["States"][catch[0]["Next"]]
    assert fallback["Type"] == "Pass" and fallback["End"] is True
    parameters = fallback["Parameters"]
    assert parameters["agent"] == DISCOVERY_AGENTS[agent_state]
    assert parameters["failed"] is True
    assert parameters["confidence"] == 0
    assert parameters["error.$"] == "$.Cause"


def test_human_approval_waits_for_a_task_token_sent_to_the_notifier(
    assembly: CloudAssembly, definition: dict[str, Any]
) -> None:
    approval = definition["States"]["HumanApproval"]
    assert approval["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert approval["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    notifier_id, _ = functions_by_folder(assembly.templates[assembly.stack_name("Reasoning")])["approval_notifier"]
    assert approval["Parameters"]["FunctionName"] == f"arn:{notifier_id}"
    reasoning = assembly.config.reasoning
    assert approval["HeartbeatSeconds"] == reasoning.approval_heartbeat_seconds
    assert approval["TimeoutSeconds"] == reasoning.approval_timeout_seconds


def test_an_approval_timeout_is_rejected_through_approval_timed_out(definition: dict[str, Any]) -> None:
    states = definition["States"]
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["HumanApproval"]["Catch"]}
    assert catches[("States.Timeout", "States.HeartbeatTimeout")] == "ApprovalTimedOut"
    assert states["ApprovalTimedOut"]["Next"] == "Reject"


def test_a_human_rejection_goes_to_reject_then_feedback(definition: dict[str, Any]) -> None:
    states = definition["States"]
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["HumanApproval"]["Catch"]}
    assert catches[("States.TaskFailed",)] == "Reject"
    assert states["Reject"]["Next"] == "RecordFeedback"


def test_each_state_writes_its_own_part_of_the_state_document(definition: dict[str, Any]) -> None:
    states = definition["States"]
    result_paths = {name: states[name].get("ResultPath") for name in MAIN_PATH if name != "Done"}
    assert result_paths == {
        "LoadContext": "$.context",
        "MasterAgent": "$.plan",
        "Discovery": "$.findings",
        "Reviewer": "$.review",
        "Safety": "$.safety",
        "PreApproval": "$.summary",
        "HumanApproval": "$.decision",
        "Finalize": "$.result",
        "RecordFeedback": "$.feedback",
    }


def test_state_machine_role_invokes_exactly_the_workflow_functions(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Reasoning")]
    role_id = _state_machine(assembly)[1]["RoleArn"]["Fn::GetAtt"][0]
    invoked = set()
    for statement in role_statements(template, role_id):
        if "lambda:InvokeFunction" in as_list(statement["Action"]):
            invoked |= {resource["Fn::GetAtt"][0] for resource in as_list(statement["Resource"])}
    functions = {
        logical_id
        for folder, (logical_id, _) in functions_by_folder(template).items()
        if folder != "approval_heartbeat"
    }
    assert invoked == functions
    assert len(functions) == 12


def test_only_the_approval_callback_may_resume_the_workflow(assembly: CloudAssembly) -> None:
    resumers = set()
    for template in assembly.templates.values():
        for folder, (_, function) in functions_by_folder(template).items():
            role = function["Properties"]["Role"]["Fn::GetAtt"][0]
            if "states:SendTaskSuccess" in allowed_actions(role_statements(template, role)):
                resumers.add(folder)
    assert resumers == {"approval_callback"}


def test_pending_approvals_get_scheduled_heartbeats_from_a_function_that_cannot_decide(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Reasoning")]
    logical_id, function = functions_by_folder(template)["approval_heartbeat"]
    actions = allowed_actions(role_statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0]))
    assert "states:SendTaskHeartbeat" in actions
    assert not {"states:SendTaskSuccess", "states:SendTaskFailure"} & set(actions)
    rules = [r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    targets = [
        t["Arn"]["Fn::GetAtt"][0]
        for r in rules
        if "ScheduleExpression" in r["Properties"]
        for t in r["Properties"]["Targets"]
    ]
    assert logical_id in targets


def test_every_workflow_function_may_keep_and_read_run_artifacts_under_their_prefix_only(
    assembly: CloudAssembly,
) -> None:
    from template_queries import function_role_id

    template = assembly.templates[assembly.stack_name("Reasoning")]
    functions = functions_by_folder(template)
    for folder in ("load_context", "metric_discovery", "reviewer", "safety", "approval_notifier", "record_feedback"):
        _, function = functions[folder]
        assert "SLO_ENGINE_RUN_ARTIFACTS_BUCKET" in function["Properties"]["Environment"]["Variables"], folder
        statements = role_statements(template, function_role_id(function))
        objects = [s for s in statements if "s3:PutObject" in as_list(s["Action"])]
        assert len(objects) == 1, folder
        assert set(as_list(objects[0]["Action"])) == {"s3:GetObject", "s3:PutObject"}
        assert json.dumps(objects[0]["Resource"]).endswith('"/runs/*"]]}'), objects[0]["Resource"]
        assert "RunArtifactsBucketArn" in json.dumps(objects[0]["Resource"])
