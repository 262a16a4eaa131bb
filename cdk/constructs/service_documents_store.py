"""The service-documents store: an encrypted, TLS-only, versioned S3 bucket of each service's documents (the runbook
indexer writes ``service-docs/<service>/<digest>.txt``, the structural mapping reads them), with server access logs
in a second bucket that expires them after 90 days. Both grants are limited to the ``service-docs/`` prefix.

Other stacks reach the bucket through two named outputs of its stack (``Fn::GetStackOutput``, like the app's other
weak cross-stack references, but with fixed names), so that the one wildcard their roles need (the objects under the
prefix) has a stable cdk-nag finding id that can be acknowledged exactly.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.private_bucket import logged_private_bucket
from slo_engine.adapters.aws.service_documents import BUCKET_VARIABLE, PREFIX

NONCURRENT_VERSION_DAYS = 30
ARN_OUTPUT = "ServiceDocumentsBucketArn"
NAME_OUTPUT = "ServiceDocumentsBucketName"


class ServiceDocumentsStore(Construct):
    environment_variable = BUCKET_VARIABLE
    prefix = PREFIX

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        self.bucket, self.access_logs = logged_private_bucket(
            self,
            "Documents",
            removal=removal,
            log_prefix="service-docs/",
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS))
            ],
        )
        for output_id, value, description in (
            (ARN_OUTPUT, self.bucket.bucket_arn, "ARN of the service-documents bucket"),
            (NAME_OUTPUT, self.bucket.bucket_name, "Name of the service-documents bucket"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description).override_logical_id(output_id)

    def _output(self, scope: Construct, output_name: str, value: str) -> str:
        """``value`` in the bucket's stack; elsewhere the named output (the consumer then deploys after it)."""
        producer, consumer = cdk.Stack.of(self), cdk.Stack.of(scope)
        if producer is consumer:
            return value
        consumer.add_stack_dependency(producer, "reads the service-documents bucket outputs")
        return cdk.Fn.get_stack_output(producer.stack_name, output_name)

    def bucket_name_for(self, scope: Construct) -> str:
        return self._output(scope, NAME_OUTPUT, self.bucket.bucket_name)

    def bucket_arn_for(self, scope: Construct) -> str:
        return self._output(scope, ARN_OUTPUT, self.bucket.bucket_arn)

    def _grant(self, role: iam.Role, actions: list[str], purpose: str) -> None:
        bucket_arn = self.bucket_arn_for(role)
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[f"{bucket_arn}/{self.prefix}/*"]))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{self.prefix}/*"]}},
            )
        )
        producer = cdk.Stack.of(self)
        token = (
            nag.arn_token(self.bucket)
            if producer is cdk.Stack.of(role)
            else json.dumps(
                {"Fn::GetStackOutput": {"StackName": producer.stack_name, "OutputName": ARN_OUTPUT}},
                separators=(",", ":"),
            )
        )
        nag.objects_under_arn_prefix(role, token, self.prefix, purpose)

    def grant_write(self, role: iam.Role) -> None:
        """Put and delete documents, and list them (to find the services that hold a file)."""
        self._grant(role, ["s3:PutObject", "s3:DeleteObject"], "<prefix>/<service>/<digest of repository:path>.txt")

    def grant_read(self, role: iam.Role) -> None:
        self._grant(role, ["s3:GetObject"], "<prefix>/<service>/<digest of repository:path>.txt")
