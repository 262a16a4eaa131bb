"""DiscoveryStack: the scheduled Cloud Map poller, the service-change event bus, the structural-mapping Lambda it
triggers, and the Neo4j credentials secret that the mapping and the Relationship Discovery agent read.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.python_function import EngineLayers
from cdk.constructs.service_discovery import ServiceDiscovery
from cdk.constructs.service_documents_store import ServiceDocumentsStore
from cdk.constructs.state_tables import StateTables


class DiscoveryStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        tables: StateTables,
        service_documents: ServiceDocumentsStore,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description="SLO engine discovery: registry poller, events", env=env)
        self.neo4j_credentials = secretsmanager.Secret(
            self,
            "Neo4jCredentials",
            description="Neo4j connection: {uri, username, password}; set the same password in the database",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(
                    {"uri": config.discovery.neo4j_uri, "username": config.discovery.neo4j_username}
                ),
                generate_string_key="password",
                exclude_punctuation=True,
                password_length=32,
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY,
        )
        nag.secret_rotated_outside_aws(
            self.neo4j_credentials,
            "the password lives in the Neo4j database (self-hosted or Aura), outside AWS; rotating it needs Neo4j "
            "admin access, so it is rotated with the database's own procedure and written back here.",
        )
        layers = EngineLayers(self, "Layers", config=config)
        self.discovery = ServiceDiscovery(
            self,
            "ServiceDiscovery",
            config=config,
            layers=layers,
            tables=tables,
            neo4j_credentials=self.neo4j_credentials,
            service_documents=service_documents,
        )
