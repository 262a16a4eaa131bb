"""Scheduled entry: keeps waiting HumanApproval states alive (SendTaskHeartbeat) while their links are valid.

Scheduled more often than the state's ``HeartbeatSeconds`` (``cdk/constructs/recommendation_workflow.py``); without
it a pending approval fails with ``States.HeartbeatTimeout`` (caught: the recommendations are rejected as timed out).
"""

from __future__ import annotations

from typing import Any

from slo_engine.approval.service import heartbeat_pending_approvals
from slo_engine.engine import Engine


def handle(event: Any = None, context: Any = None) -> dict[str, Any]:
    from slo_engine.adapters.aws.stepfunctions import StepFunctionsResumer

    engine = Engine.from_env()
    if engine.approvals is None:  # pragma: no cover - Engine.from_env always sets a store
        raise RuntimeError("no approval store configured")
    return heartbeat_pending_approvals(engine.approvals, StepFunctionsResumer())
