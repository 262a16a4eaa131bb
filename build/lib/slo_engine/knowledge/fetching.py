"""Fetching one runbook file at one commit from its repository: the ``RepositoryFiles`` port and its errors.

The REST implementation for GitHub, Bitbucket Cloud and Bitbucket Data Center is
``slo_engine.adapters.repository_rest``; tests and the local server may use ``DirectoryFiles``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote

from slo_engine.knowledge.indexing import (
    MAX_RUNBOOK_BYTES,
    IndexReport,
    ResolutionExtractor,
    SkippedFile,
    index_runbook_bytes,
)
from slo_engine.knowledge.webhooks import ChangeType, Provider, RunbookChangeMessage
from slo_engine.models import RunbookChunk, RunbookHit
from slo_engine.ports import RunbookIndex


class FetchError(RuntimeError):
    """The provider could not be asked (network, 5xx, rate limit): the message is retried, then dead-lettered."""


class FileMissing(FetchError):
    """The file does not exist at that commit (404): the indexer treats it as removed."""


@runtime_checkable
class RepositoryFiles(Protocol):
    """The bytes of ``change.path`` at ``change.commit`` in ``change.repository``."""

    def fetch_file(self, change: RunbookChangeMessage) -> bytes: ...


class DirectoryFiles:
    """``RepositoryFiles`` over a local folder per repository (``root/<repository>/<path>``), commit ignored."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def fetch_file(self, change: RunbookChangeMessage) -> bytes:
        base = (self.root / change.repository).resolve()
        target = (base / change.path).resolve()
        if base not in target.parents:
            raise FileMissing(f"{change.path} is outside the repository")
        if not target.is_file():
            raise FileMissing(f"{change.repository}:{change.path} not found")
        return target.read_bytes()


def source_link(change: RunbookChangeMessage, heading: str | None = None) -> str | None:
    """The web page of the file at its commit, for citations (None for a repository without a known web UI)."""
    path = quote(change.path.lstrip("/"))
    commit = quote(change.commit, safe="")
    if change.provider is Provider.github:
        return f"https://github.com/{change.repository}/blob/{commit}/{path}"
    if change.provider is Provider.bitbucket_cloud:
        return f"https://bitbucket.org/{change.repository}/src/{commit}/{path}"
    project, _, slug = change.repository.partition("/")
    if change.server_url and slug:
        return f"{change.server_url.rstrip('/')}/projects/{project}/repos/{slug}/browse/{path}?at={commit}"
    return None


class LinkingIndex:
    """A ``RunbookIndex`` wrapper that stamps every upserted chunk with its source link."""

    def __init__(self, index: RunbookIndex, link: str | None) -> None:
        self.index = index
        self.link = link

    def upsert(self, chunks: Sequence[RunbookChunk]) -> int:
        return self.index.upsert([chunk.model_copy(update={"link": self.link}) for chunk in chunks])

    def delete_path(self, repository: str, path: str) -> int:
        return self.index.delete_path(repository, path)

    def search(self, text: str, service: str | None = None, k: int = 5) -> list[RunbookHit]:
        return self.index.search(text, service=service, k=k)


class ChangeReport(IndexReport):
    """What applying one queued change did: indexed, removed (chunks deleted) or skipped with a reason."""

    path: str
    change_type: ChangeType
    removed_chunks: int = 0


def apply_runbook_change(
    change: RunbookChangeMessage,
    index: RunbookIndex,
    files: RepositoryFiles,
    *,
    extractor: ResolutionExtractor | None = None,
    known_services: Sequence[str] = (),
    max_bytes: int = MAX_RUNBOOK_BYTES,
) -> ChangeReport:
    """Bring the index in line with one change: a removal deletes the path's chunks; an addition or modification
    fetches the file at the commit and re-indexes it (unchanged chunks are not re-embedded). A file gone at that
    commit counts as removed; a binary, non-UTF-8 or oversized file is skipped with its reason and its old chunks
    are removed. ``FetchError`` (provider unreachable) propagates so that the message is retried."""
    started = time.perf_counter()
    report = ChangeReport(repository=change.repository, path=change.path, change_type=change.change_type)
    data: bytes | None = None
    if change.change_type is not ChangeType.removed:
        try:
            data = files.fetch_file(change)
        except FileMissing as missing:
            report.skipped.append(SkippedFile(path=change.path, reason=f"missing at {change.commit}: {missing}"))
    if data is None:
        report.removed_chunks = index.delete_path(change.repository, change.path)
    else:
        indexed = index_runbook_bytes(
            LinkingIndex(index, source_link(change)),
            data,
            change.path,
            repository=change.repository,
            known_services=known_services,
            extractor=extractor,
            max_bytes=max_bytes,
        )
        if indexed.skipped and not indexed.documents:
            report.removed_chunks = index.delete_path(change.repository, change.path)
        report.add(indexed)
    report.seconds = time.perf_counter() - started
    return report
