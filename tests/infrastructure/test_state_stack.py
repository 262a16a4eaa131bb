"""StateStack: every table is on-demand, point-in-time recoverable and encrypted; the indexes and TTLs the engine's
stores rely on exist."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from cloud_assembly import INFRASTRUCTURE, CloudAssembly

pytestmark = INFRASTRUCTURE


def _tables(assembly: CloudAssembly) -> dict[str, dict]:
    return assembly.resources("AWS::DynamoDB::Table", "State")


def _table(assembly: CloudAssembly, construct_name: str) -> dict:
    matches = [table for logical_id, table in _tables(assembly).items() if f"Tables{construct_name}" in logical_id]
    assert len(matches) == 1, f"expected one {construct_name} table, found {len(matches)}"
    return matches[0]


def test_state_stack_has_the_eight_engine_tables(assembly: CloudAssembly) -> None:
    assembly.template("State").resource_count_is("AWS::DynamoDB::Table", 8)


def test_every_table_is_on_demand_recoverable_and_encrypted(assembly: CloudAssembly) -> None:
    for name, table in _tables(assembly).items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert properties["SSESpecification"]["SSEEnabled"] is True, name


@pytest.mark.parametrize("table", ["Recommendations", "Approvals"])
def test_recommendations_and_approvals_are_indexed_by_service_and_by_status(
    assembly: CloudAssembly, table: str
) -> None:
    indexes = {index["IndexName"]: index for index in _table(assembly, table)["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes["by-service"]["KeySchema"][0] == {"AttributeName": "service", "KeyType": "HASH"}
    assert indexes["by-status"]["KeySchema"][0] == {"AttributeName": "status", "KeyType": "HASH"}


def test_idempotency_table_uses_powertools_key_and_ttl_attributes(assembly: CloudAssembly) -> None:
    properties = _table(assembly, "Idempotency")["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_audit_log_is_protected_from_deletion_and_never_expires(assembly: CloudAssembly) -> None:
    properties = _table(assembly, "AuditLog")["Properties"]
    assert properties["DeletionProtectionEnabled"] is True
    assert "TimeToLiveSpecification" not in properties


def test_api_gateway_account_logging_role_is_set_without_managed_policies(assembly: CloudAssembly) -> None:
    template = assembly.template("State")
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": Match.absent(),
        },
    )


def test_service_documents_bucket_is_encrypted_tls_only_private_versioned_and_logged(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("State")]
    buckets = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"}
    (documents_id,) = [k for k in buckets if k.startswith("ServiceDocuments") and "AccessLogs" not in k]
    (logs_id,) = [k for k in buckets if k.startswith("ServiceDocumentsAccessLogs")]
    documents = buckets[documents_id]["Properties"]
    assert documents["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert documents["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert documents["VersioningConfiguration"] == {"Status": "Enabled"}
    assert documents["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    assembly.template("State").has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": documents_id},
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                    )
                }
            ),
        },
    )
    assert set(template["Outputs"]) >= {"ServiceDocumentsBucketArn", "ServiceDocumentsBucketName"}


def test_run_artifacts_outlive_the_longest_approval_wait_and_are_private(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("State")]
    buckets = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"}
    (artifacts_id,) = [k for k in buckets if k.startswith("RunArtifacts") and "AccessLogs" not in k]
    artifacts = buckets[artifacts_id]["Properties"]
    assert artifacts["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert "LoggingConfiguration" in artifacts and "BucketEncryption" in artifacts
    (rule,) = artifacts["LifecycleConfiguration"]["Rules"]
    approval_days = assembly.config.reasoning.approval_timeout_seconds / 86_400
    assert rule["ExpirationInDays"] > approval_days
    assert set(template["Outputs"]) >= {"RunArtifactsBucketArn", "RunArtifactsBucketName"}
