"""The entry the reasoning Lambdas call: one state of the state machine over the core.

The engine is built once per container by ``Engine.from_env()``: AWS adapters where their environment
variables are set (DynamoDB state and approvals, EventBridge, Bedrock), embedded defaults otherwise.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from slo_engine.engine import Engine
from slo_engine.workflow.steps import STEPS

HUMAN_APPROVAL_STATE = "HumanApproval"


@lru_cache(maxsize=1)
def engine_from_env() -> Engine:
    return Engine.from_env()


class UnknownStateError(ValueError):
    pass


def run_state(state_name: str, event: dict[str, Any], engine: Engine | None = None) -> Any:
    """Run the core function behind ``state_name`` on the state document ``event``."""
    if state_name == HUMAN_APPROVAL_STATE:
        # Needs the approval channels (secrets, SNS, Slack): built by the entrypoint from the environment.
        from slo_engine.entrypoints.approval_notifier import human_approval

        return human_approval(engine or engine_from_env(), event)
    step = STEPS.get(state_name)
    if step is None:
        known = ", ".join(sorted([*STEPS, HUMAN_APPROVAL_STATE]))
        raise UnknownStateError(f"no core step for state {state_name!r}; known: {known}")
    return step(engine or engine_from_env(), event)
