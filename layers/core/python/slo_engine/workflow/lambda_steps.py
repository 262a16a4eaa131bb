"""The entry the reasoning Lambdas call: one state of the state machine over the core.

The engine is built once per container by ``Engine.from_env()``: AWS adapters where their environment
variables are set (DynamoDB state and approvals, EventBridge, Bedrock), embedded defaults otherwise.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from slo_engine.engine import Engine
from slo_engine.workflow.claim_check import offload, resolve, run_id_of
from slo_engine.workflow.steps import STEPS

HUMAN_APPROVAL_STATE = "HumanApproval"
logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def engine_from_env() -> Engine:
    return Engine.from_env()


class UnknownStateError(ValueError):
    pass


def run_state(state_name: str, event: dict[str, Any], engine: Engine | None = None) -> Any:
    """Run the core function behind ``state_name`` on the state document ``event``: the references to stored parts
    are resolved first, and a result too large for the document is stored and returned as a reference."""
    if state_name != HUMAN_APPROVAL_STATE and state_name not in STEPS:
        known = ", ".join(sorted([*STEPS, HUMAN_APPROVAL_STATE]))
        raise UnknownStateError(f"no core step for state {state_name!r}; known: {known}")
    engine = engine or engine_from_env()
    run_id = run_id_of(event)
    event = resolve(engine.artifacts, event)
    if state_name == HUMAN_APPROVAL_STATE:
        # Needs the approval channels (secrets, SNS, Slack): built by the entrypoint from the environment.
        from slo_engine.entrypoints.approval_notifier import human_approval

        return human_approval(engine, event)
    step = STEPS[state_name]
    if run_id and hasattr(engine.reasoner, "execution_id"):
        engine.reasoner.execution_id = str(run_id)  # token accounting per execution (Bedrock reasoner)
    result = step(engine, event)
    ledger = getattr(engine.reasoner, "ledger", None)
    if run_id and ledger is not None and str(run_id) in ledger.executions:
        logger.info("model tokens for %s after %s: %s", run_id, state_name, ledger.executions[str(run_id)])
    return offload(engine.artifacts, run_id, state_name, result)
