"""Shared fixtures: the sample fleet (built once per session) and the corpus location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SLO_ENGINE_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def fleet():
    from slo_engine.embedded.fleet import generate_fleet

    return generate_fleet(seed=7, days=28)


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    root = SHARED / "corpus"
    if not root.is_dir():
        pytest.skip(f"shared corpus not found at {root}")
    return root


@pytest.fixture
def lambda_context():
    """A factory of Lambda context stubs (what Powertools reads from the real one), named after the function."""
    from types import SimpleNamespace

    def make(function_name: str, memory_limit_in_mb: int = 512) -> SimpleNamespace:
        return SimpleNamespace(
            function_name=function_name,
            function_version="$LATEST",
            memory_limit_in_mb=memory_limit_in_mb,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
            aws_request_id="request-1",
            log_group_name=f"/aws/lambda/{function_name}",
            log_stream_name="stream",
            get_remaining_time_in_millis=lambda: 60_000,
        )

    return make
