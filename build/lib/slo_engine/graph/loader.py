"""Reading the dependency graph: the graph file (with errors fit for a CLI) and edges observed in snapshots.

Also folds parallel edges (one pair of services reported by several sources) into one: hard wins, highest confidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from slo_engine.models.graph import Dependency, DependencyKind, ServiceGraph, ServiceNode
from slo_engine.ports import EdgeTotals

MAX_LISTED_PROBLEMS = 20
"""A graph file with more problems than this lists the first ones and counts the rest."""

OBSERVED_SOURCE = "observed"
SOURCE_SEPARATOR = ","


class GraphFileError(ValueError):
    """A graph file that cannot be used. The message names the file and every problem found (CLI-ready)."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"{source}: {self.problems[0]}"
        else:
            listed = "\n".join(f"  - {problem}" for problem in self.problems[:MAX_LISTED_PROBLEMS])
            hidden = len(self.problems) - MAX_LISTED_PROBLEMS
            more = f"\n  ... and {hidden} more" if hidden > 0 else ""
            message = f"{source}: {len(self.problems)} problems\n{listed}{more}"
        super().__init__(message)


def load_graph_file(path: str | Path) -> ServiceGraph:
    """Read and validate a graph file ``{"services": [...], "dependencies": [...]}``.

    Raises ``GraphFileError`` naming the file for an unreadable file, invalid JSON (line and column),
    schema errors (with the index of the entry), unknown service names and duplicates.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraphFileError(source, ["file not found"]) from None
    except IsADirectoryError:
        raise GraphFileError(source, ["is a directory, not a graph file"]) from None
    except UnicodeDecodeError as exc:
        raise GraphFileError(source, [f"not UTF-8 text (bad byte at offset {exc.start})"]) from None
    except OSError as exc:
        raise GraphFileError(source, [f"cannot read file: {exc.strerror or exc}"]) from None
    return parse_graph_json(text, source)


def parse_graph_json(text: str, source: str = "<graph>") -> ServiceGraph:
    """Validate graph-file text (e.g. a request body or an S3 object); ``source`` names it in errors."""
    if not text.strip():
        raise GraphFileError(source, ["file is empty (expected a JSON object with services and dependencies)"])
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphFileError(source, [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    return parse_graph_document(document, source)


def parse_graph_document(document: object, source: str = "<graph>") -> ServiceGraph:
    """Validate an already-decoded graph document, collecting every problem before raising."""
    if not isinstance(document, dict):
        raise GraphFileError(
            source, [f'expected a JSON object with "services" and "dependencies", got {_json_type(document)}']
        )
    problems: list[str] = []
    raw_services = _list_field(document, "services", problems)
    raw_dependencies = _list_field(document, "dependencies", problems)

    services: list[ServiceNode] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(raw_services):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"services[{index}]" + (f" ({name!r})" if isinstance(name, str) else "")
        try:
            node = ServiceNode.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_problems(where, exc))
            if isinstance(name, str):
                first_index.setdefault(name, index)  # known, so its edges are not also reported as unknown
            continue
        if node.name in first_index:
            problems.append(f"service {node.name!r} is listed twice (services[{first_index[node.name]}] and {where})")
            continue
        first_index[node.name] = index
        services.append(node)

    dependencies: list[Dependency] = []
    first_edge: dict[tuple[str, str, str], tuple[int, DependencyKind]] = {}
    for index, raw in enumerate(raw_dependencies):
        try:
            dependency = Dependency.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_problems(f"dependencies[{index}]", exc))
            continue
        where = f"dependencies[{index}] ({dependency.from_} -> {dependency.to})"
        unknown = [
            f'unknown service {name!r} in "{end}"'
            for end, name in (("from", dependency.from_), ("to", dependency.to))
            if name not in first_index
        ]
        if unknown:
            problems.extend(f"{where}: {message}" for message in unknown)
            continue
        key = (dependency.from_, dependency.to, dependency.source)
        if key in first_edge:
            earlier, earlier_kind = first_edge[key]
            conflict = (
                f" (declared {earlier_kind} there, {dependency.kind} here)" if earlier_kind != dependency.kind else ""
            )
            problems.append(f"{where} repeats dependencies[{earlier}]{conflict}")
            continue
        first_edge[key] = (index, dependency.kind)
        dependencies.append(dependency)

    if problems:
        raise GraphFileError(source, problems)
    try:
        return ServiceGraph(services=services, dependencies=dependencies)
    except ValidationError as exc:  # the model's own checks; the ones above should have caught everything
        raise GraphFileError(source, _validation_problems("graph", exc)) from None


def graph_from_observed_edges(edges: Sequence[EdgeTotals], known: ServiceGraph | None = None) -> ServiceGraph:
    """The declared graph plus the services and edges seen in snapshots but missing from it.

    An edge carrying at least one request counts as observed. Declared edges keep their declared kind (so a
    declared soft edge stays soft); an undeclared observed edge is added as hard with ``source="observed"``.
    Services seen only in snapshots are added with ``attributes={"discovered_by": "observed"}``.
    """
    services = list(known.services) if known is not None else []
    dependencies = list(known.dependencies) if known is not None else []
    names = {service.name for service in services}
    declared = {(dependency.from_, dependency.to) for dependency in dependencies}

    observed: set[tuple[str, str]] = set()
    for edge in edges:
        if edge.requests <= 0:
            continue
        if edge.direction == "downstream":
            observed.add((edge.service, edge.peer))
        elif edge.direction == "upstream":
            observed.add((edge.peer, edge.service))
        else:
            raise ValueError(
                f"edge between {edge.service!r} and {edge.peer!r}: unknown direction {edge.direction!r} "
                "(expected 'downstream' or 'upstream')"
            )

    new_names = sorted({name for pair in observed for name in pair} - names)
    services.extend(ServiceNode(name=name, attributes={"discovered_by": OBSERVED_SOURCE}) for name in new_names)
    dependencies.extend(
        Dependency(from_=caller, to=callee, kind="hard", source=OBSERVED_SOURCE)
        for caller, callee in sorted(observed - declared)
    )
    return ServiceGraph(services=services, dependencies=dependencies)


@dataclass(slots=True)
class MergedEdge:
    """One (from, to) pair folded across the sources that reported it (``source``: sorted, comma-separated)."""

    kind: DependencyKind
    source: str
    confidence: float
    last_seen: datetime | None

    def absorb(self, dependency: Dependency) -> None:
        if dependency.kind == "hard":
            self.kind = "hard"
        sources = set(self.source.split(SOURCE_SEPARATOR))
        sources.add(dependency.source)
        self.source = SOURCE_SEPARATOR.join(sorted(sources))
        self.confidence = max(self.confidence, dependency.confidence)
        if dependency.last_seen is not None and (self.last_seen is None or dependency.last_seen > self.last_seen):
            self.last_seen = dependency.last_seen


def merged_edges(dependencies: Iterable[Dependency]) -> dict[tuple[str, str], MergedEdge]:
    """Fold parallel edges: hard wins over soft, the highest confidence and the latest ``last_seen`` are kept."""
    merged: dict[tuple[str, str], MergedEdge] = {}
    for dependency in dependencies:
        key = (dependency.from_, dependency.to)
        edge = merged.get(key)
        if edge is None:
            merged[key] = MergedEdge(dependency.kind, dependency.source, dependency.confidence, dependency.last_seen)
        else:
            edge.absorb(dependency)
    return merged


def merge_dependencies(dependencies: Iterable[Dependency]) -> list[Dependency]:
    """One ``Dependency`` per (from, to), sorted; ``source`` lists every source, comma-separated and sorted."""
    return [
        Dependency(
            from_=caller,
            to=callee,
            kind=edge.kind,
            source=edge.source,
            confidence=edge.confidence,
            last_seen=edge.last_seen,
        )
        for (caller, callee), edge in sorted(merged_edges(dependencies).items())
    ]


def _list_field(document: dict[str, Any], key: str, problems: list[str]) -> list[Any]:
    value = document.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f'"{key}" must be a list, got {_json_type(value)}')
        return []
    return value


def _validation_problems(where: str, exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        value = error.get("input")
        shown = (
            f" (got {value!r})"
            if error["type"] != "missing" and (value is None or isinstance(value, str | int | float | bool))
            else ""
        )
        problems.append(f"{where}{location}: {error['msg']}{shown}")
    return problems


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__
