"""The Rego guardrails (``slo_engine/policies/*.rego``, linked from the repo's ``policies/``) evaluated in-process.

regopy (rego-cpp) runs the policies; each violation carries its rule, an action (``revise`` the target down or
``hold`` it for a human) and the policy's own message. The standard target ladder is handed to Rego as data.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from slo_engine.slo.targets import TARGET_LADDER

POLICY_PACKAGE = "data.slo.guardrails.violation"
POLICY_DIR_ENV = "SLO_ENGINE_POLICY_DIR"


class GuardrailError(RuntimeError):
    """The policies could not be loaded or evaluated (a broken policy file, a missing engine)."""


class GuardrailFacts(BaseModel):
    """What the policies look at for one (service, SLI) target."""

    service: str
    sli: str
    target: float = Field(gt=0, le=1)
    tier: int | None = None
    history_days: float = Field(ge=0)
    dependency_ceiling: float | None = None
    attained: float | None = None
    approved_target: float | None = None
    approver: str | None = Field(default=None, description="who decides; None before a human has")

    def policy_input(self) -> dict[str, Any]:
        """The Rego input: the facts plus their display text (the policies' messages quote it)."""

        def pct(value: float | None) -> str | None:
            return None if value is None else f"{value:.4%}"

        text = {
            "target": pct(self.target),
            "dependency_ceiling": pct(self.dependency_ceiling),
            "attained": pct(self.attained),
            "approved_target": pct(self.approved_target),
            "history_days": f"{self.history_days:.1f}",
        }
        return {**self.model_dump(mode="json"), "text": text}


class Violation(BaseModel):
    """One broken rule, as the policy states it."""

    rule: str
    action: Literal["revise", "hold"]
    message: str


def policy_dir() -> Path:
    """The packaged policies (shipped in the core layer); ``SLO_ENGINE_POLICY_DIR`` overrides."""
    override = os.environ.get(POLICY_DIR_ENV)
    return Path(override) if override else Path(__file__).resolve().parent.parent / "policies"


class RegoGuardrails:
    """One compiled set of policies; evaluation is serialised (one interpreter is not thread-safe)."""

    def __init__(self, policy_files: Sequence[Path] | None = None) -> None:
        try:
            from regopy import Interpreter
        except ImportError as error:  # pragma: no cover - regopy is a runtime dependency
            raise GuardrailError("the Rego engine (regopy) is not installed") from error
        files = sorted(policy_files) if policy_files is not None else sorted(policy_dir().glob("*.rego"))
        if not files:
            raise GuardrailError(f"no Rego policies found in {policy_dir()}")
        self.policy_files = [Path(f) for f in files]
        self._lock = threading.Lock()
        self._rego = Interpreter()
        for path in self.policy_files:
            self._rego.add_module(path.name, path.read_text(encoding="utf-8"))
        self._rego.add_data_json(json.dumps({"slo": {"ladder": list(TARGET_LADDER)}}))
        # Compiled once: querying the bundle is several times faster than re-planning the query each time.
        self._bundle = self._rego.build(POLICY_PACKAGE)
        self.evaluate(GuardrailFacts(service="self-check", sli="availability", target=0.99, history_days=28))

    def evaluate(self, facts: GuardrailFacts) -> list[Violation]:
        """Every violation of every policy, in rule order then message order."""
        with self._lock:
            self._rego.set_input_term(json.dumps(facts.policy_input()))
            output = self._rego.query_bundle(self._bundle)
        if not output.ok():
            raise GuardrailError(f"guardrail policies failed to evaluate: {output}")
        expressions = json.loads(str(output.expressions()))
        found = expressions[0] if expressions else []
        violations = [Violation.model_validate(v) for v in found]
        return sorted(violations, key=lambda v: (_RULE_ORDER.get(v.rule, 99), v.message))


_RULE_ORDER = {"ceiling": 0, "history": 1, "evidence": 2, "change": 3, "approval": 4}


@lru_cache(maxsize=1)
def default_guardrails() -> RegoGuardrails:
    """The packaged policies, compiled once per process."""
    return RegoGuardrails()
