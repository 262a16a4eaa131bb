"""Fetching one runbook file at one commit from its repository: the ``RepositoryFiles`` port and its errors.

The REST implementation for GitHub, Bitbucket Cloud and Bitbucket Data Center is
``slo_engine.adapters.repository_rest``; tests and the local server may use ``DirectoryFiles``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from slo_engine.knowledge.webhooks import RunbookChangeMessage


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
