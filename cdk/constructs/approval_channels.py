"""How a human is asked to decide: an SNS topic (KMS-encrypted, TLS-only) for email, a Slack secret (incoming webhook
URL and signing secret), the HMAC key that signs approval links, and the SSM parameter name of the links' base URL.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.permissions import grant_parameter_read, grant_secret_read


class ApprovalChannels(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"{config.project_name} {config.environment}: encrypts approval notifications",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.topic = sns.Topic(self, "Topic", display_name="SLO approvals", master_key=self.key, enforce_ssl=True)
        if config.reasoning.approval_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.reasoning.approval_email))
        self.slack = secretsmanager.Secret(
            self,
            "Slack",
            description='Slack approvals: replace with {"webhook_url": ..., "signing_secret": ...}',
            removal_policy=removal,
        )
        nag.secret_rotated_outside_aws(
            self.slack, "the incoming webhook URL and signing secret are issued by Slack and rotated in Slack"
        )
        self.link_signing_key = secretsmanager.Secret(
            self,
            "LinkSigningKey",
            description="HMAC-SHA256 key that signs and verifies approval links",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=64),
            removal_policy=removal,
        )
        nag.secret_rotated_outside_aws(
            self.link_signing_key,
            "rotating it invalidates every approval link in flight; it is rotated by hand between approval rounds "
            "(links expire after approval_link_ttl_seconds).",
        )
        # Written by the API stack (which knows the URL) and read at run time: no CloudFormation reference, no cycle.
        self.base_url_parameter_name = f"{config.parameter_prefix}/approval-base-url"

    def grant_notify(self, grantee: iam.IGrantable) -> None:
        """Publish to the topic, read the Slack and signing secrets and the links' base URL."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn])
        )
        grant_secret_read(grantee, self.slack, self.link_signing_key)
        grant_parameter_read(grantee, self, self.base_url_parameter_name)

    @property
    def environment(self) -> dict[str, str]:
        return {
            "SLO_ENGINE_APPROVAL_TOPIC_ARN": self.topic.topic_arn,
            "SLO_ENGINE_SLACK_SECRET_ARN": self.slack.secret_arn,
            "SLO_ENGINE_APPROVAL_SIGNING_SECRET_ARN": self.link_signing_key.secret_arn,
            "SLO_ENGINE_APPROVAL_BASE_URL_PARAMETER": self.base_url_parameter_name,
        }
