"""The Managed Service for Apache Flink application that folds the telemetry stream into 10-second service snapshots
(PyFlink code from ``flink/`` as an S3 asset), with CloudWatch logging, checkpoints, snapshots, configured parallelism
and autoscaling, and a role that can read one stream, write the other, and nothing else.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisanalyticsv2 as kinesisanalytics
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.python_function import REPO_ROOT, log_retention

FLINK_DIR = REPO_ROOT / "flink"
RUN_OPTIONS_GROUP = "kinesis.analytics.flink.run.options"
SIDE_OUTPUT_PREFIX = "rejected"
"""Late, future and malformed records (one JSON line each, with the reason) under this prefix of the side bucket."""
_EXCLUDES = ["**/__pycache__", "**/*.pyc", ".venv", "tests", "target"]
_CfnApp = kinesisanalytics.CfnApplication


class FlinkAggregator(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        source: kinesis.IStream,
        sink: kinesis.IStream,
        side_output: s3.IBucket | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.flink
        stack = cdk.Stack.of(self)
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY

        self.code = s3_assets.Asset(self, "Code", path=str(FLINK_DIR), exclude=_EXCLUDES)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention(config.lambda_defaults.log_retention_days),
            removal_policy=removal,
        )
        self.log_stream = logs.LogStream(self, "LogStream", log_group=self.log_group, removal_policy=removal)

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("kinesisanalytics.amazonaws.com"),
            description="Managed Flink snapshot aggregator: read telemetry, write snapshots, log",
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadApplicationCode",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.code.bucket.arn_for_objects(self.code.s3_object_key)],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTelemetryStream",
                actions=[
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                ],
                resources=[source.stream_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteSnapshotStream",
                actions=[
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                ],
                resources=[sink.stream_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteApplicationLogs",
                actions=["logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[
                    self.log_group.log_group_arn,
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{self.log_group.log_group_name}:log-stream:{self.log_stream.log_stream_name}",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    ),
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="FindLogGroup", actions=["logs:DescribeLogGroups"], resources=["*"])
        )
        side_groups = []
        if side_output is not None:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="WriteSideOutput",
                    actions=[
                        "s3:PutObject",
                        "s3:GetObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    resources=[side_output.arn_for_objects(f"{SIDE_OUTPUT_PREFIX}/*")],
                )
            )
            self.role.add_to_principal_policy(
                iam.PolicyStatement(sid="ListSideOutput", actions=["s3:ListBucket"], resources=[side_output.bucket_arn])
            )
            nag.objects_under_prefix(self.role, side_output, SIDE_OUTPUT_PREFIX, "part files of the Flink side output")
            side_groups.append(
                _property_group("SideOutput", {"path": f"s3://{side_output.bucket_name}/{SIDE_OUTPUT_PREFIX}/"})
            )
        nag.flink_service_wildcards(self.role)

        self.application = _CfnApp(
            self,
            "Application",
            runtime_environment=settings.runtime,
            service_execution_role=self.role.role_arn,
            application_description="Folds edge-reduced telemetry into 10-second service snapshots (PyFlink)",
            application_configuration=_CfnApp.ApplicationConfigurationProperty(
                application_code_configuration=_CfnApp.ApplicationCodeConfigurationProperty(
                    code_content_type="ZIPFILE",
                    code_content=_CfnApp.CodeContentProperty(
                        s3_content_location=_CfnApp.S3ContentLocationProperty(
                            bucket_arn=self.code.bucket.bucket_arn, file_key=self.code.s3_object_key
                        )
                    ),
                ),
                environment_properties=_CfnApp.EnvironmentPropertiesProperty(
                    property_groups=[
                        _property_group(
                            RUN_OPTIONS_GROUP, {"python": settings.entry_point, "jarfile": settings.connector_jar}
                        ),
                        _property_group(
                            "TelemetryStream",
                            {
                                "stream.name": source.stream_name,
                                "stream.arn": source.stream_arn,
                                "aws.region": stack.region,
                                "flink.stream.initpos": "LATEST",
                            },
                        ),
                        _property_group(
                            "SnapshotStream",
                            {
                                "stream.name": sink.stream_name,
                                "stream.arn": sink.stream_arn,
                                "aws.region": stack.region,
                            },
                        ),
                        _property_group(
                            "Aggregation",
                            {
                                "window.seconds": str(settings.window_seconds),
                                "allowed.lateness.seconds": str(settings.allowed_lateness_seconds),
                                "watermark.delay.seconds": str(settings.watermark_delay_seconds),
                            },
                        ),
                        *side_groups,
                    ]
                ),
                flink_application_configuration=_CfnApp.FlinkApplicationConfigurationProperty(
                    checkpoint_configuration=_CfnApp.CheckpointConfigurationProperty(configuration_type="DEFAULT"),
                    monitoring_configuration=_CfnApp.MonitoringConfigurationProperty(
                        configuration_type="CUSTOM", log_level=settings.log_level, metrics_level="APPLICATION"
                    ),
                    parallelism_configuration=_CfnApp.ParallelismConfigurationProperty(
                        configuration_type="CUSTOM",
                        parallelism=settings.parallelism,
                        parallelism_per_kpu=settings.parallelism_per_kpu,
                        auto_scaling_enabled=settings.autoscaling_enabled,
                    ),
                ),
                application_snapshot_configuration=_CfnApp.ApplicationSnapshotConfigurationProperty(
                    snapshots_enabled=True
                ),
            ),
        )
        self.application.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        self.logging = kinesisanalytics.CfnApplicationCloudWatchLoggingOption(
            self,
            "Logging",
            application_name=self.application.ref,
            cloud_watch_logging_option=kinesisanalytics.CfnApplicationCloudWatchLoggingOption.CloudWatchLoggingOptionProperty(
                log_stream_arn=stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"{self.log_group.log_group_name}:log-stream:{self.log_stream.log_stream_name}",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ),
        )


def _property_group(group_id: str, properties: dict[str, str]) -> _CfnApp.PropertyGroupProperty:
    return _CfnApp.PropertyGroupProperty(property_group_id=group_id, property_map=properties)
