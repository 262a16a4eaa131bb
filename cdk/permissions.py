"""Least-privilege IAM statements the constructs share: Bedrock models by id, OpenSearch Serverless collections,
SSM parameters and Secrets Manager secrets, each scoped to named resources (no wildcards).
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


def foundation_model_arn(scope: Construct, model_id: str) -> str:
    return cdk.Stack.of(scope).format_arn(
        service="bedrock", account="", resource="foundation-model", resource_name=model_id
    )


def grant_bedrock_invoke(grantee: iam.IGrantable, scope: Construct, model_ids: Iterable[str]) -> None:
    """InvokeModel / Converse (and their streaming forms) on the configured foundation models only."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            resources=[foundation_model_arn(scope, model_id) for model_id in dict.fromkeys(model_ids)],
        )
    )


def grant_collection_access(grantee: iam.IGrantable, collection_arn: str) -> None:
    """The IAM half of OpenSearch Serverless access; the data access policy of the collection is the other half."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["aoss:APIAccessAll"], resources=[collection_arn])
    )


def parameter_arn(scope: Construct, parameter_name: str) -> str:
    return cdk.Stack.of(scope).format_arn(service="ssm", resource="parameter", resource_name=parameter_name.lstrip("/"))


def grant_parameter_read(grantee: iam.IGrantable, scope: Construct, parameter_name: str) -> None:
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[parameter_arn(scope, parameter_name)])
    )


def grant_secret_read(grantee: iam.IGrantable, *secrets: secretsmanager.ISecret) -> None:
    for secret in secrets:
        secret.grant_read(grantee)
