"""The HumanApproval state's entry: open an approval for the waiting execution (token stored, links sent)."""

from __future__ import annotations

from typing import Any

from slo_engine.engine import Engine
from slo_engine.entrypoints.wiring import approval_service_from_env


def human_approval(engine: Engine, event: dict[str, Any]) -> dict[str, Any]:
    """``event`` is the state machine's payload: ``{"taskToken", "executionId", "state"}``."""
    return approval_service_from_env(engine).open_approval(event)
