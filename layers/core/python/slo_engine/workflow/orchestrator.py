"""The local orchestrator: runs the Step Functions definition itself, state by state, on the core.

It interprets the subset of Amazon States Language the definition uses (Task, Parallel, Pass,
Choice on plain equality, Succeed, Fail; Parameters, ResultSelector, ResultPath, OutputPath,
Retry-free Catch), calling ``workflow.steps`` where AWS would invoke a Lambda, so the local run
takes the same states in the same order as the deployed state machine.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slo_engine.engine import Engine
from slo_engine.workflow.claim_check import STATE_PAYLOAD_LIMIT_BYTES, encoded, offload, resolve, run_id_of
from slo_engine.workflow.steps import STEPS, Doc, RecommendationRequest

DEFINITION_NAME = "recommendation.asl.json"


class StateFailure(Exception):
    """A state failed with an ASL error name (``States.Timeout``, ``States.TaskFailed``, ...)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class DataLimitExceeded(StateFailure):
    """A state's output over Step Functions' payload limit: terminal, no Catch applies (as in Step Functions)."""

    def __init__(self, state: str, size: int) -> None:
        super().__init__(
            "States.DataLimitExceeded",
            f"the output of state {state} is {size:,} bytes; Step Functions allows {STATE_PAYLOAD_LIMIT_BYTES:,}",
        )


class ApprovalTimedOut(StateFailure):
    def __init__(self, cause: str = "no decision before the approval timeout") -> None:
        super().__init__("States.Timeout", cause)


class ApprovalRejected(StateFailure):
    def __init__(self, cause: str = "rejected") -> None:
        super().__init__("States.TaskFailed", cause)


Approver = Callable[[Engine, Doc], Doc]
Progress = Callable[[str, str], None]


def definition_path() -> Path:
    """Where the state machine definition lives: the repo's step_functions/ (or SLO_ENGINE_DEFINITION)."""
    import os

    env = os.environ.get("SLO_ENGINE_DEFINITION")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "step_functions" / DEFINITION_NAME
        if candidate.exists():
            return candidate
    packaged = here.parent / DEFINITION_NAME
    return packaged


_SUBSTITUTION = re.compile(r"\$\{[A-Za-z0-9_]+\}")


def load_definition(path: Path | None = None) -> dict[str, Any]:
    text = (path or definition_path()).read_text()
    # CDK definition_substitutions (Lambda ARNs, timeouts) are placeholders locally.
    text = re.sub(r'"\$\{([A-Za-z0-9_]*Seconds)\}"', "3600", text)
    text = re.sub(r"\$\{([A-Za-z0-9_]*Seconds)\}", "3600", text)
    text = _SUBSTITUTION.sub("local", text)
    return json.loads(text)


def _get(path: str, doc: Any, ctx: dict[str, Any]) -> Any:
    root: Any = ctx if path.startswith("$$") else doc
    rest = path[2:] if path.startswith("$$") else path[1:]
    for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", rest):
        key, index = part
        if key:
            if not isinstance(root, dict) or key not in root:
                raise StateFailure("States.Runtime", f"path {path} not found")
            root = root[key]
        else:
            root = root[int(index)]
    return root


