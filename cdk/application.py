"""Builds the whole CDK app: reads cdk.json (so ``python app.py`` and ``cdk synth`` see the same context), validates
the deployment config, composes the stacks in pipeline order and enables the cdk-nag AwsSolutions checks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from cdk import nag
from cdk.config import CONTEXT_KEY, DeploymentConfig
from cdk.stacks.api_stack import ApiStack
from cdk.stacks.discovery_stack import DiscoveryStack
from cdk.stacks.ingestion_stack import IngestionStack
from cdk.stacks.knowledge_stack import KnowledgeStack
from cdk.stacks.reasoning_stack import ReasoningStack
from cdk.stacks.state_stack import StateStack

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = REPO_ROOT / "cdk.json"
DEFAULT_OUTDIR = "cdk.out"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` of cdk.json: feature flags and the ``slo-engine`` deployment config."""
    context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    if not isinstance(context, dict):
        raise ValueError(f"{path}: 'context' must be an object")
    return context


def build_app(outdir: str | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    """Create the app with every stack. ``context`` defaults to cdk.json's; the CDK CLI's ``-c`` values win over it."""
    app = cdk.App(
        outdir=outdir or os.environ.get("CDK_OUTDIR") or DEFAULT_OUTDIR,
        context=cdk_json_context() if context is None else context,
    )
    config = DeploymentConfig.from_context(app.node.try_get_context(CONTEXT_KEY))
    environment = cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    )
    prefix = config.stack_prefix

    state = StateStack(app, f"{prefix}-State", config=config, env=environment)
    ingestion = IngestionStack(app, f"{prefix}-Ingestion", config=config, tables=state.tables, env=environment)
    discovery = DiscoveryStack(
        app,
        f"{prefix}-Discovery",
        config=config,
        tables=state.tables,
        service_documents=state.service_documents,
        env=environment,
    )
    knowledge = KnowledgeStack(
        app,
        f"{prefix}-Knowledge",
        config=config,
        tables=state.tables,
        service_documents=state.service_documents,
        service_change_bus=discovery.discovery.bus,
        env=environment,
    )
    reasoning = ReasoningStack(
        app,
        f"{prefix}-Reasoning",
        config=config,
        tables=state.tables,
        prometheus=ingestion.prometheus,
        neo4j_credentials=discovery.neo4j_credentials,
        runbook_collection=knowledge.collection,
        run_artifacts=state.run_artifacts,
        env=environment,
    )
    api = ApiStack(
        app,
        f"{prefix}-Api",
        config=config,
        tables=state.tables,
        state_machine=reasoning.workflow.state_machine,
        approval_channels=reasoning.approval_channels,
        run_artifacts=state.run_artifacts,
        env=environment,
    )
    for stack_with_rest_api in (knowledge, api):
        stack_with_rest_api.add_stack_dependency(state, "REST API stages need API Gateway's account logging role")

    for stack in app.node.children:
        if isinstance(stack, cdk.Stack):
            cdk.Tags.of(stack).add("project", config.project_name)
            cdk.Tags.of(stack).add("environment", config.environment)
    nag.enable_aws_solutions_checks(app)
    return app
