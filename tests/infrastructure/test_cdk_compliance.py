"""The whole app passes its gates: ``python app.py`` prints nothing alarming, cdk-nag's AwsSolutions pack reports no
open finding and every acknowledgment is specific and explained, and cfn-lint passes on every template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file
from cloud_assembly import INFRASTRUCTURE, CloudAssembly

pytestmark = INFRASTRUCTURE

STAGES = ["State", "Ingestion", "Discovery", "Knowledge", "Reasoning", "Api"]
LINT_REGIONS = ["us-east-1", "eu-west-1"]
# W3005 (obsolete DependsOn) where CDK itself adds an explicit DependsOn on a function's or state machine's execution
# role next to the GetAtt of that role: redundant but harmless, and not something the app controls. Any other W3005
# (a DependsOn we wrote) still fails.
_CDK_ROLE_DEPENDS_ON = re.compile(r"dependency already enforced by a 'GetAtt' at 'Resources/\w+/Properties/Role(Arn)?'")


def test_app_py_prints_nothing_alarming(assembly: CloudAssembly) -> None:
    alarming = [line for line in assembly.output.splitlines() if re.search(r"warn|error|deprecat|!!", line, re.I)]
    assert alarming == []


def test_every_stage_of_the_pipeline_has_a_stack(assembly: CloudAssembly) -> None:
    assert set(assembly.templates) == {assembly.stack_name(stage) for stage in STAGES}


def test_cdk_nag_aws_solutions_checks_pass(assembly: CloudAssembly) -> None:
    reports = {report["pluginName"]: report for report in assembly.validation_report()["pluginReports"]}
    assert reports["AwsSolutions"]["conclusion"] == "success"
    assert reports["AwsSolutions"]["violations"] == []


def test_every_nag_acknowledgment_names_one_construct_and_says_why(assembly: CloudAssembly) -> None:
    acknowledged = assembly.validation_report()["pluginReports"][0]["suppressedViolations"]
    assert acknowledged, "expected the justified acknowledgments of cdk/nag.py"
    for finding in acknowledged:
        where = finding["acknowledgedAt"]
        assert where.count("/") >= 1, f"{finding['ruleName']} acknowledged on a whole stack or app: {where}"
        assert len(finding["reason"]) >= 60, f"{finding['ruleName']} at {where} has no real reason"


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_passes_on_the_template(assembly: CloudAssembly, stage: str) -> None:
    template = Path(assembly.outdir) / f"{assembly.stack_name(stage)}.template.json"
    matches = lint_file(template, config=ManualArgs(regions=LINT_REGIONS))
    problems = [
        str(match) for match in matches if not (match.rule.id == "W3005" and _CDK_ROLE_DEPENDS_ON.search(match.message))
    ]
    assert problems == []
