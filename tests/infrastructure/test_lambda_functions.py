"""Every Lambda follows the defaults (ARM64, active tracing, the core and dependency layers, its own role and log group,
Powertools settings) and deploys a handler folder that keeps its contract with the core and the state machine."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from cloud_assembly import INFRASTRUCTURE, REPO_ROOT, CloudAssembly
from template_queries import function_role_id, functions_by_folder, handler_folder

from cdk.constructs.python_function import CORE_LAYER_DESCRIPTION, DEPENDENCIES_LAYER_DESCRIPTION

pytestmark = INFRASTRUCTURE

LAMBDAS_DIR = REPO_ROOT / "lambdas"
ADAPTER_FOLDERS = {
    "snapshot_sink",
    "discovery_poller",
    "structural_mapping",
    "webhook",
    "runbook_indexer",
    "approval_callback",
    "api",
}


def _functions(assembly: CloudAssembly) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(stack name, template, function resource) for every function of the app."""
    return [
        (stack, template, resource)
        for stack, template in assembly.templates.items()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]


def _module(folder: str) -> ast.Module:
    return ast.parse((LAMBDAS_DIR / folder / "handler.py").read_text(encoding="utf-8"))


def _constant(module: ast.Module, name: str) -> Any:
    for node in module.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def test_the_app_deploys_all_twenty_functions(assembly: CloudAssembly) -> None:
    assert len(_functions(assembly)) == 20


def test_every_function_is_arm64_with_active_tracing_on_the_configured_runtime(assembly: CloudAssembly) -> None:
    runtime = f"python{assembly.config.lambda_defaults.python_version}"
    for stack, _, function in _functions(assembly):
        properties = function["Properties"]
        name = f"{stack}/{handler_folder(function)}"
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["Runtime"] == runtime, name


def test_every_function_has_the_core_layer_and_the_dependency_layer(assembly: CloudAssembly) -> None:
    for stack, template, function in _functions(assembly):
        layers = {
            template["Resources"][layer["Ref"]]["Properties"]["Description"]
            for layer in function["Properties"]["Layers"]
        }
        assert layers == {CORE_LAYER_DESCRIPTION, DEPENDENCIES_LAYER_DESCRIPTION}, f"{stack}/{handler_folder(function)}"


def test_every_function_has_its_own_role_and_its_own_log_group_with_retention(assembly: CloudAssembly) -> None:
    roles, log_groups = set(), set()
    for stack, template, function in _functions(assembly):
        role = (stack, function_role_id(function))
        log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert role not in roles and (stack, log_group_id) not in log_groups
        roles.add(role)
        log_groups.add((stack, log_group_id))
        assert template["Resources"][log_group_id]["Properties"]["RetentionInDays"] > 0
        assert "ManagedPolicyArns" not in template["Resources"][role[1]]["Properties"]


def test_every_function_sets_the_powertools_service_and_namespace(assembly: CloudAssembly) -> None:
    for _, _, function in _functions(assembly):
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == handler_folder(function)
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == assembly.config.metrics_namespace


def test_every_handler_folder_is_deployed_exactly_once_with_a_lambda_handler(assembly: CloudAssembly) -> None:
    deployed = [handler_folder(function) for _, _, function in _functions(assembly)]
    folders = sorted(p.name for p in LAMBDAS_DIR.iterdir() if (p / "handler.py").is_file())
    assert sorted(deployed) == folders
    for folder in folders:
        defined = {n.name for n in _module(folder).body if isinstance(n, ast.FunctionDef)}
        assert "lambda_handler" in defined, folder
    for _, _, function in _functions(assembly):
        assert function["Properties"]["Handler"] == "handler.lambda_handler"


def test_each_workflow_handler_runs_the_state_that_invokes_it(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Reasoning")]
    machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    definition_text = (REPO_ROOT / "step_functions" / "recommendation.asl.json").read_text(encoding="utf-8")
    by_placeholder = {
        key: value["Fn::GetAtt"][0]
        for key, value in machine["Properties"]["DefinitionSubstitutions"].items()
        if isinstance(value, dict)
    }
    folder_of = {logical_id: folder for folder, (logical_id, _) in functions_by_folder(template).items()}
    invoked_by: dict[str, str] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            target = json.dumps({k: v for k, v in state.items() if k in ("Resource", "Parameters")})
            for placeholder in re.findall(r"\$\{(\w+FunctionArn)\}", target):
                invoked_by[folder_of[by_placeholder[placeholder]]] = name
            for branch in state.get("Branches", []):
                walk(branch["States"])

    definition = json.loads(re.sub(r"\$\{(\w+Seconds)\}", "1", definition_text))
    walk(definition["States"])
    assert len(invoked_by) == 12
    for folder, state in invoked_by.items():
        assert _constant(_module(folder), "STATE_NAME") == state, folder


def test_adapter_handlers_import_their_core_entrypoint_lazily(assembly: CloudAssembly) -> None:
    deployed = {handler_folder(function) for _, _, function in _functions(assembly)}
    assert deployed >= ADAPTER_FOLDERS
    for folder in ADAPTER_FOLDERS:
        module = _module(folder)
        assert _constant(module, "ENTRYPOINT_MODULE") == f"slo_engine.entrypoints.{folder}"
        top_level_imports = {
            node.module for node in module.body if isinstance(node, ast.ImportFrom) and node.module is not None
        } | {alias.name for node in module.body if isinstance(node, ast.Import) for alias in node.names}
        # Only the loader (slo_engine.entrypoints, stdlib-only) at import time; the entrypoint itself lazily.
        eager = {name for name in top_level_imports if name.startswith("slo_engine")} - {"slo_engine.entrypoints"}
        assert not eager, folder
