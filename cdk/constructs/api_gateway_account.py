"""API Gateway's account-wide CloudWatch Logs role, which every REST API stage needs for access and execution logs.

There is one such setting per account and region; turn it off in cdk.json (api.manage_account_cloudwatch_role) where
another stack already manages it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk import nag

_LOG_ACTIONS = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
]


class ApiGatewayAccountLogging(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway account-wide role that writes REST API access and execution logs",
            inline_policies={
                "PushToCloudWatchLogs": iam.PolicyDocument(
                    statements=[iam.PolicyStatement(actions=_LOG_ACTIONS, resources=["*"])]
                )
            },
        )
        self.role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.account = apigateway.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        nag.api_gateway_account_logging_role(self.role)
