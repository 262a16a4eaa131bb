"""The public runbook webhook endpoint: POST /webhooks/github and /webhooks/bitbucket on a throttled, WAF-protected
REST API, a Lambda that verifies the HMAC signature and queues one message per changed runbook file.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.logged_rest_api import LoggedRestApi
from cdk.constructs.python_function import EngineFunction, EngineLayers
from cdk.constructs.state_tables import StateTables
from cdk.permissions import grant_secret_read

WEBHOOK_ROUTES = {"/webhooks/github": "X-Hub-Signature-256", "/webhooks/bitbucket": "X-Hub-Signature"}


class WebhookApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: EngineLayers,
        tables: StateTables,
        runbook_queue: sqs.IQueue,
        github_secret: secretsmanager.ISecret,
        bitbucket_secret: secretsmanager.ISecret,
        repository_tokens: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        knowledge = config.knowledge
        self.handler = EngineFunction(
            self,
            "Handler",
            handler_folder="webhook",
            description="Verifies GitHub / Bitbucket webhook signatures and queues changed runbook files",
            config=config,
            layers=layers,
            timeout=cdk.Duration.seconds(10),
            environment={
                "SLO_ENGINE_RUNBOOK_QUEUE_URL": runbook_queue.queue_url,
                "SLO_ENGINE_RUNBOOK_GLOBS": json.dumps(list(knowledge.runbook_globs)),
                "SLO_ENGINE_WEBHOOK_MAX_BODY_BYTES": str(knowledge.webhook_max_body_bytes),
                "SLO_ENGINE_GITHUB_WEBHOOK_SECRET_ARN": github_secret.secret_arn,
                "SLO_ENGINE_BITBUCKET_WEBHOOK_SECRET_ARN": bitbucket_secret.secret_arn,
                "SLO_ENGINE_REPOSITORY_TOKENS_SECRET_ARN": repository_tokens.secret_arn,
                tables.idempotency.environment_variable: tables.idempotency.table.table_name,
            },
        )
        runbook_queue.grant_send_messages(self.handler.role)
        grant_secret_read(self.handler.role, github_secret, bitbucket_secret, repository_tokens)
        tables.idempotency.grant(self.handler.role, "read_write")

        self.rest_api = LoggedRestApi(
            self,
            "Api",
            config=config,
            description="Runbook webhooks from GitHub and Bitbucket (HMAC-signed deliveries)",
            stage_throttle=knowledge.webhook_throttle,
            waf_metric_prefix="Webhooks",
        )
        integration = apigateway.LambdaIntegration(self.handler.function)
        for path, signature_header in WEBHOOK_ROUTES.items():
            method = self.rest_api.add_method(
                path, "POST", integration, authorization_type=apigateway.AuthorizationType.NONE
            )
            nag.signed_route_without_iam(method, f"the provider's HMAC-SHA256 signature ({signature_header})")

    @property
    def url(self) -> str:
        return self.rest_api.api.url
