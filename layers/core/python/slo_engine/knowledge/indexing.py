"""Runbook indexing: markdown files -> chunks with resolutions -> any ``RunbookIndex``.

The same steps serve ``slo-engine runbooks index DIR`` (``index_directory``) and the queue-driven indexer, which
fetches one file at a commit (``index_runbook_bytes``). Files that cannot be indexed are skipped with a reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from slo_engine.knowledge.chunking import DEFAULT_MAX_CHARS, chunk_markdown
from slo_engine.knowledge.extraction import extract_document_resolution, extract_resolution
from slo_engine.models import Resolution, RunbookChunk
from slo_engine.ports import RunbookIndex

MAX_RUNBOOK_BYTES = 1024 * 1024
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})

ResolutionExtractor = Callable[[str, str], Resolution]
"""``(heading, text) -> Resolution``: e.g. ``Reasoner.extract_resolution`` (the small model)."""


class UnindexableRunbook(ValueError):
    """A file that is not indexed; ``reason`` says why (binary, not UTF-8, oversized, empty)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SkippedFile(BaseModel):
    path: str
    reason: str


class IndexReport(BaseModel):
    """What one indexing run did: every file is either counted as a document or listed as skipped."""

    repository: str = "local"
    documents: int = 0
    chunks: int = 0
    written: int = Field(default=0, description="chunks new or changed (unchanged ones are not re-embedded)")
    extraction_fallbacks: int = Field(default=0, description="chunks where the extractor failed and rules took over")
    skipped: list[SkippedFile] = Field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: IndexReport) -> None:
        self.documents += other.documents
        self.chunks += other.chunks
        self.written += other.written
        self.extraction_fallbacks += other.extraction_fallbacks
        self.skipped.extend(other.skipped)


def decode_runbook(data: bytes, max_bytes: int = MAX_RUNBOOK_BYTES) -> str:
    """The text of a markdown file, or ``UnindexableRunbook`` when it is oversized, binary or not UTF-8."""
    if len(data) > max_bytes:
        raise UnindexableRunbook(f"oversized: {len(data)} bytes > {max_bytes}")
    if b"\x00" in data:
        raise UnindexableRunbook("binary: contains NUL bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnindexableRunbook(f"not UTF-8: invalid byte at offset {error.start}") from error


def resolve_chunks(
    chunks: Sequence[RunbookChunk], extractor: ResolutionExtractor | None = None
) -> tuple[list[RunbookChunk], int]:
    """Give every chunk its document's resolution; return the chunks and how many extractions fell back to rules.

    Each chunk is read by ``extractor`` (rules when None, or when it raises or returns something invalid), and the
    document's merged resolution is attached to every chunk, so any hit carries the whole fix.
    """
    fallbacks = 0
    per_chunk: list[RunbookChunk] = []
    for chunk in chunks:
        resolution: Resolution | None = None
        if extractor is not None:
            try:
                resolution = Resolution.model_validate(extractor(chunk.heading, chunk.text))
            except Exception:  # a failing or invalid model answer is a value: the rules take over
                fallbacks += 1
        if resolution is None:
            resolution = extract_resolution(chunk.heading, chunk.text)
        per_chunk.append(chunk.model_copy(update={"resolution": resolution}))
    document = extract_document_resolution(per_chunk)
    return [chunk.model_copy(update={"resolution": document}) for chunk in per_chunk], fallbacks


def index_runbook_text(
    index: RunbookIndex,
    text: str,
    path: str,
    *,
    repository: str = "local",
    known_services: Sequence[str] = (),
    extractor: ResolutionExtractor | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    link: str | None = None,
) -> IndexReport:
    """Chunk, extract and upsert one runbook; a runbook with no text left removes what was indexed for its path.

    ``link`` (the source a reader can open: a web URL at a commit, or a file URI) is kept on every chunk.
    """
    started = time.perf_counter()
    report = IndexReport(repository=repository)
    chunks = chunk_markdown(text, path, repository=repository, max_chars=max_chars, known_services=known_services)
    if link is not None:
        chunks = [chunk.model_copy(update={"link": link}) for chunk in chunks]
    if not chunks:
        index.delete_path(repository, path)
        report.skipped.append(SkippedFile(path=path, reason="empty: no text outside front matter and headings"))
    else:
        resolved, report.extraction_fallbacks = resolve_chunks(chunks, extractor)
        report.written = index.upsert(resolved)
        report.documents, report.chunks = 1, len(resolved)
    report.seconds = time.perf_counter() - started
    return report


def index_runbook_bytes(
    index: RunbookIndex,
    data: bytes,
    path: str,
    *,
    repository: str = "local",
    known_services: Sequence[str] = (),
    extractor: ResolutionExtractor | None = None,
    max_bytes: int = MAX_RUNBOOK_BYTES,
    link: str | None = None,
) -> IndexReport:
    """``index_runbook_text`` for raw file content; binary, non-UTF-8 or oversized content is skipped, not raised."""
    try:
        text = decode_runbook(data, max_bytes)
    except UnindexableRunbook as skipped:
        return IndexReport(repository=repository, skipped=[SkippedFile(path=path, reason=skipped.reason)])
    return index_runbook_text(
        index, text, path, repository=repository, known_services=known_services, extractor=extractor, link=link
    )


def markdown_files(root: Path) -> list[Path]:
    """Markdown files under ``root``, recursively, in a stable order; hidden folders and files are left out."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in MARKDOWN_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def index_directory(
    index: RunbookIndex,
    root: Path,
    *,
    repository: str = "local",
    known_services: Sequence[str] = (),
    extractor: ResolutionExtractor | None = None,
    max_bytes: int = MAX_RUNBOOK_BYTES,
) -> IndexReport:
    """Index every markdown file under ``root``; paths are stored relative to it (POSIX style), each chunk
    linking to its file (a ``file://`` URI)."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"runbook folder not found: {root}")
    started = time.perf_counter()
    report = IndexReport(repository=repository)
    for file in markdown_files(root):
        path = file.relative_to(root).as_posix()
        size = file.stat().st_size
        if size > max_bytes:
            report.skipped.append(SkippedFile(path=path, reason=f"oversized: {size} bytes > {max_bytes}"))
            continue
        report.add(
            index_runbook_bytes(
                index,
                file.read_bytes(),
                path,
                repository=repository,
                known_services=known_services,
                extractor=extractor,
                max_bytes=max_bytes,
                link=file.resolve().as_uri(),
            )
        )
    report.seconds = time.perf_counter() - started
    return report
