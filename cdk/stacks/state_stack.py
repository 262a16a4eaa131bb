"""StateStack: the DynamoDB tables every other stage reads and writes, the service-documents bucket (written by the
knowledge stack's indexer, read by the discovery stack's structural mapping), and the account-level API Gateway logging
role that the REST API stages of the knowledge and API stacks rely on.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from cdk.config import DeploymentConfig
from cdk.constructs.api_gateway_account import ApiGatewayAccountLogging
from cdk.constructs.service_documents_store import RunArtifactsStore, ServiceDocumentsStore
from cdk.constructs.state_tables import StateTables


class StateStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, env: cdk.Environment | None = None
    ) -> None:
        super().__init__(scope, construct_id, description="SLO engine state: DynamoDB tables", env=env)
        self.tables = StateTables(self, "Tables", config=config)
        self.service_documents = ServiceDocumentsStore(self, "ServiceDocuments", config=config)
        self.run_artifacts = RunArtifactsStore(self, "RunArtifacts", config=config)
        self.api_gateway_logging = (
            ApiGatewayAccountLogging(self, "ApiGatewayAccountLogging")
            if config.api.manage_account_cloudwatch_role
            else None
        )
