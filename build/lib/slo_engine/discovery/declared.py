"""Declared dependencies: registry attributes (``depends_on``), a Backstage ``catalog-info.yaml`` (``spec.dependsOn``)
and environment-variable style URLs (``PAYMENTS_URL=http://payments.svc:8080``).

Each reader returns the names as written plus problems; the structural mapping checks them against known services.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

DEPENDS_ON_ATTRIBUTES = ("depends_on", "depends-on", "dependencies", "slo-engine:depends-on")
SOFT_DEPENDS_ON_ATTRIBUTES = ("soft_depends_on", "soft-depends-on", "slo-engine:soft-depends-on")
_ENV_URL = re.compile(
    r"^\s*(?:export\s+)?(?P<key>[A-Z][A-Z0-9_]*_(?:URL|URI|ENDPOINT|ADDR|ADDRESS|HOST))\s*[=:]\s*[\"']?(?P<value>[^\s\"']+)",
    re.MULTILINE,
)
_ENV_KEY = re.compile(r"^[A-Z][A-Z0-9_]*_(?:URL|URI|ENDPOINT|ADDR|ADDRESS|HOST)$")
_KEY_SUFFIX = re.compile(r"_(?:URL|URI|ENDPOINT|ADDR|ADDRESS|HOST)$")
_NOT_SERVICES = {"localhost", "127.0.0.1", "0.0.0.0"}


@dataclass(frozen=True)
class DeclaredDependency:
    """A dependency named in metadata: ``target`` as written, the place it came from, and its kind."""

    target: str
    source: Literal["registry", "catalog", "env"]
    kind: Literal["hard", "soft"] = "hard"
    evidence: str = ""
    alternatives: tuple[str, ...] = ()
    """other spellings that may name the same service (an env var's prefix when its URL's host is unknown)"""


@dataclass
class DeclaredReading:
    dependencies: list[DeclaredDependency] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def from_registry_attributes(attributes: Mapping[str, str]) -> DeclaredReading:
    """``depends_on=a,b:soft`` style attributes, plus any attribute that looks like ``NAME_URL=...``."""
    reading = DeclaredReading()
    for key, value in sorted(attributes.items()):
        lowered = key.lower()
        if lowered in DEPENDS_ON_ATTRIBUTES or lowered in SOFT_DEPENDS_ON_ATTRIBUTES:
            default_kind: Literal["hard", "soft"] = "soft" if lowered in SOFT_DEPENDS_ON_ATTRIBUTES else "hard"
            for item in _split_list(value):
                name, _, marker = item.partition(":")
                if marker and marker.lower() not in ("hard", "soft"):
                    reading.problems.append(
                        f"attribute {key}: {item!r} has kind {marker!r} (expected hard or soft); read as {default_kind}"
                    )
                kind: Literal["hard", "soft"] = "soft" if marker.lower() == "soft" else default_kind
                if marker.lower() == "hard":
                    kind = "hard"
                if name.strip():
                    reading.dependencies.append(
                        DeclaredDependency(name.strip(), "registry", kind, evidence=f"{key}={value}")
                    )
        elif _ENV_KEY.match(key):
            dependency = _env_dependency(key, value, source="registry")
            if dependency is None:
                reading.problems.append(f"attribute {key}: {value!r} is not a URL or host")
            else:
                reading.dependencies.append(dependency)
    return reading


def from_env_text(text: str) -> DeclaredReading:
    """``NAME_URL=http://host:port/...`` lines (a .env file, a task definition's environment, a Helm values dump)."""
    reading = DeclaredReading()
    for match in _ENV_URL.finditer(text):
        dependency = _env_dependency(match["key"], match["value"], source="env")
        if dependency is None:
            reading.problems.append(f"{match['key']}: {match['value']!r} is not a URL or host")
        else:
            reading.dependencies.append(dependency)
    return reading


def from_catalog_info(text: str, service: str) -> DeclaredReading:
    """``spec.dependsOn`` (hard) of the Backstage entity named ``service`` (or of the file's only Component).

    Entity references ``[kind:][namespace/]name`` are reduced to ``name``; other documents are ignored.
    """
    import yaml  # lazily: only this reader needs it

    reading = DeclaredReading()
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reading.problems.append(f"catalog-info.yaml is not valid YAML{where}")
        return reading
    entities = [d for d in documents if isinstance(d, dict) and isinstance(d.get("spec"), dict)]
    chosen = [e for e in entities if _entity_name(e) == service]
    if not chosen:
        components = [e for e in entities if str(e.get("kind", "")).lower() == "component"]
        chosen = components if len(components) == 1 else []
    if not chosen:
        reading.problems.append(f"catalog-info.yaml has no entity named {service!r}")
        return reading
    spec = chosen[0]["spec"]
    depends_on = spec.get("dependsOn", [])
    if not isinstance(depends_on, list):
        reading.problems.append(f"catalog-info.yaml spec.dependsOn must be a list, got {type(depends_on).__name__}")
        return reading
    for reference in depends_on:
        if not isinstance(reference, str) or not reference.strip():
            reading.problems.append(f"catalog-info.yaml spec.dependsOn entry {reference!r} is not an entity reference")
            continue
        name = reference.split(":", 1)[-1].rsplit("/", 1)[-1].strip()
        reading.dependencies.append(DeclaredDependency(name, "catalog", "hard", evidence=f"dependsOn: {reference}"))
    return reading


def host_of(value: str) -> str | None:
    """The first DNS label of a URL's or ``host:port``'s host (``payments`` for ``http://payments.svc:8080``)."""
    candidate = value.strip()
    if "://" not in candidate:
        candidate = "//" + candidate
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    if not host or host in _NOT_SERVICES or re.fullmatch(r"[\d.]+", host):
        return None
    return host.split(".", 1)[0]


def _env_dependency(key: str, value: str, source: Literal["registry", "env"]) -> DeclaredDependency | None:
    host = host_of(value)
    if host is None:
        return None
    prefix = _KEY_SUFFIX.sub("", key)
    return DeclaredDependency(host, source, "hard", evidence=f"{key}={value}", alternatives=(prefix,))


def _split_list(value: str) -> Iterator[str]:
    for item in re.split(r"[,;\s]+", value):
        if item.strip():
            yield item.strip()


def _entity_name(entity: dict[str, Any]) -> str | None:
    metadata = entity.get("metadata")
    return metadata.get("name") if isinstance(metadata, dict) else None
