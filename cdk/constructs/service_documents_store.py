"""Buckets the State stack keeps for the other stacks, each used under one key prefix:

- the service-documents store: each service's documents (the runbook indexer writes
  ``service-docs/<service>/<digest>.txt``, the structural mapping reads them);
- the run-artifacts store: the large parts of a recommendation run's state document (``runs/<run id>/<state>-
  <digest>.json``, written and read by the workflow's Lambdas, read by the API), kept past the longest approval wait.

Each is encrypted, TLS-only and versioned, with server access logs in a second bucket that expires them after 90 days;
every grant is limited to the bucket's prefix. Other stacks reach a bucket through two named outputs of its stack
(``Fn::GetStackOutput``, like the app's other weak cross-stack references, but with fixed names), so that the one
wildcard their roles need (the objects under the prefix) has a stable cdk-nag finding id that can be acknowledged
exactly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.private_bucket import logged_private_bucket
from slo_engine.adapters.aws import run_artifacts, service_documents

NONCURRENT_VERSION_DAYS = 30
ARN_OUTPUT = "ServiceDocumentsBucketArn"
NAME_OUTPUT = "ServiceDocumentsBucketName"
RUN_ARTIFACT_DAYS_PAST_APPROVAL = 30
"""Run artifacts outlive the longest approval wait by this much, so a run read back through the API is whole."""


class SharedPrefixBucket(Construct):
    """One bucket, one key prefix, an environment variable that names it to the Lambdas, and prefix-bound grants."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        bucket_id: str,
        prefix: str,
        environment_variable: str,
        output_prefix: str,
        key_shape: str,
        lifecycle_rules: Sequence[s3.LifecycleRule],
    ) -> None:
        super().__init__(scope, construct_id)
        self.prefix = prefix
        self.environment_variable = environment_variable
        self.key_shape = key_shape
        self.arn_output, self.name_output = f"{output_prefix}BucketArn", f"{output_prefix}BucketName"
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        self.bucket, self.access_logs = logged_private_bucket(
            self, bucket_id, removal=removal, log_prefix=f"{prefix}/", lifecycle_rules=lifecycle_rules
        )
        for output_id, value, description in (
            (self.arn_output, self.bucket.bucket_arn, f"ARN of the {prefix} bucket"),
            (self.name_output, self.bucket.bucket_name, f"Name of the {prefix} bucket"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description).override_logical_id(output_id)

    def _output(self, scope: Construct, output_name: str, value: str) -> str:
        """``value`` in the bucket's stack; elsewhere the named output (the consumer then deploys after it)."""
        producer, consumer = cdk.Stack.of(self), cdk.Stack.of(scope)
        if producer is consumer:
            return value
        consumer.add_stack_dependency(producer, f"reads the {self.prefix} bucket outputs")
        return cdk.Fn.get_stack_output(producer.stack_name, output_name)

    def bucket_name_for(self, scope: Construct) -> str:
        return self._output(scope, self.name_output, self.bucket.bucket_name)

    def bucket_arn_for(self, scope: Construct) -> str:
        return self._output(scope, self.arn_output, self.bucket.bucket_arn)

    def _grant(self, role: iam.IRole, actions: list[str]) -> None:
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
                {"Fn::GetStackOutput": {"StackName": producer.stack_name, "OutputName": self.arn_output}},
                separators=(",", ":"),
            )
        )
        nag.objects_under_arn_prefix(role, token, self.prefix, self.key_shape)

    def grant_read(self, role: iam.IRole) -> None:
        self._grant(role, ["s3:GetObject"])


class ServiceDocumentsStore(SharedPrefixBucket):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            bucket_id="Documents",
            prefix=service_documents.PREFIX,
            environment_variable=service_documents.BUCKET_VARIABLE,
            output_prefix="ServiceDocuments",
            key_shape="<prefix>/<service>/<digest of repository:path>.txt",
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS))
            ],
        )

    def grant_write(self, role: iam.IRole) -> None:
        """Put and delete documents, and list them (to find the services that hold a file)."""
        self._grant(role, ["s3:PutObject", "s3:DeleteObject"])


class RunArtifactsStore(SharedPrefixBucket):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        retention_days = math.ceil(config.reasoning.approval_timeout_seconds / 86_400) + RUN_ARTIFACT_DAYS_PAST_APPROVAL
        super().__init__(
            scope,
            construct_id,
            config=config,
            bucket_id="Artifacts",
            prefix=run_artifacts.PREFIX,
            environment_variable=run_artifacts.BUCKET_VARIABLE,
            output_prefix="RunArtifacts",
            key_shape="<prefix>/<run id>/<state>-<digest>.json",
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                )
            ],
        )
        self.retention_days = retention_days

    def grant_read_write(self, role: iam.IRole) -> None:
        """Read what earlier states stored and store this state's large result (content-addressed: no deletes)."""
        self._grant(role, ["s3:GetObject", "s3:PutObject"])
