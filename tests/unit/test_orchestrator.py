"""The local orchestrator interprets the definition faithfully: paths, Parallel, Catch, Choice, I/O paths."""

from __future__ import annotations

from slo_engine.workflow.orchestrator import LocalOrchestrator, load_definition
from slo_engine.workflow.steps import RecommendationRequest


def machine(states, start="A"):
    return {"StartAt": start, "States": states}


def run(definition, steps, approver=lambda e, d: {"ok": True}):
    orch = LocalOrchestrator(engine=None, approver=approver, definition=definition, steps=steps)
    return orch.run(RecommendationRequest(run_id="r1"))


def test_result_path_parameters_and_result_selector_follow_asl():
    definition = machine(
        {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$.request"},
                "ResultSelector": {"value.$": "$.Payload.n"},
                "ResultPath": "$.a",
                "Next": "B",
            },
            "B": {
                "Type": "Pass",
                "Parameters": {"copied.$": "$.a.value", "run.$": "$$.Execution.Name"},
                "ResultPath": "$.b",
                "End": True,
            },
        }
    )
    result = run(definition, {"A": lambda engine, payload: {"n": payload["run_id"] + "!"}})
    assert result.doc["a"] == {"value": "r1!"}
    assert result.doc["b"] == {"copied": "r1!", "run": "r1"}
    assert result.states == ["A", "B"]


def branch(name):
    return {"StartAt": name, "States": {name: {"Type": "Task", "Resource": "x", "End": True, "ResultPath": "$.out"}}}


def test_parallel_branches_run_and_collect_in_order():
    definition = machine(
        {"A": {"Type": "Parallel", "Branches": [branch("X"), branch("Y")], "ResultPath": "$.p", "End": True}}
    )
    result = run(definition, {"X": lambda e, d: 1, "Y": lambda e, d: 2})
    assert [b["out"] for b in result.doc["p"]] == [1, 2]
    assert result.states == ["A", "X", "Y"]


def test_a_caught_error_goes_to_the_catch_state_with_its_cause():
    def boom(engine, doc):
        raise TimeoutError("slow store")

    definition = machine(
        {
            "A": {
                "Type": "Task",
                "Resource": "x",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "F"}],
                "End": True,
            },
            "F": {
                "Type": "Pass",
                "Parameters": {"failed": True, "why.$": "$.err.Cause"},
                "ResultPath": "$.f",
                "End": True,
            },
        }
    )
    result = run(definition, {"A": boom})
    assert result.doc["f"] == {"failed": True, "why": "slow store"}
    assert result.doc["err"]["Error"] == "TimeoutError"


def test_an_uncaught_error_fails_the_run():
    def boom(engine, doc):
        raise ValueError("bad")

    result = run(machine({"A": {"Type": "Task", "Resource": "x", "End": True}}), {"A": boom})
    assert result.status == "FAILED" and result.doc["error"]["Error"] == "ValueError"


def test_choice_takes_the_matching_branch():
    definition = machine(
        {
            "A": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.request.approve", "StringEquals": "manual", "Next": "M"}],
                "Default": "D",
            },
            "M": {"Type": "Succeed"},
            "D": {"Type": "Fail", "Error": "Nope"},
        }
    )
    assert run(definition, {}).states == ["A", "M"]


def test_the_wait_for_task_token_state_asks_the_approver():
    definition = machine(
        {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "ResultPath": "$.decision",
                "End": True,
            }
        }
    )
    result = run(definition, {}, approver=lambda e, d: {"approved": ["x"]})
    assert result.doc["decision"] == {"approved": ["x"]}


def test_the_shipped_definition_only_uses_what_the_orchestrator_understands():
    definition = load_definition()
    supported = {"Task", "Parallel", "Pass", "Choice", "Succeed", "Fail"}

    def walk(m):
        for name, state in m["States"].items():
            assert state["Type"] in supported, name
            for branch in state.get("Branches", []):
                walk(branch)

    walk(definition)


def test_a_task_with_no_core_step_fails_the_run_with_a_runtime_error():
    result = run(machine({"Nowhere": {"Type": "Task", "Resource": "x", "End": True}}, start="Nowhere"), {})
    assert result.status == "FAILED"
    assert result.doc["error"]["Error"] == "States.Runtime" and "Nowhere" in result.doc["error"]["Cause"]
