"""Lambda defaults in one place: the shared core and dependency layers, and ``EngineFunction`` (one role, one log group
with retention, ARM64, active X-Ray tracing, Powertools settings) for every handler under ``lambdas/<name>/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk import nag
from cdk.config import DeploymentConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS_DIR = REPO_ROOT / "lambdas"
CORE_LAYER_DIR = REPO_ROOT / "layers" / "core"
DEPENDENCIES_LAYER_DIR = REPO_ROOT / "layers" / "deps"
HANDLER = "handler.lambda_handler"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/*.egg-info", ".pytest_cache", ".mypy_cache", "requirements*.txt"]
CORE_LAYER_DESCRIPTION = "slo_engine core package (layers/core)"
DEPENDENCIES_LAYER_DESCRIPTION = "third-party dependencies of the core (layers/deps, built by make layer)"

_RUNTIMES = {"3.11": lambda_.Runtime.PYTHON_3_11, "3.12": lambda_.Runtime.PYTHON_3_12}


def python_runtime(config: DeploymentConfig) -> lambda_.Runtime:
    return _RUNTIMES[config.lambda_defaults.python_version]


class EngineLayers(Construct):
    """The two layers every function uses; one instance per stack (the asset itself is uploaded once)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        runtime = python_runtime(config)
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            code=lambda_.Code.from_asset(str(CORE_LAYER_DIR), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[runtime],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description=CORE_LAYER_DESCRIPTION,
        )
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(DEPENDENCIES_LAYER_DIR), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[runtime],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description=DEPENDENCIES_LAYER_DESCRIPTION,
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.core]


class EngineFunction(Construct):
    """One handler folder deployed as a function, with its own role (no managed policies) and log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler_folder: str,
        description: str,
        config: DeploymentConfig,
        layers: EngineLayers,
        environment: Mapping[str, str] | None = None,
        timeout: cdk.Duration | None = None,
        memory_mb: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code_dir = LAMBDAS_DIR / handler_folder
        if not (code_dir / "handler.py").is_file():
            raise FileNotFoundError(f"{code_dir / 'handler.py'} does not exist")
        defaults = config.lambda_defaults
        self.handler_folder = handler_folder

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention(defaults.log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{handler_folder} Lambda ({config.project_name} {config.environment})",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=python_runtime(config),
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(code_dir), exclude=ASSET_EXCLUDES),
            layers=layers.all,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout or cdk.Duration.seconds(defaults.timeout_seconds),
            memory_size=memory_mb or defaults.memory_mb,
            environment={
                "POWERTOOLS_SERVICE_NAME": handler_folder,
                "POWERTOOLS_METRICS_NAMESPACE": config.metrics_namespace,
                "POWERTOOLS_LOG_LEVEL": defaults.log_level,
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "SLO_ENGINE_ENVIRONMENT": config.environment,
                **(environment or {}),
            },
        )
        nag.lambda_runtime_pinned(self.function, defaults.python_version)
        nag.xray_tracing_write(self.role)

    def add_environment(self, name: str, value: str) -> None:
        self.function.add_environment(name, value)

    def add_to_policy(self, *statements: iam.PolicyStatement) -> None:
        for statement in statements:
            self.role.add_to_principal_policy(statement)


_RETENTION_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def log_retention(days: int) -> logs.RetentionDays:
    """The CloudWatch Logs retention for ``days``; only the values CloudWatch accepts are allowed."""
    try:
        return _RETENTION_BY_DAYS[days]
    except KeyError:
        raise ValueError(
            f"log retention of {days} days is not one CloudWatch Logs accepts: {sorted(_RETENTION_BY_DAYS)}"
        ) from None
