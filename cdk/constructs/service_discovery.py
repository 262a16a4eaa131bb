"""Service discovery: an EventBridge schedule runs the poller Lambda, which reads the Cloud Map registry, diffs it
against the inventory table and puts registered / changed / deregistered services on the service-change bus.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.python_function import EngineFunction, EngineLayers
from cdk.constructs.state_tables import StateTables

CLOUD_MAP_READ_ACTIONS = [
    "servicediscovery:ListNamespaces",
    "servicediscovery:GetNamespace",
    "servicediscovery:ListServices",
    "servicediscovery:GetService",
    "servicediscovery:ListInstances",
    "servicediscovery:GetInstance",
    "servicediscovery:ListTagsForResource",
]


class ServiceDiscovery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: EngineLayers,
        tables: StateTables,
    ) -> None:
        super().__init__(scope, construct_id)
        rate = cdk.Duration.minutes(config.discovery.schedule_rate_minutes)
        self.bus = events.EventBus(self, "ServiceChangeBus", description="Service registered / changed / deregistered")
        self.poller = EngineFunction(
            self,
            "Poller",
            handler_folder="discovery_poller",
            description="Diffs the Cloud Map registry against the last inventory and emits service changes",
            config=config,
            layers=layers,
            timeout=cdk.Duration.seconds(120),
            environment={
                tables.inventory.environment_variable: tables.inventory.table.table_name,
                "SLO_ENGINE_SERVICE_CHANGE_BUS": self.bus.event_bus_name,
            },
        )
        tables.inventory.grant(self.poller.role, "read_write")
        self.bus.grant_put_events_to(self.poller.role)
        self.poller.add_to_policy(iam.PolicyStatement(actions=CLOUD_MAP_READ_ACTIONS, resources=["*"]))
        nag.cloud_map_registry_read(self.poller.role)

        # No DLQ on the target: a missed poll is made good by the next one, because polling diffs the whole registry.
        self.schedule = events.Rule(
            self,
            "Schedule",
            description=f"Poll the service registry every {config.discovery.schedule_rate_minutes} minutes",
            schedule=events.Schedule.rate(rate),
            targets=[targets.LambdaFunction(self.poller.function, retry_attempts=2, max_event_age=rate)],
        )
