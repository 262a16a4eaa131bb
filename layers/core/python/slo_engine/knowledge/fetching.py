"""Fetching one runbook file at one commit from its repository: the ``RepositoryFiles`` port and its errors.

The REST implementation for GitHub, Bitbucket Cloud and Bitbucket Data Center is
``slo_engine.adapters.repository_rest``; tests and the local server may use ``DirectoryFiles``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from slo_engine.knowledge.indexing import (
    MAX_RUNBOOK_BYTES,
    IndexReport,
    ResolutionExtractor,
    SkippedFile,
    index_runbook_bytes,
)
from slo_engine.knowledge.webhooks import ChangeType, RunbookChangeMessage
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
            index,
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
