"""A REST API with the defaults every engine API shares: regional endpoint, JSON access logs with retention, execution
logging, X-Ray tracing, stage and per-method throttling, a request validator and an AWS WAF rate rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.config import DeploymentConfig, ThrottleSettings
from cdk.constructs.python_function import log_retention
from cdk.constructs.rate_limited_web_acl import RateLimitedWebAcl


class LoggedRestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        description: str,
        stage_throttle: ThrottleSettings,
        method_throttles: Mapping[str, ThrottleSettings] | None = None,
        waf_metric_prefix: str,
        waf_public_paths: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(config.lambda_defaults.log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY,
        )
        self.method_throttles = dict(method_throttles or {})
        self.api = apigateway.RestApi(
            self,
            "Api",
            description=description,
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name=config.api.stage_name,
                throttling_rate_limit=stage_throttle.rate_limit,
                throttling_burst_limit=stage_throttle.burst_limit,
                method_options={
                    key: apigateway.MethodDeploymentOptions(
                        throttling_rate_limit=throttle.rate_limit,
                        throttling_burst_limit=throttle.burst_limit,
                        logging_level=apigateway.MethodLoggingLevel.ERROR,
                        metrics_enabled=True,
                        data_trace_enabled=False,
                    )
                    for key, throttle in self.method_throttles.items()
                },
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        self.request_validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        self.web_acl = RateLimitedWebAcl(
            self,
            "Firewall",
            stage_arn=self.api.deployment_stage.stage_arn,
            requests_per_5_minutes=config.api.waf_requests_per_5_minutes,
            metric_prefix=waf_metric_prefix,
            public_path_prefixes=[f"/{config.api.stage_name}{path}" for path in waf_public_paths],
            public_requests_per_5_minutes=config.api.waf_public_requests_per_5_minutes,
        )

    def add_method(
        self,
        path: str,
        http_method: str,
        integration: apigateway.Integration,
        *,
        authorization_type: apigateway.AuthorizationType,
        api_key_required: bool = False,
        authorizer: apigateway.IAuthorizer | None = None,
    ) -> apigateway.Method:
        resource = self.api.root.resource_for_path(path)
        return resource.add_method(
            http_method,
            integration,
            authorization_type=authorization_type,
            authorizer=authorizer,
            api_key_required=api_key_required,
            request_validator=self.request_validator,
        )

    def check_method_throttles(self) -> None:
        """Fail synthesis when a configured method throttle names a route this API does not have."""
        routes = {
            f"{method.resource.path}/{method.http_method}" for method in self.api.methods if method.resource.path != "/"
        }
        unknown = sorted(set(self.method_throttles) - routes)
        if unknown:
            raise ValueError(f"method throttles for unknown routes {unknown}; routes are {sorted(routes)}")
