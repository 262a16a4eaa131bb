"""ApiStack: the engine's REST API (throttled, WAF-protected, IAM-authorized service routes, usage plan and API keys)
and the approval-link callback that resumes the recommendation workflow.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.config import DeploymentConfig
from cdk.constructs.approval_channels import ApprovalChannels
from cdk.constructs.engine_api import EngineApi
from cdk.constructs.python_function import EngineLayers
from cdk.constructs.service_documents_store import RunArtifactsStore
from cdk.constructs.state_tables import StateTables


class ApiStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        tables: StateTables,
        state_machine: sfn.IStateMachine,
        approval_channels: ApprovalChannels,
        run_artifacts: RunArtifactsStore,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description="SLO engine API: REST API and approval links", env=env)
        layers = EngineLayers(self, "Layers", config=config)
        self.api = EngineApi(
            self,
            "EngineApi",
            config=config,
            layers=layers,
            tables=tables,
            state_machine=state_machine,
            channels=approval_channels,
            run_artifacts=run_artifacts,
        )
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the SLO engine API")
        for team, key in self.api.api_keys.items():
            cdk.CfnOutput(self, f"ApiKeyId{team.replace('-', '')}", value=key.key_id, description=f"{team} API key id")
