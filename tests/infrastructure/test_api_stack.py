"""ApiStack (and the webhook API): throttling equals the configuration, every route is authorized except the signed
webhook and approval-link routes (people use Cognito on /frontend, integrations IAM and an API key), the Backstage
role is least-privilege, and the stages are logged, traced, metered and behind AWS WAF rate rules."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match
from cloud_assembly import INFRASTRUCTURE, CloudAssembly
from template_queries import method_routes

pytestmark = INFRASTRUCTURE

PUBLIC_ROUTES = {"POST /webhooks/github", "POST /webhooks/bitbucket", "GET /approvals/{id}", "POST /approvals/{id}"}
SERVICE_ROUTES = {
    "POST /recommendations",
    "GET /recommendations/{id}",
    "POST /recommendations/{id}/feedback",
    "GET /services/{name}/slos",
    "POST /converse",
}


def _all_routes(assembly: CloudAssembly) -> dict[str, dict]:
    routes: dict[str, dict] = {}
    for template in assembly.templates.values():
        routes.update(method_routes(template))
    return routes


def _stage(assembly: CloudAssembly, stage: str = "Api") -> dict:
    stages = assembly.resources("AWS::ApiGateway::Stage", stage)
    assert len(stages) == 1
    return next(iter(stages.values()))["Properties"]


def test_every_method_setting_keeps_execution_logging_and_metrics(assembly: CloudAssembly) -> None:
    for setting in _stage(assembly)["MethodSettings"]:
        assert (setting["LoggingLevel"], setting["MetricsEnabled"]) == ("ERROR", True), setting["ResourcePath"]


def test_stage_throttling_equals_the_config(assembly: CloudAssembly) -> None:
    throttle = assembly.config.api.stage_throttle
    settings = {s["ResourcePath"]: s for s in _stage(assembly)["MethodSettings"]}
    assert settings["/*"]["ThrottlingRateLimit"] == throttle.rate_limit
    assert settings["/*"]["ThrottlingBurstLimit"] == throttle.burst_limit


def test_method_throttling_equals_the_config(assembly: CloudAssembly) -> None:
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in _stage(assembly)["MethodSettings"]}
    assert assembly.config.api.method_throttles
    for key, throttle in assembly.config.api.method_throttles.items():
        path, method = key.rsplit("/", 1)
        setting = settings[("/" + path.replace("/", "~1"), method)]
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (
            throttle.rate_limit,
            throttle.burst_limit,
        )


def test_no_route_is_unauthenticated_except_the_signed_webhook_and_approval_routes(assembly: CloudAssembly) -> None:
    routes = _all_routes(assembly)
    unauthenticated = {route for route, m in routes.items() if m["Properties"]["AuthorizationType"] == "NONE"}
    assert unauthenticated == PUBLIC_ROUTES


def test_service_routes_use_iam_authorization_and_an_api_key(assembly: CloudAssembly) -> None:
    routes = _all_routes(assembly)
    assert set(routes) >= SERVICE_ROUTES
    for route in SERVICE_ROUTES:
        properties = routes[route]["Properties"]
        assert properties["AuthorizationType"] == "AWS_IAM", route
        assert properties["ApiKeyRequired"] is True, route


def test_usage_plan_meters_the_stage_with_one_key_per_integration_team(assembly: CloudAssembly) -> None:
    template = assembly.template("Api")
    api = assembly.config.api
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": api.stage_throttle.rate_limit, "BurstLimit": api.stage_throttle.burst_limit},
            "Quota": {"Limit": api.usage_plan_quota_per_day, "Period": "DAY"},
            "ApiStages": [Match.object_like({"Stage": Match.any_value()})],
        },
    )
    template.resource_count_is("AWS::ApiGateway::ApiKey", len(api.integration_teams))
    template.resource_count_is("AWS::ApiGateway::UsagePlanKey", len(api.integration_teams))


def test_every_stage_writes_access_logs_and_traces(assembly: CloudAssembly) -> None:
    for stage in ("Api", "Knowledge"):
        properties = _stage(assembly, stage)
        assert "DestinationArn" in properties["AccessLogSetting"], stage
        assert properties["TracingEnabled"] is True, stage


def test_every_stage_is_behind_a_waf_rate_rule(assembly: CloudAssembly) -> None:
    limit = assembly.config.api.waf_requests_per_5_minutes
    for stage in ("Api", "Knowledge"):
        template = assembly.template(stage)
        template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
        template.has_resource_properties(
            "AWS::WAFv2::WebACL",
            {
                "Scope": "REGIONAL",
                "Rules": Match.array_with(
                    [Match.object_like({"Statement": {"RateBasedStatement": Match.object_like({"Limit": limit})}})]
                ),
            },
        )


def test_approval_base_url_is_published_for_the_notifier(assembly: CloudAssembly) -> None:
    assembly.template("Api").has_resource_properties(
        "AWS::SSM::Parameter", {"Name": f"{assembly.config.parameter_prefix}/approval-base-url"}
    )


PEOPLE_ROUTES = {route.replace(" /", " /frontend/", 1) for route in SERVICE_ROUTES}


def test_people_routes_use_the_cognito_authorizer_and_no_api_key(assembly: CloudAssembly) -> None:
    routes = _all_routes(assembly)
    authorizers = assembly.resources("AWS::ApiGateway::Authorizer", "Api")
    (authorizer_id,) = [
        key.split("/")[-1] for key, a in authorizers.items() if a["Properties"]["Type"] == "COGNITO_USER_POOLS"
    ]
    for route in PEOPLE_ROUTES:
        properties = routes[route]["Properties"]
        assert properties["AuthorizationType"] == "COGNITO_USER_POOLS", route
        assert properties["AuthorizerId"] == {"Ref": authorizer_id}, route
        assert properties.get("ApiKeyRequired", False) is False, route


def test_the_people_user_pool_takes_no_self_sign_up_and_requires_mfa_and_strong_passwords(
    assembly: CloudAssembly,
) -> None:
    (pool,) = assembly.resources("AWS::Cognito::UserPool", "Api").values()
    properties = pool["Properties"]
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert properties["MfaConfiguration"] == "ON"
    policy = properties["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12 and all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )


def test_the_backstage_role_may_only_invoke_its_read_feedback_and_converse_routes(assembly: CloudAssembly) -> None:
    from template_queries import role_statements

    template = assembly.templates[assembly.stack_name("Api")]
    (role_id,) = [
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "BackstageRole" in logical_id
    ]
    statements = role_statements(template, role_id)
    assert {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "execute-api:Invoke"
    }
    resources = json.dumps([s["Resource"] for s in statements])
    for allowed in (
        "/GET/recommendations/*",
        "/GET/services/*/slos",
        "/POST/recommendations/*/feedback",
        "/POST/converse",
    ):
        assert allowed in resources, allowed
    assert '/POST/recommendations"' not in resources and "/approvals" not in resources and "/*/*" not in resources


def test_the_public_approval_paths_have_their_own_stricter_waf_rate_rule(assembly: CloudAssembly) -> None:
    api = assembly.config.api
    assembly.template("Api").has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Rules": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Name": "RateLimitPublicPathsPerIp",
                            "Statement": {
                                "RateBasedStatement": Match.object_like(
                                    {
                                        "Limit": api.waf_public_requests_per_5_minutes,
                                        "ScopeDownStatement": {
                                            "ByteMatchStatement": Match.object_like(
                                                {"SearchString": f"/{api.stage_name}/approvals/"}
                                            )
                                        },
                                    }
                                )
                            },
                        }
                    )
                ]
            )
        },
    )


def test_the_api_may_describe_only_the_executions_of_the_named_state_machine(assembly: CloudAssembly) -> None:
    from template_queries import function_role_id, functions_by_folder, role_statements

    (machine,) = assembly.resources("AWS::StepFunctions::StateMachine", "Reasoning").values()
    name = machine["Properties"]["StateMachineName"]
    assert name == f"{assembly.config.stack_prefix}-recommendation"
    api = assembly.templates[assembly.stack_name("Api")]
    _, function = functions_by_folder(api)["api"]
    statements = [
        s for s in role_statements(api, function_role_id(function)) if "states:DescribeExecution" in str(s["Action"])
    ]
    assert len(statements) == 1
    assert f":execution:{name}:*" in json.dumps(statements[0]["Resource"])


def test_the_api_reads_run_artifacts_to_show_a_run_whole_and_writes_none(assembly: CloudAssembly) -> None:
    from template_queries import as_list, function_role_id, functions_by_folder, role_statements

    template = assembly.templates[assembly.stack_name("Api")]
    _, handler = functions_by_folder(template)["api"]
    assert "SLO_ENGINE_RUN_ARTIFACTS_BUCKET" in handler["Properties"]["Environment"]["Variables"]
    statements = role_statements(template, function_role_id(handler))
    s3_actions = {a for s in statements for a in as_list(s["Action"]) if a.startswith("s3:")}
    assert s3_actions == {"s3:GetObject", "s3:ListBucket"}
