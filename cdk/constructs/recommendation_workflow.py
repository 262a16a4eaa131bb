"""The recommendation workflow: one Lambda per state of step_functions/recommendation.asl.json (least privilege each)
and the Standard state machine loaded from that file, with ALL-level logging and X-Ray tracing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.approval_channels import ApprovalChannels
from cdk.constructs.prometheus_workspace import QUERY_ACTIONS
from cdk.constructs.python_function import REPO_ROOT, EngineFunction, EngineLayers, log_retention
from cdk.constructs.service_documents_store import RunArtifactsStore
from cdk.constructs.state_tables import StateTables
from cdk.constructs.vector_collection import RUNBOOK_INDEX, VectorCollection
from cdk.permissions import grant_bedrock_invoke, grant_secret_read

DEFINITION_PATH = REPO_ROOT / "step_functions" / "recommendation.asl.json"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def recommendation_state_machine_name(config: DeploymentConfig) -> str:
    """The state machine's name, e.g. ``SloEngine-dev-recommendation``."""
    return f"{config.stack_prefix}-recommendation"


@dataclass(frozen=True)
class WorkflowFunction:
    """A Lambda of the workflow: its handler folder, the ASL state that calls it, and what it does."""

    folder: str
    state: str
    description: str

    @property
    def substitution(self) -> str:
        """The definition placeholder for its ARN: ``load_context`` -> ``LoadContextFunctionArn``."""
        return "".join(part.capitalize() for part in self.folder.split("_")) + "FunctionArn"


WORKFLOW_FUNCTIONS = (
    WorkflowFunction("load_context", "LoadContext", "Loads what the Context Manager remembers for the request"),
    WorkflowFunction("master_agent", "MasterAgent", "Plans services, SLIs and discovery sub-tasks"),
    WorkflowFunction("metric_discovery", "MetricDiscovery", "Metric history, trend and candidate targets"),
    WorkflowFunction("relationship_discovery", "RelationshipDiscovery", "Dependency ceilings, cycles, blast radius"),
    WorkflowFunction("runbook_discovery", "RunbookDiscovery", "Known failure modes and time to mitigate"),
    WorkflowFunction("reviewer", "Reviewer", "Merges findings and lowers optimistic targets"),
    WorkflowFunction("safety", "Safety", "Backtests candidates and evaluates guardrail policies"),
    WorkflowFunction("pre_approval", "PreApproval", "Persists pending recommendations and their summary"),
    WorkflowFunction("approval_notifier", "HumanApproval", "Stores the task token and sends signed approval links"),
    WorkflowFunction("finalize", "Finalize", "Persists approved SLOs and emits SLOApproved"),
    WorkflowFunction("reject", "Reject", "Records rejected, timed-out or failed recommendations"),
    WorkflowFunction("record_feedback", "RecordFeedback", "Records the outcome for the next plan"),
)


def definition_placeholders() -> set[str]:
    return set(_PLACEHOLDER.findall(DEFINITION_PATH.read_text(encoding="utf-8")))


class RecommendationWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: EngineLayers,
        tables: StateTables,
        channels: ApprovalChannels,
        recommendation_events: events.IEventBus,
        prometheus_arn: str,
        prometheus_endpoint: str,
        neo4j_credentials: secretsmanager.ISecret,
        runbook_collection: VectorCollection,
        run_artifacts: RunArtifactsStore,
    ) -> None:
        super().__init__(scope, construct_id)
        reasoning = config.reasoning
        models = config.models
        environment = {
            **{table.environment_variable: table.table.table_name for table in tables.all},
            **channels.environment,
            "SLO_ENGINE_EVENT_BUS": recommendation_events.event_bus_name,
            "SLO_ENGINE_PROMETHEUS_QUERY_URL": prometheus_endpoint,
            "SLO_ENGINE_NEO4J_SECRET_ARN": neo4j_credentials.secret_arn,
            "SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT": runbook_collection.endpoint,
            "SLO_ENGINE_VECTOR_INDEX": RUNBOOK_INDEX,
            "SLO_ENGINE_REASONER_MODEL_ID": models.reasoner_model_id,
            "SLO_ENGINE_SMALL_MODEL_ID": models.small_model_id,
            "SLO_ENGINE_EMBEDDING_MODEL_ID": models.embedding_model_id,
            "SLO_ENGINE_APPROVAL_LINK_TTL_SECONDS": str(reasoning.approval_link_ttl_seconds),
            run_artifacts.environment_variable: run_artifacts.bucket_name_for(self),
        }
        self.functions: dict[str, EngineFunction] = {
            spec.folder: EngineFunction(
                self,
                "".join(part.capitalize() for part in spec.folder.split("_")),
                handler_folder=spec.folder,
                description=f"{spec.state}: {spec.description}",
                config=config,
                layers=layers,
                environment=environment,
                timeout=cdk.Duration.seconds(reasoning.agent_timeout_seconds),
                memory_mb=reasoning.agent_memory_mb,
            )
            for spec in WORKFLOW_FUNCTIONS
        }
        self._grant(config, tables, channels, recommendation_events, prometheus_arn, neo4j_credentials)
        for function in self.functions.values():  # every state reads earlier large results and may store its own
            run_artifacts.grant_read_write(function.role)
        self.runbook_reader_access = runbook_collection.grant_data_access(
            self, "RunbookReaderDataAccess", self.functions["runbook_discovery"].role, "read", "rdr"
        )

        substitutions = {
            spec.substitution: self.functions[spec.folder].function.function_arn for spec in WORKFLOW_FUNCTIONS
        }
        substitutions["ApprovalHeartbeatSeconds"] = str(reasoning.approval_heartbeat_seconds)
        substitutions["ApprovalTimeoutSeconds"] = str(reasoning.approval_timeout_seconds)
        missing = definition_placeholders() - set(substitutions)
        if missing:
            raise ValueError(f"{DEFINITION_PATH} has placeholders with no substitution: {sorted(missing)}")

        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"/aws/vendedlogs/states/{config.project_name}-{config.environment}-recommendation",
            retention=log_retention(config.lambda_defaults.log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # A fixed name keeps execution ARNs predictable, so the API can be granted exactly its executions.
            state_machine_name=recommendation_state_machine_name(config),
            comment="SLO recommendation: context, plan, parallel discovery, review, safety, human approval, feedback",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(DEFINITION_PATH)),
            definition_substitutions=substitutions,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function.function_arn for function in self.functions.values()],
            )
        )
        nag.state_machine_log_delivery(self.state_machine.role)

        # Nobody heartbeats a waiting task token by itself: this schedule keeps open approvals alive (SendTaskHeartbeat)
        # until their links expire, so HeartbeatSeconds bounds a stuck notifier, not a human's think time.
        self.approval_heartbeat = EngineFunction(
            self,
            "ApprovalHeartbeat",
            handler_folder="approval_heartbeat",
            description="Sends task heartbeats for pending human approvals while their links are valid",
            config=config,
            layers=layers,
            environment={tables.approvals.environment_variable: tables.approvals.table.table_name},
            timeout=cdk.Duration.seconds(60),
        )
        tables.approvals.grant(self.approval_heartbeat.role, "read")
        self.approval_heartbeat.add_to_policy(  # heartbeats only: it can never approve or reject
            iam.PolicyStatement(actions=["states:SendTaskHeartbeat"], resources=[self.state_machine.state_machine_arn])
        )
        every = cdk.Duration.minutes(max(1, reasoning.approval_heartbeat_seconds // 120))
        self.approval_heartbeat_schedule = events.Rule(
            self,
            "ApprovalHeartbeatSchedule",
            description="Heartbeat pending approvals twice per HumanApproval heartbeat interval",
            schedule=events.Schedule.rate(every),
            targets=[targets.LambdaFunction(self.approval_heartbeat.function, retry_attempts=2, max_event_age=every)],
        )

    def _grant(
        self,
        config: DeploymentConfig,
        tables: StateTables,
        channels: ApprovalChannels,
        recommendation_events: events.IEventBus,
        prometheus_arn: str,
        neo4j_credentials: secretsmanager.ISecret,
    ) -> None:
        fn = {folder: function.role for folder, function in self.functions.items()}
        models = config.models
        amp_query = iam.PolicyStatement(actions=QUERY_ACTIONS, resources=[prometheus_arn])

        tables.context.grant(fn["load_context"], "read")
        tables.recommendations.grant(fn["load_context"], "read")
        tables.feedback.grant(fn["load_context"], "read")

        tables.context.grant(fn["master_agent"], "read")
        grant_bedrock_invoke(fn["master_agent"], self, [models.reasoner_model_id])

        fn["metric_discovery"].add_to_principal_policy(amp_query)
        grant_bedrock_invoke(fn["metric_discovery"], self, [models.reasoner_model_id])

        grant_secret_read(fn["relationship_discovery"], neo4j_credentials)
        tables.observed_edges.grant(fn["relationship_discovery"], "read")
        tables.inventory.grant(fn["relationship_discovery"], "read")
        grant_bedrock_invoke(fn["relationship_discovery"], self, [models.reasoner_model_id])

        grant_bedrock_invoke(fn["runbook_discovery"], self, [models.embedding_model_id, models.reasoner_model_id])

        grant_bedrock_invoke(fn["reviewer"], self, [models.reasoner_model_id])

        fn["safety"].add_to_principal_policy(amp_query)
        tables.recommendations.grant(fn["safety"], "read")

        tables.recommendations.grant(fn["pre_approval"], "read_write")
        grant_bedrock_invoke(fn["pre_approval"], self, [models.reasoner_model_id])  # the reasoner explains each SLO

        tables.approvals.grant(fn["approval_notifier"], "read_write")
        tables.recommendations.grant(fn["approval_notifier"], "read")
        channels.grant_notify(fn["approval_notifier"])

        tables.recommendations.grant(fn["finalize"], "read_write")
        tables.context.grant(fn["finalize"], "read_write")
        tables.audit.grant(fn["finalize"], "append")
        recommendation_events.grant_put_events_to(fn["finalize"])

        tables.recommendations.grant(fn["reject"], "read_write")
        tables.approvals.grant(fn["reject"], "read_write")
        tables.audit.grant(fn["reject"], "append")

        tables.feedback.grant(fn["record_feedback"], "read_write")
        tables.context.grant(fn["record_feedback"], "read_write")
        tables.recommendations.grant(fn["record_feedback"], "read")

    def __getitem__(self, folder: str) -> EngineFunction:
        return self.functions[folder]
