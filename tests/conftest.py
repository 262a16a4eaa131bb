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
