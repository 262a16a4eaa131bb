"""DiscoveryStack: the schedule runs the poller at the configured rate, the poller may only read the registry and
write its own inventory and bus, and the Neo4j credentials are generated in Secrets Manager."""

from __future__ import annotations

from aws_cdk.assertions import Match
from cloud_assembly import INFRASTRUCTURE, CloudAssembly
from template_queries import allowed_actions, function_role_id, functions_by_folder, role_statements

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


def test_service_change_bus_exists(assembly: CloudAssembly) -> None:
    assembly.template("Discovery").resource_count_is("AWS::Events::EventBus", 1)


def test_neo4j_password_is_generated_into_the_credentials_secret(assembly: CloudAssembly) -> None:
    assembly.template("Discovery").has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"GenerateStringKey": "password"})},
    )
