"""Dependencies read from a service's docs and config text: the rule-based extractor (the embedded reasoner's
answer) and ``validate_extracted``, which checks any reader's answer (rules or a language model) against the
schema and the known services before anything reaches the graph.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from slo_engine.discovery.declared import from_env_text
from slo_engine.discovery.events import ExtractedDependency
from slo_engine.discovery.naming import ServiceNames

HARD_CUES = (
    "calls",
    "call",
    "depends on",
    "depend on",
    "requires",
    "uses",
    "queries",
    "reads from",
    "writes to",
    "talks to",
    "fetches from",
    "synchronous",
    "blocks on",
)
SOFT_CUES = ("async", "optional", "fallback", "best effort", "best-effort", "publish", "queue", "event")
"""Cues match at the start of a word: "async" also finds "asynchronously", "publish" finds "published"."""
REVERSE_CUES = ("called by", "used by", "depended on by", "caller", "client", "consumer", "upstream")
"""A sentence about who calls the service names its callers, not its dependencies: skipped."""
MAX_EVIDENCE_CHARS = 200
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n\s*[-*]\s+")


def extract_dependencies_by_rules(service: str, text: str, known_services: Sequence[str]) -> list[ExtractedDependency]:
    """Known services mentioned next to a dependency cue ("calls", "depends on" ...), and the hosts of
    ``NAME_URL=...`` lines (which may name unknown services: the validation rejects those).

    A sentence with a soft cue ("async", "optional", "fallback" ...) gives a soft edge. One answer per service,
    the strongest kept. Deterministic.
    """
    names = ServiceNames(name for name in known_services if name != service)
    found: dict[str, ExtractedDependency] = {}
    patterns = {name: _mention_pattern(name) for name in names.names}
    for sentence in _SENTENCES.split(text):
        lowered = sentence.lower()
        hard_cue = any(re.search(rf"\b{re.escape(cue)}", lowered) for cue in HARD_CUES)
        soft_cue = any(re.search(rf"\b{re.escape(cue)}", lowered) for cue in SOFT_CUES)
        if not (hard_cue or soft_cue) or any(re.search(rf"\b{cue}", lowered) for cue in REVERSE_CUES):
            continue
        for name, pattern in patterns.items():
            if pattern.search(sentence):
                kind = "soft" if soft_cue else "hard"
                candidate = ExtractedDependency(
                    service=name,
                    kind=kind,
                    confidence=0.6 if kind == "hard" else 0.5,
                    evidence=" ".join(sentence.split())[:MAX_EVIDENCE_CHARS],
                )
                _keep_strongest(found, candidate)
    for declared in from_env_text(text).dependencies:
        resolved = names.resolve(declared.target) or next(
            (n for n in map(names.resolve, declared.alternatives) if n is not None), None
        )
        _keep_strongest(
            found,
            ExtractedDependency(
                service=resolved or declared.target, kind="hard", confidence=0.7, evidence=declared.evidence[:200]
            ),
        )
    return [found[name] for name in sorted(found)]


@dataclass
class ExtractionVerdict:
    """What survived validation, and why the rest did not."""

    accepted: list[ExtractedDependency] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def validate_extracted(service: str, answer: object, known_services: Sequence[str]) -> ExtractionVerdict:
    """Check a reader's answer item by item: the schema, a known service (by any spelling, then written with its
    known name), not the service itself. A malformed answer as a whole is rejected with the reason."""
    verdict = ExtractionVerdict()
    if not isinstance(answer, list | tuple):
        verdict.rejected.append(f"extractor answer for {service!r} is not a list (got {type(answer).__name__})")
        return verdict
    names = ServiceNames(known_services)
    for index, item in enumerate(answer):
        try:
            dependency = item if isinstance(item, ExtractedDependency) else ExtractedDependency.model_validate(item)
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())
            verdict.rejected.append(f"extractor item {index} for {service!r} is invalid: {reasons}")
            continue
        known = names.resolve(dependency.service)
        if known is None:
            verdict.rejected.append(
                f"extractor named unknown service {dependency.service!r} as a dependency of {service!r}; ignored"
            )
            continue
        if known == service:
            verdict.rejected.append(f"self-loop: extractor named {service!r} as its own dependency; ignored")
            continue
        verdict.accepted.append(dependency.model_copy(update={"service": known}))
    return verdict


def _mention_pattern(name: str) -> re.Pattern[str]:
    """``order-service`` also matches "order service" and "order_service", as a whole word, any case."""
    words = (re.escape(part) for part in re.split(r"[-_ ]+", name))
    return re.compile(r"(?<![\w-])" + r"[-_ ]".join(words) + r"(?![\w-])", re.IGNORECASE)


def _keep_strongest(found: dict[str, ExtractedDependency], candidate: ExtractedDependency) -> None:
    current = found.get(candidate.service)
    rank = (candidate.kind == "hard", candidate.confidence)
    if current is None or rank > (current.kind == "hard", current.confidence):
        found[candidate.service] = candidate
