"""KnowledgeStack: signed runbook webhooks -> runbook-change queue (with DLQ) -> indexer Lambda -> OpenSearch
Serverless vector collection, and the secrets they use (webhook signing secrets, repository tokens). The indexer also
stores each service's documents (state stack bucket) and announces them on the discovery stack's service-change bus.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.python_function import EngineLayers
from cdk.constructs.runbook_indexer import RunbookIndexer
from cdk.constructs.service_documents_store import ServiceDocumentsStore
from cdk.constructs.state_tables import StateTables
from cdk.constructs.vector_collection import VectorCollection
from cdk.constructs.webhook_api import WebhookApi


class KnowledgeStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        tables: StateTables,
        service_documents: ServiceDocumentsStore,
        service_change_bus: events.IEventBus,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description="SLO engine knowledge: runbook webhooks and index", env=env)
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        layers = EngineLayers(self, "Layers", config=config)

        self.github_webhook_secret = secretsmanager.Secret(
            self,
            "GithubWebhookSecret",
            description="GitHub webhook secret: paste this value into the repository's webhook settings",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=48),
            removal_policy=removal,
        )
        self.bitbucket_webhook_secret = secretsmanager.Secret(
            self,
            "BitbucketWebhookSecret",
            description="Bitbucket webhook secret: paste this value into the repository's webhook settings",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=48),
            removal_policy=removal,
        )
        self.repository_tokens = secretsmanager.Secret(
            self,
            "RepositoryTokens",
            description='Read-only repository tokens: replace with {"github_token": ..., "bitbucket_token": ...}',
            removal_policy=removal,
        )
        for secret, why in (
            (self.github_webhook_secret, "the same value is configured in GitHub, which Secrets Manager cannot update"),
            (
                self.bitbucket_webhook_secret,
                "the same value is configured in Bitbucket, which Secrets Manager cannot update",
            ),
            (self.repository_tokens, "the tokens are issued by GitHub / Bitbucket and rotated there by their owner"),
        ):
            nag.secret_rotated_outside_aws(secret, why)

        self.collection = VectorCollection(self, "RunbookCollection", config=config)
        self.indexer = RunbookIndexer(
            self,
            "RunbookIndexer",
            config=config,
            layers=layers,
            tables=tables,
            collection=self.collection,
            repository_tokens=self.repository_tokens,
            service_documents=service_documents,
            service_change_bus=service_change_bus,
        )
        self.webhooks = WebhookApi(
            self,
            "Webhooks",
            config=config,
            layers=layers,
            tables=tables,
            runbook_queue=self.indexer.changes.queue,
            github_secret=self.github_webhook_secret,
            bitbucket_secret=self.bitbucket_webhook_secret,
            repository_tokens=self.repository_tokens,
        )
        cdk.CfnOutput(self, "WebhookUrl", value=self.webhooks.url, description="Base URL of the runbook webhooks")
