"""Service discovery: an EventBridge schedule runs the poller Lambda, which reads the Cloud Map registry, diffs it
against the inventory table and puts registered / changed / deregistered services on the service-change bus; a rule
on that bus runs the structural-mapping Lambda once per change, which writes the service's edges to Neo4j (from a
VPC when the configuration names subnets and security groups) and dead-letters what it cannot process. A second rule
runs it again when the runbook indexer changed a service's documents; it reads them from the service-documents bucket
and, with the configured small model on Bedrock, reads dependencies out of them.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.durable_queue import dead_letter_queue
from cdk.constructs.python_function import EngineFunction, EngineLayers
from cdk.constructs.service_documents_store import ServiceDocumentsStore
from cdk.constructs.state_tables import StateTables
from cdk.permissions import grant_bedrock_invoke, grant_secret_read
from slo_engine.discovery.events import DETAIL_TYPE, EVENT_SOURCE
from slo_engine.knowledge.service_documents import DOCUMENTS_CHANGED, DOCUMENTS_EVENT_SOURCE

CLOUD_MAP_READ_ACTIONS = [
    "servicediscovery:ListNamespaces",
    "servicediscovery:GetNamespace",
    "servicediscovery:ListServices",
    "servicediscovery:GetService",
    "servicediscovery:GetServiceAttributes",
    "servicediscovery:ListInstances",
    "servicediscovery:GetInstance",
    "servicediscovery:ListTagsForResource",
]
VPC_NETWORK_INTERFACE_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
MAPPING_MAX_EVENT_AGE = cdk.Duration.hours(6)


class ServiceDiscovery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: EngineLayers,
        tables: StateTables,
        neo4j_credentials: secretsmanager.ISecret,
        service_documents: ServiceDocumentsStore,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.discovery
        rate = cdk.Duration.minutes(settings.schedule_rate_minutes)
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
                "SLO_ENGINE_CLOUD_MAP_NAMESPACES": ",".join(settings.cloud_map_namespaces),
            },
        )
        tables.inventory.grant(self.poller.role, "read_write")
        tables.inventory.grant(self.poller.role, "scan")  # the poll diffs against the whole inventory (load)
        self.bus.grant_put_events_to(self.poller.role)
        self.poller.add_to_policy(iam.PolicyStatement(actions=CLOUD_MAP_READ_ACTIONS, resources=["*"]))
        nag.cloud_map_registry_read(self.poller.role)

        # No DLQ on the target: a missed poll is made good by the next one, because polling diffs the whole registry.
        self.schedule = events.Rule(
            self,
            "Schedule",
            description=f"Poll the service registry every {settings.schedule_rate_minutes} minutes",
            schedule=events.Schedule.rate(rate),
            targets=[targets.LambdaFunction(self.poller.function, retry_attempts=2, max_event_age=rate)],
        )

        small_model_id = config.models.small_model_id.strip()
        self.mapping = EngineFunction(
            self,
            "StructuralMapping",
            handler_folder="structural_mapping",
            description="Builds one changed service's dependency edges (observed, declared, docs) in Neo4j",
            config=config,
            layers=layers,
            # Up to 8 documents, one small-model call each, besides the Neo4j writes.
            timeout=cdk.Duration.seconds(180 if small_model_id else 60),
            environment={
                "SLO_ENGINE_NEO4J_SECRET_ARN": neo4j_credentials.secret_arn,
                tables.observed_edges.environment_variable: tables.observed_edges.table.table_name,
                service_documents.environment_variable: service_documents.bucket_name_for(self),
                **({"SLO_ENGINE_SMALL_MODEL_ID": small_model_id} if small_model_id else {}),
            },
        )
        grant_secret_read(self.mapping.role, neo4j_credentials)
        tables.observed_edges.grant(self.mapping.role, "read")
        service_documents.grant_read(self.mapping.role)
        if small_model_id:  # the small model reads the service's docs for dependencies
            grant_bedrock_invoke(self.mapping.role, self, [small_model_id])
        if settings.neo4j_subnet_ids:
            self._run_in_vpc(self.mapping, settings.neo4j_subnet_ids, settings.neo4j_security_group_ids)

        # A change that fails every retry waits in the dead-letter queue; the next change of the service remaps it.
        self.mapping_dead_letters = dead_letter_queue(self, "MappingDeadLetters")
        self.mapping_rule = events.Rule(
            self,
            "OnServiceChange",
            description="Map the dependencies of every registered, changed or deregistered service",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[DETAIL_TYPE]),
            targets=[
                targets.LambdaFunction(
                    self.mapping.function,
                    retry_attempts=settings.mapping_retry_attempts,
                    max_event_age=MAPPING_MAX_EVENT_AGE,
                    dead_letter_queue=self.mapping_dead_letters,
                )
            ],
        )
        self.documents_rule = events.Rule(
            self,
            "OnServiceDocumentsChanged",
            description="Map a service's dependencies again when the runbook indexer changed one of its documents",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[DOCUMENTS_EVENT_SOURCE], detail_type=[DOCUMENTS_CHANGED]),
            targets=[
                targets.LambdaFunction(
                    self.mapping.function,
                    retry_attempts=settings.mapping_retry_attempts,
                    max_event_age=MAPPING_MAX_EVENT_AGE,
                    dead_letter_queue=self.mapping_dead_letters,
                )
            ],
        )

    @staticmethod
    def _run_in_vpc(function: EngineFunction, subnet_ids: tuple[str, ...], security_group_ids: tuple[str, ...]) -> None:
        """Attach the function to existing subnets (ids from configuration: no lookup, no credentials at synth)."""
        cfn_function = function.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_property_override(
            "VpcConfig", {"SubnetIds": list(subnet_ids), "SecurityGroupIds": list(security_group_ids)}
        )
        function.add_to_policy(iam.PolicyStatement(actions=VPC_NETWORK_INTERFACE_ACTIONS, resources=["*"]))
        nag.lambda_in_vpc_network_interfaces(function.role)
