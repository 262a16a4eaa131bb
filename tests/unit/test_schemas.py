"""The published JSON Schemas are the models' own (regenerate with `make schemas`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slo_engine.schemas import PUBLISHED, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_schema_matches_the_model(name):
    assert (DOCS / name).read_text() == render(name), f"docs/schemas/{name} is stale: run `make schemas`"


def test_snapshot_schema_names_the_contract_fields():
    schema = json.loads(render("snapshot.schema.json"))
    assert {
        "service",
        "window_start",
        "window_seconds",
        "requests",
        "errors",
        "latency_ms",
        "upstream",
        "downstream",
    } <= set(schema["properties"])
