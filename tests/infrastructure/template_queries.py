"""Small read-only queries over synthesized CloudFormation templates that several infrastructure tests share:
IAM statements of a role, API Gateway method paths, a function's handler folder.
"""

from __future__ import annotations

from typing import Any

Template = dict[str, Any]


def role_statements(template: Template, role_logical_id: str) -> list[dict[str, Any]]:
    """Every IAM statement attached to a role: its inline policies and the AWS::IAM::Policy resources naming it."""
    resources = template["Resources"]
    statements: list[dict[str, Any]] = []
    for policy in resources[role_logical_id]["Properties"].get("Policies", []):
        statements += policy["PolicyDocument"]["Statement"]
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_logical_id} in resource["Properties"]["Roles"]:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for s in statements if s["Effect"] == "Allow" for action in as_list(s["Action"])}


def function_role_id(function: dict[str, Any]) -> str:
    role = function["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])


def handler_folder(function: dict[str, Any]) -> str:
    """The lambdas/<folder> a function deploys (EngineFunction sets POWERTOOLS_SERVICE_NAME to it)."""
    return str(function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"])


def functions_by_folder(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        handler_folder(resource): (logical_id, resource)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def method_routes(template: Template) -> dict[str, dict[str, Any]]:
    """API Gateway methods keyed ``"<HTTP method> <path>"``, the path rebuilt from the resources' PathParts."""
    resources = template["Resources"]

    def path_of(resource_ref: Any) -> str:
        if isinstance(resource_ref, dict) and "Ref" in resource_ref:
            resource = resources[resource_ref["Ref"]]
            if resource["Type"] == "AWS::ApiGateway::Resource":
                return f"{path_of(resource['Properties']['ParentId'])}/{resource['Properties']['PathPart']}"
        return ""  # the API's root resource (Fn::GetAtt RootResourceId)

    return {
        f"{method['Properties']['HttpMethod']} {path_of(method['Properties']['ResourceId']) or '/'}": method
        for method in resources.values()
        if method["Type"] == "AWS::ApiGateway::Method"
    }
