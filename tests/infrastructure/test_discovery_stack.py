"""DiscoveryStack: the schedule runs the poller at the configured rate, the poller may only read the registry and
write its own inventory and bus, every service change runs the structural mapping (dead-lettered on failure, in the
configured VPC when subnets are given), and the Neo4j credentials are generated in Secrets Manager."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match
from cloud_assembly import INFRASTRUCTURE, CloudAssembly
from template_queries import allowed_actions, as_list, function_role_id, functions_by_folder, role_statements

pytestmark = INFRASTRUCTURE


def test_schedule_invokes_the_poller_at_the_configured_rate(assembly: CloudAssembly) -> None:
    minutes = assembly.config.discovery.schedule_rate_minutes
    template = assembly.templates[assembly.stack_name("Discovery")]
    poller_id, _ = functions_by_folder(template)["discovery_poller"]
    assembly.template("Discovery").has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": f"rate({minutes} minute{'s' if minutes > 1 else ''})",
            "State": "ENABLED",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [poller_id, "Arn"]}})],
        },
    )


def test_poller_reads_cloud_map_without_any_write_action(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Discovery")]
    _, poller = functions_by_folder(template)["discovery_poller"]
    actions = allowed_actions(role_statements(template, function_role_id(poller)))
    registry_actions = {a for a in actions if a.startswith("servicediscovery:")}
    assert registry_actions, "the poller cannot read the registry"
    assert all(a.split(":")[1].startswith(("List", "Get")) for a in registry_actions), registry_actions
    assert "events:PutEvents" in actions


def test_poller_may_scan_the_inventory_it_diffs_against(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Discovery")]
    _, poller = functions_by_folder(template)["discovery_poller"]
    scans = [s for s in role_statements(template, function_role_id(poller)) if "dynamodb:Scan" in as_list(s["Action"])]
    assert len(scans) == 1 and as_list(scans[0]["Resource"]) and "Inventory" in json.dumps(scans[0]["Resource"])
    assert "index" not in json.dumps(scans[0]["Resource"])  # the table only (CDK merges it with read_write)


def test_service_change_bus_exists(assembly: CloudAssembly) -> None:
    assembly.template("Discovery").resource_count_is("AWS::Events::EventBus", 1)


def test_neo4j_password_is_generated_into_the_credentials_secret(assembly: CloudAssembly) -> None:
    assembly.template("Discovery").has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"GenerateStringKey": "password"})},
    )


def test_every_service_change_on_the_bus_runs_the_structural_mapping(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Discovery")]
    mapping_id, _ = functions_by_folder(template)["structural_mapping"]
    assembly.template("Discovery").has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": Match.any_value(),
            "EventPattern": {"source": ["slo-engine.discovery"], "detail-type": ["ServiceChange"]},
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [mapping_id, "Arn"]},
                        "DeadLetterConfig": Match.object_like({"Arn": Match.any_value()}),
                        "RetryPolicy": Match.object_like(
                            {"MaximumRetryAttempts": assembly.config.discovery.mapping_retry_attempts}
                        ),
                    }
                )
            ],
        },
    )


def test_the_mapping_reads_only_the_neo4j_secret_and_observed_edges(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Discovery")]
    _, mapping = functions_by_folder(template)["structural_mapping"]
    actions = allowed_actions(role_statements(template, function_role_id(mapping)))
    assert "secretsmanager:GetSecretValue" in actions
    assert not {a for a in actions if a.startswith(("servicediscovery:", "events:"))}
    assert not {
        a
        for a in actions
        if a.startswith("dynamodb:")
        and not a.startswith(
            ("dynamodb:Get", "dynamodb:Query", "dynamodb:BatchGet", "dynamodb:Describe", "dynamodb:ConditionCheck")
        )
    }
    variables = mapping["Properties"]["Environment"]["Variables"]
    assert "SLO_ENGINE_NEO4J_SECRET_ARN" in variables


def test_the_mapping_runs_outside_a_vpc_unless_subnets_are_configured(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Discovery")]
    _, mapping = functions_by_folder(template)["structural_mapping"]
    assert "VpcConfig" not in mapping["Properties"]


def test_configured_subnets_put_the_mapping_in_the_vpc_that_reaches_neo4j(tmp_path_factory) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from cdk.application import build_app, cdk_json_context

    context = cdk_json_context()
    settings = context["slo-engine"]
    network = {"neo4j_subnet_ids": ["subnet-0123456789abcdef0"], "neo4j_security_group_ids": ["sg-0123456789abcdef0"]}
    context["slo-engine"] = {**settings, "discovery": {**settings.get("discovery", {}), **network}}
    app = build_app(outdir=str(tmp_path_factory.mktemp("cdk-vpc")), context=context)
    stack = next(s for s in app.node.children if isinstance(s, cdk.Stack) and s.node.id.endswith("-Discovery"))
    template = Template.from_stack(stack).to_json()  # synthesizes with cdk-nag and cfn-lint: an open finding raises
    _, mapping = functions_by_folder(template)["structural_mapping"]
    assert mapping["Properties"]["VpcConfig"] == {
        "SubnetIds": network["neo4j_subnet_ids"],
        "SecurityGroupIds": network["neo4j_security_group_ids"],
    }
    actions = allowed_actions(role_statements(template, function_role_id(mapping)))
    assert "ec2:CreateNetworkInterface" in actions


def test_subnets_without_security_groups_are_refused() -> None:
    from pydantic import ValidationError

    from cdk.config import DiscoverySettings

    with pytest.raises(ValidationError, match="together"):
        DiscoverySettings(neo4j_subnet_ids=("subnet-0123456789abcdef0",))


def _mapping(assembly: CloudAssembly) -> tuple[dict, dict, list[dict]]:
    template = assembly.templates[assembly.stack_name("Discovery")]
    _, mapping = functions_by_folder(template)["structural_mapping"]
    return template, mapping, role_statements(template, function_role_id(mapping))


def test_service_documents_changes_on_the_bus_run_the_structural_mapping_like_service_changes(
    assembly: CloudAssembly,
) -> None:
    template, _, _ = _mapping(assembly)
    mapping_id, _ = functions_by_folder(template)["structural_mapping"]
    rules = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    (documents_rule,) = [
        r for r in rules if r.get("EventPattern", {}).get("detail-type") == ["Service Documents Changed"]
    ]
    (change_rule,) = [r for r in rules if r.get("EventPattern", {}).get("detail-type") == ["ServiceChange"]]
    assert documents_rule["EventPattern"]["source"] == ["slo-engine.knowledge"]
    assert documents_rule["EventBusName"] == change_rule["EventBusName"]
    (target,) = documents_rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [mapping_id, "Arn"]}
    (change_target,) = change_rule["Targets"]
    assert (target["DeadLetterConfig"], target["RetryPolicy"]) == (
        change_target["DeadLetterConfig"],
        change_target["RetryPolicy"],
    )


def test_the_mapping_reads_the_service_documents_prefix_only(assembly: CloudAssembly) -> None:
    _, mapping, statements = _mapping(assembly)
    variables = mapping["Properties"]["Environment"]["Variables"]
    bucket_output = {
        "Fn::GetStackOutput": {"StackName": assembly.stack_name("State"), "OutputName": "ServiceDocumentsBucketArn"}
    }
    assert variables["SLO_ENGINE_SERVICE_DOCS_BUCKET"] == {
        "Fn::GetStackOutput": {"StackName": assembly.stack_name("State"), "OutputName": "ServiceDocumentsBucketName"}
    }
    s3 = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert {json.dumps(s["Resource"], sort_keys=True): s["Action"] for s in s3} == {
        json.dumps({"Fn::Join": ["", [bucket_output, "/service-docs/*"]]}, sort_keys=True): "s3:GetObject",
        json.dumps(bucket_output, sort_keys=True): "s3:ListBucket",
    }
    (listing,) = [s for s in s3 if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["service-docs/*"]}}


def test_the_mapping_reads_docs_with_exactly_the_configured_small_model(assembly: CloudAssembly) -> None:
    _, mapping, statements = _mapping(assembly)
    model_id = assembly.config.models.small_model_id
    assert mapping["Properties"]["Environment"]["Variables"]["SLO_ENGINE_SMALL_MODEL_ID"] == model_id
    assert mapping["Properties"]["Timeout"] >= 180  # room for one model call per document
    bedrock = [s for s in statements if any(a.startswith("bedrock:") for a in as_list(s["Action"]))]
    assert len(bedrock) == 1
    assert "bedrock:InvokeModel" in as_list(bedrock[0]["Action"])
    assert bedrock[0]["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:", {"Ref": "AWS::Region"}, f"::foundation-model/{model_id}"],
        ]
    }
