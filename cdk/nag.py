"""cdk-nag AwsSolutions checks and every acknowledgment the app makes, each for one finding with its reason.

Constructs call the named functions below on the exact construct a finding is about; nothing is acknowledged app-wide.
Findings are ids as cdk-nag 3 prints them (``AwsSolutions::AwsSolutions-IAM5[Resource::*]``).
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def enable_aws_solutions_checks(app: cdk.App) -> None:
    """Run the AwsSolutions pack at synthesis: an open finding makes synthesis fail with ``ValidationFailed``."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (e.g. ``IAM5[Resource::*]``) on ``scope`` and its children."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-{finding}", reason=reason))


def arn_token(resource: IConstruct) -> str:
    """How cdk-nag prints a same-stack resource's ARN inside a finding id: ``<LogicalId.Arn>``."""
    default_child = resource.node.default_child
    if not isinstance(default_child, cdk.CfnElement):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    return f"<{cdk.Stack.of(resource).get_logical_id(default_child)}.Arn>"


# --- Lambda ------------------------------------------------------------------------------------------------------


def lambda_runtime_pinned(function: IConstruct, python_version: str) -> None:
    acknowledge(
        function,
        "L1",
        f"Python {python_version} is pinned on purpose: the core layer and its compiled dependency layer "
        "(make layer, pip --platform manylinux2014_aarch64) are built and tested for this interpreter; the runtime "
        "moves with the project's Python version (cdk.json lambda_defaults.python_version), not on its own.",
    )


def xray_tracing_write(role: IConstruct) -> None:
    acknowledge(
        role,
        "IAM5[Resource::*]",
        "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which do not support resource-level "
        "permissions (metrics go out as CloudWatch embedded metric format in the function's own log group).",
    )


# --- Storage -----------------------------------------------------------------------------------------------------


def access_log_bucket(bucket: IConstruct) -> None:
    acknowledge(
        bucket,
        "S1",
        "This is the server access log bucket itself; logging it to another bucket would recurse without end.",
    )


def objects_under_prefix(role: IConstruct, bucket: IConstruct, prefix: str, purpose: str) -> None:
    objects_under_arn_prefix(role, arn_token(bucket), prefix, purpose)


def objects_under_arn_prefix(role: IConstruct, bucket_arn_token: str, prefix: str, purpose: str) -> None:
    """``objects_under_prefix`` for a bucket named by how cdk-nag prints its ARN (e.g. another stack's output)."""
    acknowledge(
        role,
        f"IAM5[Resource::{bucket_arn_token}/{prefix}/*]",
        f"Object keys are derived from data at run time ({purpose}); access is limited to one prefix of one bucket.",
    )


# --- Queues ------------------------------------------------------------------------------------------------------


def queue_is_dead_letter_queue(queue: IConstruct) -> None:
    acknowledge(
        queue,
        "SQS3",
        "This queue is itself a dead-letter queue; its messages are inspected and redriven by an operator.",
    )


# --- Secrets -----------------------------------------------------------------------------------------------------


def secret_rotated_outside_aws(secret: IConstruct, why: str) -> None:
    acknowledge(secret, "SMG4", f"Not rotated by Secrets Manager: {why}")


# --- Streams and Flink -------------------------------------------------------------------------------------------


def flink_service_wildcards(role: IConstruct) -> None:
    acknowledge(
        role,
        "IAM5[Resource::*]",
        "Managed Service for Apache Flink calls logs:DescribeLogGroups to find its log group before writing to it; "
        "that action only accepts '*'. Writing is limited to the application's own log group and stream.",
    )


# --- Discovery ---------------------------------------------------------------------------------------------------


def cloud_map_registry_read(role: IConstruct) -> None:
    acknowledge(
        role,
        "IAM5[Resource::*]",
        "The poller reads the whole Cloud Map registry: servicediscovery:ListNamespaces/ListServices/ListInstances "
        "accept only '*', and the namespaces to read are discovered at run time. Actions are read-only.",
    )


def lambda_in_vpc_network_interfaces(role: IConstruct) -> None:
    acknowledge(
        role,
        "IAM5[Resource::*]",
        "A Lambda in a VPC (here: to reach a self-hosted or peered Neo4j) creates and deletes its own network "
        "interfaces; ec2:CreateNetworkInterface/DescribeNetworkInterfaces/DeleteNetworkInterface accept only '*' "
        "(the same actions as the AWSLambdaVPCAccessExecutionRole managed policy, which the app does not use).",
    )


# --- API Gateway -------------------------------------------------------------------------------------------------


def api_gateway_account_logging_role(role: IConstruct) -> None:
    acknowledge(
        role,
        "IAM5[Resource::*]",
        "API Gateway's account-wide logging role creates and writes the execution log groups it names itself "
        "(API-Gateway-Execution-Logs_<api-id>/<stage>) for every API in the account; the inline policy lists the "
        "same actions as the AWS managed AmazonAPIGatewayPushToCloudWatchLogs policy, without its extras.",
    )


def signed_route_without_iam(method: IConstruct, signature: str) -> None:
    acknowledge(
        method,
        "APIG4",
        f"Public by design: the caller cannot sign with AWS credentials; the Lambda verifies {signature} on the raw "
        "request before acting, and the stage is throttled and behind an AWS WAF rate rule.",
    )
    acknowledge(method, "COG4", f"No Cognito user exists for this caller; the request is verified by {signature}.")


def backstage_invoke_routes(role: IConstruct, findings: list[str]) -> None:
    """``findings``: the IAM5 ids of the role's execute-api ARNs, each ending in a path parameter wildcard."""
    for finding in findings:
        acknowledge(
            role,
            finding,
            "execute-api:Invoke on named methods of one API stage; the '*' stands for a path parameter "
            "(a recommendation id or service name) that Backstage passes at run time, not for other routes.",
        )


def iam_authorized_route(method: IConstruct) -> None:
    acknowledge(
        method,
        "COG4",
        "System integrations (Backstage and other tools) authenticate with AWS SigV4 through the IAM authorizer; "
        "people authenticate through Cognito on the routes issue 7 adds.",
    )


# --- Step Functions ----------------------------------------------------------------------------------------------


def state_machine_log_delivery(role: IConstruct) -> None:
    acknowledge(
        role,
        "IAM5[Resource::*]",
        "Step Functions logging uses CloudWatch Logs vended log delivery (logs:CreateLogDelivery, "
        "logs:PutResourcePolicy, logs:DescribeLogGroups ...) and X-Ray tracing (xray:PutTraceSegments ...); "
        "none of these actions support resource-level permissions.",
    )


def api_reads_its_executions(role: IConstruct, state_machine_name: str) -> None:
    acknowledge(
        role,
        f"IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{state_machine_name}:*]",
        "GET /recommendations/{run id} describes the executions the API started; execution names are chosen per "
        "request, so the grant covers the executions of this one state machine (DescribeExecution only).",
    )
