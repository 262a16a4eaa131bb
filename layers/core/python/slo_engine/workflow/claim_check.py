"""Claim check for the state document: Step Functions caps a state's input and output at 256 KB, so a step's result
larger than ``INLINE_LIMIT_BYTES`` is stored as a run artifact and the document carries a reference instead
(``{"$artifact": uri, "bytes": n, "sha256": digest}``). A step sees the whole document: references are resolved
before it runs. The local orchestrator and the Lambdas go through the same two functions, so a run that would
break the limit in AWS breaks it locally too (``LocalOrchestrator`` enforces it).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from slo_engine.ports import RunArtifacts

STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024
"""Step Functions' limit on a state's input or output (UTF-8 JSON)."""
INLINE_LIMIT_BYTES = 16 * 1024
"""Results up to this size stay in the document (Choice states and links read them); larger ones are stored. The
document then holds at most a few references per state, far under the limit, whatever the fleet's size."""
REF_KEY = "$artifact"


class MissingArtifact(RuntimeError):
    """A reference whose artifact is gone (expired, or another deployment's bucket): the run cannot continue."""


def encoded(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and REF_KEY in value and isinstance(value[REF_KEY], str)


def offload(artifacts: RunArtifacts | None, run_id: str | None, name: str, value: Any) -> Any:
    """``value``, or a reference to it once stored when its JSON is larger than ``INLINE_LIMIT_BYTES``."""
    if artifacts is None or not run_id:
        return value
    body = encoded(value)
    if len(body) <= INLINE_LIMIT_BYTES:
        return value
    digest = hashlib.sha256(body).hexdigest()
    uri = artifacts.put(run_id, f"{name}-{digest[:16]}.json", body)
    return {REF_KEY: uri, "bytes": len(body), "sha256": digest}


def resolve(artifacts: RunArtifacts | None, value: Any) -> Any:
    """``value`` with every reference in it (at any depth) replaced by what it refers to, checked by digest."""
    if is_reference(value):
        if artifacts is None:
            raise MissingArtifact(f"the document refers to {value[REF_KEY]} but no artifact store is configured")
        try:
            body = artifacts.get(value[REF_KEY])
        except KeyError as error:
            raise MissingArtifact(str(error)) from error
        if value.get("sha256") and hashlib.sha256(body).hexdigest() != value["sha256"]:
            raise MissingArtifact(f"{value[REF_KEY]} does not hold what the document recorded (digest differs)")
        return resolve(artifacts, json.loads(body))
    if isinstance(value, dict):
        return {key: resolve(artifacts, item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(artifacts, item) for item in value]
    return value


def without_references(value: Any) -> Any:
    """``value`` with every reference replaced by None (what is left of a record whose artifacts expired)."""
    if is_reference(value):
        return None
    if isinstance(value, dict):
        return {key: without_references(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_references(item) for item in value]
    return value


def run_id_of(document: Any) -> str | None:
    """The run id of a state document (or of a task input that wraps one under ``state``)."""
    if not isinstance(document, dict):
        return None
    request = document.get("request")
    if isinstance(request, dict) and request.get("run_id"):
        return str(request["run_id"])
    return run_id_of(document.get("state"))
