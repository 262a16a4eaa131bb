"""A service's own documents (its runbooks and docs from the Knowledge pipeline) for the structural mapping.

The runbook indexer stores the text of every changed file that it attributes to a service in the
``ports.ServiceDocuments`` store, under that service, and publishes one ``Service Documents Changed`` event per service
affected; the structural mapping reads the service's documents back (bounded in count and size) and gives them to the
reasoner. This module holds what both sides share: the event, the document keys and the selection rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

DOCUMENTS_EVENT_SOURCE = "slo-engine.knowledge"
DOCUMENTS_CHANGED = "Service Documents Changed"
MAX_DOCUMENT_CHARS = 200_000
"""Longer texts are cut to this many characters when stored (the reasoner reads far less of each document)."""
DEFAULT_DOCUMENT_LIMIT = 8
"""Documents read per mapping: each is one reasoner call (a Bedrock request in AWS)."""
DEFAULT_DOCUMENT_MAX_CHARS = 80_000
"""Characters read per mapping, all documents together."""


class ServiceDocumentsChanged(BaseModel):
    """The ``detail`` of a ``Service Documents Changed`` event: one file of ``service`` was stored or deleted."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    service: str = Field(min_length=1, max_length=256)
    repository: str = Field(min_length=1)
    path: str = Field(min_length=1)
    commit: str = Field(min_length=1)


def document_key(repository: str, path: str) -> str:
    """The key of one file in ``ServiceDocuments``: its repository and path (the same file across commits)."""
    return f"{repository}:{path}"


def key_digest(key: str) -> str:
    """The file or object name of a document key: fixed length, no path characters."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def service_folder(service: str) -> str:
    """A service name as one path segment (``/``, ``%`` and other unsafe characters escaped; never ``.`` or ``..``)."""
    folder = quote(service, safe="-_.")
    if not folder.strip("."):
        folder = folder.replace(".", "%2E")
    return folder


def bounded(texts: Iterable[str], limit: int, max_chars: int) -> list[str]:
    """The first ``limit`` texts, in the order given, while their total stays within ``max_chars``: the text that
    crosses the budget is cut to what remains, and nothing is read after it. Empty texts are skipped."""
    selected: list[str] = []
    remaining = max_chars
    if limit <= 0 or remaining <= 0:
        return selected
    for text in texts:  # lazily: nothing is read after the last text selected
        if not text:
            continue
        selected.append(text[:remaining])
        remaining -= len(selected[-1])
        if len(selected) >= limit or remaining <= 0:
            break
    return selected
