"""The synthesized CDK app as infrastructure tests see it: ``synthesize`` runs ``python app.py`` (the real entry point)
into a folder and ``CloudAssembly`` reads its templates, assets and cdk-nag validation report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdk.config import CONTEXT_KEY, DeploymentConfig  # noqa: E402

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

# Every infrastructure module sets ``pytestmark = INFRASTRUCTURE``: slow, and one xdist group so one worker synthesizes.
INFRASTRUCTURE = [pytest.mark.slow, pytest.mark.xdist_group("cdk_synth")]
SYNTH_TIMEOUT_SECONDS = 300


@dataclass
class CloudAssembly:
    """The synthesized app: its output folder, what ``python app.py`` printed, and the stacks' templates."""

    outdir: Path
    output: str
    config: DeploymentConfig
    templates: dict[str, dict[str, Any]]
    _assertions: dict[str, Template] = field(default_factory=dict)  # loaded lazily: importing aws_cdk starts jsii

    def stack_name(self, stage: str) -> str:
        """``"Api"`` -> ``"SloEngine-dev-Api"``."""
        return f"{self.config.stack_prefix}-{stage}"

    def template(self, stage: str) -> Template:
        from aws_cdk.assertions import Template

        name = self.stack_name(stage)
        if name not in self._assertions:
            self._assertions[name] = Template.from_json(self.templates[name])
        return self._assertions[name]

    def resources(self, resource_type: str, stage: str | None = None) -> dict[str, dict[str, Any]]:
        """Resources of one type, keyed ``"<stack>/<logical id>"`` (all stacks unless ``stage`` is given)."""
        found = {}
        for stack, template in self.templates.items():
            if stage is not None and stack != self.stack_name(stage):
                continue
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == resource_type:
                    found[f"{stack}/{logical_id}"] = resource
        return found

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text(encoding="utf-8"))


class SynthesisFailedError(RuntimeError):
    """``python app.py`` exited non-zero (a cdk-nag finding, a validation error, a bug in the app)."""


def synthesize(outdir: Path) -> CloudAssembly:
    """Run ``python app.py`` with ``CDK_OUTDIR=outdir`` and no CLI context, and read what it wrote."""
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    environment.pop("CDK_CONTEXT_JSON", None)
    completed = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise SynthesisFailedError(f"python app.py failed with exit code {completed.returncode}:\n{output[-6000:]}")
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    templates = {
        name: json.loads((outdir / artifact["properties"]["templateFile"]).read_text(encoding="utf-8"))
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    context = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    config = DeploymentConfig.from_context(context.get(CONTEXT_KEY))
    return CloudAssembly(outdir=outdir, output=output, config=config, templates=templates)
