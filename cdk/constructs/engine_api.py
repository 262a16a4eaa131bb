"""The engine's REST API: IAM-authorized, API-key-metered service routes for system integrations (with a
least-privilege Backstage role), the same operations under ``/frontend`` for people behind a Cognito authorizer, both
served by the api Lambda, and the public HMAC-signed approval-link routes served by the approval callback Lambda
(which alone may resume the workflow).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig
from cdk.constructs.approval_channels import ApprovalChannels
from cdk.constructs.logged_rest_api import LoggedRestApi
from cdk.constructs.people_user_pool import PeopleUserPool
from cdk.constructs.python_function import EngineFunction, EngineLayers
from cdk.constructs.recommendation_workflow import recommendation_state_machine_name
from cdk.constructs.service_documents_store import RunArtifactsStore
from cdk.constructs.state_tables import StateTables
from cdk.permissions import grant_bedrock_invoke, grant_secret_read

SERVICE_ROUTES = (
    ("/recommendations", "POST"),
    ("/recommendations/{id}", "GET"),
    ("/recommendations/{id}/feedback", "POST"),
    ("/services/{name}/slos", "GET"),
    ("/converse", "POST"),
)
APPROVAL_ROUTES = (("/approvals/{id}", "GET"), ("/approvals/{id}", "POST"))
PEOPLE_PREFIX = "/frontend"
BACKSTAGE_ROUTES = (
    ("/recommendations/*", "GET"),
    ("/services/*/slos", "GET"),
    ("/recommendations/*/feedback", "POST"),
    ("/converse", "POST"),
)
"""What the Backstage role may invoke: read state, give feedback, ask; never start runs or decide."""


class EngineApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: EngineLayers,
        tables: StateTables,
        state_machine: sfn.IStateMachine,
        channels: ApprovalChannels,
        run_artifacts: RunArtifactsStore,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.api
        table_environment = {table.environment_variable: table.table.table_name for table in tables.all}

        self.handler = EngineFunction(
            self,
            "Handler",
            handler_folder="api",
            description="Recommendations, service SLOs, feedback and conversations (IAM-signed callers)",
            config=config,
            layers=layers,
            environment={
                **table_environment,
                "SLO_ENGINE_STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "SLO_ENGINE_REASONER_MODEL_ID": config.models.reasoner_model_id,
                run_artifacts.environment_variable: run_artifacts.bucket_name_for(self),
            },
        )
        state_machine.grant_start_execution(self.handler.role)
        run_artifacts.grant_read(self.handler.role)  # a run's output refers to its large parts
        # GET /recommendations/{run id} reads the execution it started (status and output), nothing else.
        machine_name = recommendation_state_machine_name(config)
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution"],
                resources=[
                    cdk.Stack.of(self).format_arn(
                        service="states",
                        resource="execution",
                        resource_name=f"{machine_name}:*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        nag.api_reads_its_executions(self.handler.role, machine_name)
        tables.recommendations.grant(self.handler.role, "read")
        tables.approvals.grant(self.handler.role, "read")
        tables.context.grant(self.handler.role, "read")
        tables.context.grant(self.handler.role, "append")  # POST /converse remembers the exchange
        tables.feedback.grant(self.handler.role, "read_write")
        tables.audit.grant(self.handler.role, "append")
        grant_bedrock_invoke(self.handler.role, self, [config.models.reasoner_model_id])

        self.approval_callback = EngineFunction(
            self,
            "ApprovalCallback",
            handler_folder="approval_callback",
            description="Verifies signed approval links and resumes the workflow (SendTaskSuccess / SendTaskFailure)",
            config=config,
            layers=layers,
            environment={
                **table_environment,
                **channels.environment,
                "SLO_ENGINE_STATE_MACHINE_ARN": state_machine.state_machine_arn,
            },
        )
        state_machine.grant_task_response(self.approval_callback.role)
        tables.approvals.grant(self.approval_callback.role, "read_write")
        tables.recommendations.grant(self.approval_callback.role, "read_write")
        tables.audit.grant(self.approval_callback.role, "append")
        grant_secret_read(self.approval_callback.role, channels.link_signing_key, channels.slack)

        self.rest_api = LoggedRestApi(
            self,
            "Api",
            config=config,
            description="SLO engine API: recommendations, SLOs, feedback, conversations and approval links",
            stage_throttle=settings.stage_throttle,
            method_throttles=settings.method_throttles,
            waf_metric_prefix="EngineApi",
            waf_public_paths=["/approvals/"],
        )
        service = apigateway.LambdaIntegration(self.handler.function)
        self.service_methods: dict[str, apigateway.Method] = {}
        for path, http_method in SERVICE_ROUTES:
            method = self.rest_api.add_method(
                path, http_method, service, authorization_type=apigateway.AuthorizationType.IAM, api_key_required=True
            )
            nag.iam_authorized_route(method)
            self.service_methods[f"{path}/{http_method}"] = method
        self.people = PeopleUserPool(self, "People", config=config)
        self.authorizer = apigateway.CognitoUserPoolsAuthorizer(
            self,
            "PeopleAuthorizer",
            cognito_user_pools=[self.people.user_pool],
            identity_source="method.request.header.Authorization",
        )
        self.people_methods: dict[str, apigateway.Method] = {}
        for path, http_method in SERVICE_ROUTES:
            method = self.rest_api.add_method(
                PEOPLE_PREFIX + path,
                http_method,
                service,
                authorization_type=apigateway.AuthorizationType.COGNITO,
                authorizer=self.authorizer,
            )
            self.people_methods[f"{PEOPLE_PREFIX}{path}/{http_method}"] = method
        callback = apigateway.LambdaIntegration(self.approval_callback.function)
        for path, http_method in APPROVAL_ROUTES:
            method = self.rest_api.add_method(
                path, http_method, callback, authorization_type=apigateway.AuthorizationType.NONE
            )
            nag.signed_route_without_iam(method, "the link's HMAC-SHA256 signature, expiry and single use")
        self.rest_api.check_method_throttles()

        self.usage_plan = self.rest_api.api.add_usage_plan(
            "IntegrationsPlan",
            description="System integrations (Backstage and other tools): one API key per team",
            throttle=apigateway.ThrottleSettings(
                rate_limit=settings.stage_throttle.rate_limit, burst_limit=settings.stage_throttle.burst_limit
            ),
            quota=apigateway.QuotaSettings(limit=settings.usage_plan_quota_per_day, period=apigateway.Period.DAY),
        )
        self.usage_plan.add_api_stage(
            stage=self.rest_api.api.deployment_stage,
            throttle=[
                apigateway.ThrottlingPerMethod(
                    method=self.service_methods[key],
                    throttle=apigateway.ThrottleSettings(rate_limit=limit.rate_limit, burst_limit=limit.burst_limit),
                )
                for key, limit in settings.method_throttles.items()
                if key in self.service_methods
            ],
        )
        self.api_keys = {}
        for team in settings.integration_teams:
            key = self.rest_api.api.add_api_key(
                f"ApiKey{''.join(part.capitalize() for part in team.split('-'))}",
                description=f"API key of the {team} integration",
            )
            self.usage_plan.add_api_key(key)
            self.api_keys[team] = key

        self.backstage_role = self._backstage_role(config)

        self.approval_base_url = ssm.StringParameter(
            self,
            "ApprovalBaseUrl",
            parameter_name=channels.base_url_parameter_name,
            string_value=cdk.Fn.join("", [self.rest_api.api.url, "approvals/"]),
            description="Base URL of approval links (read by the approval notifier)",
        )

    def _backstage_role(self, config: DeploymentConfig) -> iam.Role:
        """The role Backstage's backend assumes to sign its requests: execute-api:Invoke on its routes only."""
        principals: list[iam.IPrincipal] = [iam.ArnPrincipal(arn) for arn in config.api.backstage_principal_arns] or [
            iam.AccountRootPrincipal()
        ]
        role = iam.Role(
            self,
            "BackstageRole",
            assumed_by=iam.CompositePrincipal(*principals),
            description="Backstage (system integration): read recommendations and SLOs, give feedback, ask questions",
            max_session_duration=cdk.Duration.hours(1),
        )
        stage = self.rest_api.api.deployment_stage.stage_name
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["execute-api:Invoke"],
                resources=[self.rest_api.api.arn_for_execute_api(m, p, stage) for p, m in BACKSTAGE_ROUTES],
            )
        )
        stack = cdk.Stack.of(self)
        api_id, stage_id = (
            stack.get_logical_id(resource.node.default_child)  # type: ignore[arg-type]
            for resource in (self.rest_api.api, self.rest_api.api.deployment_stage)
        )
        prefix = "arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>"
        nag.backstage_invoke_routes(
            role, [f"IAM5[Resource::{prefix}:<{api_id}>/<{stage_id}>/{m}{p}]" for p, m in BACKSTAGE_ROUTES if "*" in p]
        )
        return role

    @property
    def url(self) -> str:
        return self.rest_api.api.url
