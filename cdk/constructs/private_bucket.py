"""The engine's buckets: S3-managed encryption, TLS only, no public access, owner-enforced objects, versioned,
with server access logs in a second bucket that expires them after 90 days."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk import nag

ACCESS_LOG_DAYS = 90


def logged_private_bucket(
    scope: Construct,
    bucket_id: str,
    *,
    removal: cdk.RemovalPolicy,
    log_prefix: str,
    lifecycle_rules: Sequence[s3.LifecycleRule],
) -> tuple[s3.Bucket, s3.Bucket]:
    """(the bucket, its access-log bucket), both children of ``scope`` (ids ``bucket_id`` and ``AccessLogs``)."""
    access_logs = s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(ACCESS_LOG_DAYS))],
        removal_policy=removal,
    )
    nag.access_log_bucket(access_logs)
    bucket = s3.Bucket(
        scope,
        bucket_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        lifecycle_rules=list(lifecycle_rules),
        removal_policy=removal,
    )
    return bucket, access_logs
