"""IngestionStack: encrypted streams, the Managed Flink application and its least-privilege role, the snapshot sink's
failure handling, the snapshot store and the Prometheus workspace."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match
from cloud_assembly import INFRASTRUCTURE, CloudAssembly
from template_queries import allowed_actions, as_list, role_statements

pytestmark = INFRASTRUCTURE


def test_both_kinesis_streams_are_encrypted_at_rest(assembly: CloudAssembly) -> None:
    streams = assembly.resources("AWS::Kinesis::Stream", "Ingestion")
    assert len(streams) == 2
    for name, stream in streams.items():
        assert stream["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS", name


def test_stream_capacity_mode_follows_the_config(assembly: CloudAssembly) -> None:
    expected = "ON_DEMAND" if assembly.config.streams.mode == "on_demand" else "PROVISIONED"
    for stream in assembly.resources("AWS::Kinesis::Stream", "Ingestion").values():
        assert stream["Properties"]["StreamModeDetails"] == {"StreamMode": expected}


def test_flink_application_runs_the_configured_runtime_with_the_pyflink_entry_point(assembly: CloudAssembly) -> None:
    flink = assembly.config.flink
    assembly.template("Ingestion").has_resource_properties(
        "AWS::KinesisAnalyticsV2::Application",
        {
            "RuntimeEnvironment": flink.runtime,
            "ApplicationConfiguration": Match.object_like(
                {
                    "ApplicationCodeConfiguration": Match.object_like({"CodeContentType": "ZIPFILE"}),
                    "EnvironmentProperties": {
                        "PropertyGroups": Match.array_with(
                            [
                                {
                                    "PropertyGroupId": "kinesis.analytics.flink.run.options",
                                    "PropertyMap": {"python": flink.entry_point, "jarfile": flink.connector_jar},
                                }
                            ]
                        )
                    },
                    "FlinkApplicationConfiguration": Match.object_like(
                        {
                            "CheckpointConfiguration": {"ConfigurationType": "DEFAULT"},
                            "ParallelismConfiguration": {
                                "ConfigurationType": "CUSTOM",
                                "Parallelism": flink.parallelism,
                                "ParallelismPerKPU": flink.parallelism_per_kpu,
                                "AutoScalingEnabled": flink.autoscaling_enabled,
                            },
                        }
                    ),
                }
            ),
        },
    )


def test_flink_application_logs_to_cloudwatch(assembly: CloudAssembly) -> None:
    assembly.template("Ingestion").resource_count_is("AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption", 1)


def test_flink_role_reads_the_telemetry_stream_and_writes_only_the_snapshot_stream(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Ingestion")]
    resources = template["Resources"]
    application = next(r for r in resources.values() if r["Type"] == "AWS::KinesisAnalyticsV2::Application")
    role_id = application["Properties"]["ServiceExecutionRole"]["Fn::GetAtt"][0]
    streams = {logical_id for logical_id, r in resources.items() if r["Type"] == "AWS::Kinesis::Stream"}
    telemetry = next(s for s in streams if "Telemetry" in s)
    snapshots = next(s for s in streams if "Snapshots" in s)
    statements = role_statements(template, role_id)
    for statement in statements:
        targets = {
            r["Fn::GetAtt"][0] for r in as_list(statement["Resource"]) if isinstance(r, dict) and "Fn::GetAtt" in r
        }
        if "kinesis:GetRecords" in as_list(statement["Action"]):
            assert targets == {telemetry}
        if "kinesis:PutRecords" in as_list(statement["Action"]):
            assert targets == {snapshots}
    assert not any(action.endswith("*") for action in allowed_actions(statements))


def test_snapshot_sink_reports_batch_item_failures_bisects_and_dead_letters(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Ingestion")]
    mappings = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 1
    mapping = mappings[0]["Properties"]
    sink = assembly.config.snapshot_sink
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == sink.retry_attempts
    destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert template["Resources"][destination]["Type"] == "AWS::SQS::Queue"


def test_snapshot_bucket_is_versioned_encrypted_logged_and_tls_only(assembly: CloudAssembly) -> None:
    template = assembly.template("Ingestion")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": Match.any_value(),
            "LoggingConfiguration": Match.object_like({"DestinationBucketName": Match.any_value()}),
        },
    )
    policies = assembly.resources("AWS::S3::BucketPolicy", "Ingestion")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        )


def test_prometheus_workspace_exists_and_the_sink_may_remote_write_to_it(assembly: CloudAssembly) -> None:
    template = assembly.template("Ingestion")
    template.resource_count_is("AWS::APS::Workspace", 1)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": Match.object_like(
                {"Statement": Match.array_with([Match.object_like({"Action": "aps:RemoteWrite"})])}
            )
        },
    )


def test_flink_job_gets_both_stream_arns_for_the_kinesis_table_connector(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Ingestion")]
    resources = template["Resources"]
    application = next(r for r in resources.values() if r["Type"] == "AWS::KinesisAnalyticsV2::Application")
    groups = {
        g["PropertyGroupId"]: g["PropertyMap"]
        for g in application["Properties"]["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]
    }
    for group, stream in (("TelemetryStream", "Telemetry"), ("SnapshotStream", "Snapshots")):
        logical_id, attribute = groups[group]["stream.arn"]["Fn::GetAtt"]
        assert stream in logical_id and attribute == "Arn"


def test_flink_runtime_matches_the_pyflink_version_the_tests_run() -> None:
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    runtime = json.loads((root / "cdk.json").read_text())["context"]["slo-engine"]["flink"]["runtime"]
    pinned = next(
        line.split("==")[1].split()[0]
        for line in (root / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("apache-flink==")
    )
    assert runtime == "FLINK-" + "_".join(pinned.split(".")[:2])


def test_flink_side_output_goes_to_one_prefix_of_the_snapshot_bucket(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Ingestion")]
    resources = template["Resources"]
    application = next(r for r in resources.values() if r["Type"] == "AWS::KinesisAnalyticsV2::Application")
    groups = {
        g["PropertyGroupId"]: g["PropertyMap"]
        for g in application["Properties"]["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]
    }
    assert "rejected/" in json.dumps(groups["SideOutput"]["path"])
    role_id = application["Properties"]["ServiceExecutionRole"]["Fn::GetAtt"][0]
    puts = [s for s in role_statements(template, role_id) if "s3:PutObject" in as_list(s["Action"])]
    assert len(puts) == 1 and all("/rejected/*" in json.dumps(r) for r in as_list(puts[0]["Resource"]))
