"""Scheduled entry: keeps waiting HumanApproval states alive (SendTaskHeartbeat) while their links are valid.

Schedule it more often than the state's ``HeartbeatSeconds``; without it a pending approval fails with
``States.HeartbeatTimeout`` (caught: the recommendations are rejected as timed out).
"""

from __future__ import annotations

from typing import Any

from slo_engine.engine import Engine
from slo_engine.entrypoints.wiring import approval_service_from_env


def handle(event: Any = None, context: Any = None) -> dict[str, Any]:
    return approval_service_from_env(Engine.from_env()).heartbeat_pending()
