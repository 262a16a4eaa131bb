"""ReasoningStack: the Step Functions recommendation workflow and its Lambdas, the approval channels (SNS email,
Slack, signed links) and the bus that carries SLOApproved events.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.config import DeploymentConfig
from cdk.constructs.approval_channels import ApprovalChannels
from cdk.constructs.prometheus_workspace import PrometheusWorkspace
from cdk.constructs.python_function import EngineLayers
from cdk.constructs.recommendation_workflow import RecommendationWorkflow
from cdk.constructs.service_documents_store import RunArtifactsStore
from cdk.constructs.state_tables import StateTables
from cdk.constructs.vector_collection import VectorCollection


class ReasoningStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        tables: StateTables,
        prometheus: PrometheusWorkspace,
        neo4j_credentials: secretsmanager.ISecret,
        runbook_collection: VectorCollection,
        run_artifacts: RunArtifactsStore,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description="SLO engine reasoning: workflow, agents, approval", env=env)
        layers = EngineLayers(self, "Layers", config=config)
        self.recommendation_events = events.EventBus(
            self, "RecommendationEvents", description="SLOApproved and other recommendation lifecycle events"
        )
        self.approval_channels = ApprovalChannels(self, "ApprovalChannels", config=config)
        self.workflow = RecommendationWorkflow(
            self,
            "Workflow",
            config=config,
            layers=layers,
            tables=tables,
            channels=self.approval_channels,
            recommendation_events=self.recommendation_events,
            prometheus_arn=prometheus.arn,
            prometheus_endpoint=prometheus.endpoint,
            neo4j_credentials=neo4j_credentials,
            runbook_collection=runbook_collection,
            run_artifacts=run_artifacts,
        )
        cdk.CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
