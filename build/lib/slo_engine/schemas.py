"""JSON Schemas of the public contracts, generated from the pydantic models (``docs/schemas/``).

Run ``python -m slo_engine.schemas docs/schemas`` to refresh them; a test fails when they drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from slo_engine.models import RawEvent, Recommendation, ServiceGraph, ServiceSnapshot

PUBLISHED: dict[str, type[BaseModel] | TypeAdapter[object]] = {
    "snapshot.schema.json": ServiceSnapshot,
    "raw-event.schema.json": RawEvent,
    "graph.schema.json": ServiceGraph,
    "recommendation.schema.json": Recommendation,
    "recommendations.schema.json": TypeAdapter(list[Recommendation]),
}


def render(name: str) -> str:
    model = PUBLISHED[name]
    if isinstance(model, TypeAdapter):
        schema = model.json_schema(by_alias=True)
    else:
        schema = model.model_json_schema(by_alias=True)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PUBLISHED:
        path = folder / name
        path.write_text(render(name))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(p)
