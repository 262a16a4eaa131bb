"""An Amazon Managed Service for Prometheus workspace: the snapshot sink remote-writes to it (SigV4) and the metric
discovery and safety agents query it with PromQL.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_aps as aps
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk.config import DeploymentConfig

QUERY_ACTIONS = ["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"]


class PrometheusWorkspace(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.workspace = aps.CfnWorkspace(self, "Workspace", alias=f"{config.project_name}-{config.environment}")
        self.workspace.apply_removal_policy(
            cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        )

    @property
    def arn(self) -> str:
        return self.workspace.attr_arn

    @property
    def endpoint(self) -> str:
        """The workspace URL ending in '/', e.g. https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-.../"""
        return self.workspace.attr_prometheus_endpoint

    @property
    def remote_write_url(self) -> str:
        return cdk.Fn.join("", [self.endpoint, "api/v1/remote_write"])

    def grant_remote_write(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["aps:RemoteWrite"], resources=[self.arn])
        )

    def grant_query(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=QUERY_ACTIONS, resources=[self.arn])
        )
