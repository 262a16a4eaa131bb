"""The entry the reasoning Lambdas call: one state of the state machine over the core.

The engine is built once per container. Until the AWS adapters land (DynamoDB state, AMP metrics,
Neo4j graph, OpenSearch index: issues 3-7), it is the embedded engine over ``SLO_ENGINE_DATA_DIR``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from slo_engine.engine import Engine
from slo_engine.workflow.steps import STEPS


@lru_cache(maxsize=1)
def engine_from_env() -> Engine:
    return Engine.embedded(Path(os.environ.get("SLO_ENGINE_DATA_DIR", "/tmp/slo-engine")))


class UnknownStateError(ValueError):
    pass


def run_state(state_name: str, event: dict[str, Any], engine: Engine | None = None) -> Any:
    """Run the core function behind ``state_name`` on the state document ``event``."""
    step = STEPS.get(state_name)
    if step is None:
        raise UnknownStateError(f"no core step for state {state_name!r}; known: {', '.join(sorted(STEPS))}")
    return step(engine or engine_from_env(), event)
