"""The snapshot store: a versioned, encrypted, TLS-only S3 bucket of snapshot batches, with server access logs in a
second bucket that expires them after 90 days.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.config import DeploymentConfig
from cdk.constructs.private_bucket import logged_private_bucket


class SnapshotStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        self.bucket, self.access_logs = logged_private_bucket(
            self,
            "Snapshots",
            removal=removal,
            log_prefix="snapshots/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=cdk.Duration.days(30)
                        )
                    ],
                )
            ],
        )