def _resolve(template: Any, doc: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _get(value, doc, ctx) if isinstance(value, str) and value.startswith("$") else value
            else:
                out[key] = _resolve(value, doc, ctx)
        return out
    if isinstance(template, list):
        return [_resolve(v, doc, ctx) for v in template]
    return template


def _put(doc: Any, result_path: str | None, result: Any) -> Any:
    if result_path is None:
        return doc
    if result_path == "$":
        return result
    target = copy.copy(doc) if isinstance(doc, dict) else {}
    keys = result_path[2:].split(".")
    node = target
    for key in keys[:-1]:
        node[key] = dict(node.get(key) or {})
        node = node[key]
    node[keys[-1]] = result
    return target


@dataclass
class RunResult:
    doc: Doc
    states: list[str] = field(default_factory=list)
    status: str = "SUCCEEDED"
    largest_state_bytes: int = 0
    """The largest state output of the run as Step Functions would carry it (references, not artifacts)."""


class LocalOrchestrator:
    def __init__(
        self,
        engine: Engine,
        approver: Approver,
        *,
        definition: dict[str, Any] | None = None,
        progress: Progress | None = None,
        steps: dict[str, Callable[[Engine, Doc], Any]] | None = None,
    ) -> None:
        self.engine = engine
        self.approver = approver
        self.definition = definition or load_definition()
        self.progress = progress or (lambda state, phase: None)
        self.steps = steps or STEPS
        self._largest = 0

    def run(self, request: RecommendationRequest) -> RunResult:
        ctx = {"Execution": {"Id": f"local:{request.run_id}", "Name": request.run_id}, "Task": {"Token": ""}}
        result = RunResult(doc={"request": request.model_dump(mode="json")})
        self._largest = 0
        try:
            result.doc = resolve(self._artifacts, self._machine(self.definition, result.doc, ctx, result.states))
        except StateFailure as failure:
            result.status = "FAILED"
            result.doc = {**result.doc, "error": {"Error": failure.error, "Cause": failure.cause}}
        result.largest_state_bytes = self._largest
        if self._artifacts is not None:  # the document is handed back resolved: nothing reads them again
            self._artifacts.discard(request.run_id)
        return result

    @property
    def _artifacts(self) -> Any:
        return getattr(self.engine, "artifacts", None)  # unit tests drive the interpreter without an engine

    def _machine(self, machine: dict[str, Any], doc: Any, ctx: dict[str, Any], trail: list[str]) -> Any:
        name = machine["StartAt"]
        while True:
            state = machine["States"][name]
            trail.append(name)
            self.progress(name, "start")
            try:
                doc, following = self._state(name, state, doc, ctx, trail)
            except DataLimitExceeded:
                raise
            except StateFailure as failure:
                handler = next(
                    (
                        c
                        for c in state.get("Catch", [])
                        if "States.ALL" in c["ErrorEquals"] or failure.error in c["ErrorEquals"]
                    ),
                    None,
                )
                if handler is None:
                    raise
                doc = _put(doc, handler.get("ResultPath", "$"), {"Error": failure.error, "Cause": failure.cause})
                following = handler["Next"]
            self.progress(name, "end")
            if following is None:
                return doc
            name = following

    def _state(
        self, name: str, state: dict[str, Any], doc: Any, ctx: dict[str, Any], trail: list[str]
    ) -> tuple[Any, str | None]:
        kind = state["Type"]
        if kind == "Succeed":
            return doc, None
        if kind == "Fail":
            raise StateFailure(state.get("Error", "States.Fail"), state.get("Cause", name))
        if kind == "Choice":
            for rule in state.get("Choices", []):
                if self._matches(rule, doc, ctx):
                    return doc, rule["Next"]
            return doc, state["Default"]
        effective = _get(state["InputPath"], doc, ctx) if state.get("InputPath") else doc
        if kind == "Pass":
            if "Result" in state:
                result = state["Result"]
            elif "Parameters" in state:
                result = _resolve(state["Parameters"], effective, ctx)
            else:
                result = effective
        elif kind == "Parallel":
            trails: list[list[str]] = [[] for _ in state["Branches"]]
            with ThreadPoolExecutor(max_workers=len(state["Branches"])) as pool:
                futures = [
                    pool.submit(self._machine, branch, copy.deepcopy(effective), ctx, branch_trail)
                    for branch, branch_trail in zip(state["Branches"], trails, strict=True)
                ]
                result = [f.result() for f in futures]
            for branch_trail in trails:
                trail.extend(branch_trail)
        elif kind == "Task":
            result = self._task(name, state, effective, ctx)
        else:
            raise StateFailure("States.Runtime", f"state type {kind} is not supported locally")
        if "ResultSelector" in state:
            result = _resolve(state["ResultSelector"], result, ctx)
        doc = _put(doc, state.get("ResultPath", "$"), result)
        if state.get("OutputPath"):
            doc = _get(state["OutputPath"], doc, ctx)
        size = len(encoded(doc))
        self._largest = max(self._largest, size)
        if size > STATE_PAYLOAD_LIMIT_BYTES:
            raise DataLimitExceeded(name, size)
        return doc, None if state.get("End") else state.get("Next")

    def _task(self, name: str, state: dict[str, Any], effective: Any, ctx: dict[str, Any]) -> Any:
        resource = str(state.get("Resource", ""))
        task_ctx = {**ctx, "Task": {"Token": f"local-token-{uuid.uuid4().hex}"}}
        payload = effective
        if "Parameters" in state:
            params = _resolve(state["Parameters"], effective, task_ctx)
            payload = params.get("Payload", params) if isinstance(params, dict) else params
        try:
            artifacts = self._artifacts
            if resource.endswith(".waitForTaskToken"):
                # The notifier's payload carries the token; the local approver decides on the whole document.
                output = self.approver(self.engine, resolve(artifacts, effective))
            else:
                step = self.steps.get(name)
                if step is None:
                    raise StateFailure("States.Runtime", f"no core step for task state {name}")
                # As the Lambdas do (lambda_steps.run_state): references resolved in, a large result stored out.
                output = step(self.engine, resolve(artifacts, payload))
                output = offload(artifacts, run_id_of(payload), name, output)
        except StateFailure:
            raise
        except Exception as error:  # a Lambda error surfaces as its exception name, like Lambda does
            raise StateFailure(type(error).__name__, str(error)) from error
        if resource.startswith("arn:aws:states:::lambda:invoke") and not resource.endswith(".waitForTaskToken"):
            return {"Payload": output, "StatusCode": 200}
        return output

    def _matches(self, rule: dict[str, Any], doc: Any, ctx: dict[str, Any]) -> bool:
        if "And" in rule:
            return all(self._matches(r, doc, ctx) for r in rule["And"])
        if "Or" in rule:
            return any(self._matches(r, doc, ctx) for r in rule["Or"])
        if "Not" in rule:
            return not self._matches(rule["Not"], doc, ctx)
        try:
            value = _get(rule["Variable"], doc, ctx)
        except StateFailure:
            return rule.get("IsPresent") is False
        if "IsPresent" in rule:
            return bool(rule["IsPresent"])
        for op, expected in rule.items():
            if op in ("StringEquals", "NumericEquals", "BooleanEquals"):
                return bool(value == expected)
        return False
