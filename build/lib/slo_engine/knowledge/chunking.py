"""Markdown runbooks cut into heading-scoped, size-bounded chunks.

Each chunk carries its heading path ("Title > Section > Subsection"), its position in the document and the known
services it mentions. Fenced code blocks are never read as headings and are kept whole when they fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from slo_engine.models import RunbookChunk

HEADING_SEPARATOR = " > "
DEFAULT_MAX_CHARS = 2000

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_FRONT_MATTER_TITLE = re.compile(r"""^title\s*:\s*(?P<title>.+?)\s*$""", re.IGNORECASE)


@dataclass
class MarkdownSection:
    """The body under one heading: ``headings`` is the path below the document title."""

    headings: list[str]
    lines: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n".join(self.lines).strip("\n")


@dataclass
class ParsedMarkdown:
    """A document's title (first H1, else front-matter title, else file stem) and its sections in order."""

    title: str
    sections: list[MarkdownSection]


def fence_marker(line: str) -> str | None:
    """The fence characters (e.g. ```` ``` ```` or ``~~~~``) if ``line`` opens a fenced code block."""
    match = _FENCE_OPEN.match(line)
    if match is None:
        return None
    marker = match.group(1)
    if marker.startswith("`") and "`" in match.group(2):  # a backtick info string cannot contain backticks
        return None
    return marker


def closes_fence(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker) and set(stripped) == {marker[0]}


def heading_of(line: str) -> tuple[int, str] | None:
    """``(level, text)`` for an ATX heading line, else None."""
    match = _ATX_HEADING.match(line)
    if match is None:
        return None
    return len(match.group(1)), (match.group(2) or "").strip()


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Remove a leading ``---`` YAML front-matter block; return its ``title`` (if any) and the rest."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None, text
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            title = None
            for line in lines[1:end]:
                match = _FRONT_MATTER_TITLE.match(line)
                if match:
                    title = match.group("title").strip().strip("\"'").strip() or None
                    break
            return title, "\n".join(lines[end + 1 :])
    return None, text


def parse_markdown(text: str, path: str) -> ParsedMarkdown:
    """Split a markdown document into sections by ATX headings, ignoring headings inside fenced code."""
    front_title, body = split_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    title: str | None = None
    stack: list[tuple[int, str]] = []
    sections = [MarkdownSection(headings=[])]
    fence: str | None = None
    for line in body.split("\n"):
        if fence is not None:
            sections[-1].lines.append(line)
            if closes_fence(line, fence):
                fence = None
            continue
        marker = fence_marker(line)
        if marker is not None:
            fence = marker
            sections[-1].lines.append(line)
            continue
        heading = heading_of(line)
        if heading is None:
            sections[-1].lines.append(line)
            continue
        level, heading_text = heading
        if level == 1 and title is None and heading_text:
            title = heading_text
            stack = []
            sections.append(MarkdownSection(headings=[]))
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading_text or "(untitled)"))
        sections.append(MarkdownSection(headings=[name for _, name in stack]))
    document_title = title or front_title or PurePosixPath(path).stem or path
    return ParsedMarkdown(title=document_title, sections=sections)


def _blocks(body: str) -> list[list[str]]:
    """Paragraphs (split on blank lines) with every fenced code block kept as one block."""
    blocks: list[list[str]] = []
    current: list[str] = []
    fence: str | None = None
    for line in body.split("\n"):
        if fence is not None:
            current.append(line)
            if closes_fence(line, fence):
                fence = None
                blocks.append(current)
                current = []
            continue
        marker = fence_marker(line)
        if marker is not None:
            if current:
                blocks.append(current)
            current, fence = [line], marker
            continue
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _hard_split(text: str, max_chars: int) -> Iterator[str]:
    for start in range(0, len(text), max_chars):
        yield text[start : start + max_chars]


def _split_lines(lines: Sequence[str], max_chars: int) -> Iterator[str]:
    """Pack lines into pieces of at most ``max_chars``; a single over-long line is cut by characters."""
    piece: list[str] = []
    size = 0
    for line in lines:
        for part in _hard_split(line, max_chars) if len(line) > max_chars else [line]:
            extra = len(part) + (1 if piece else 0)
            if piece and size + extra > max_chars:
                yield "\n".join(piece)
                piece, size = [], 0
                extra = len(part)
            piece.append(part)
            size += extra
    if piece:
        yield "\n".join(piece)


def _block_pieces(block: list[str], max_chars: int) -> Iterator[str]:
    text = "\n".join(block)
    if len(text) <= max_chars:
        yield text
        return
    marker = fence_marker(block[0])
    if marker is None or len(block) < 3:
        yield from _split_lines(block, max_chars)
        return
    opener, closer = block[0], block[-1] if closes_fence(block[-1], marker) else marker
    inner = block[1:-1] if closes_fence(block[-1], marker) else block[1:]
    budget = max(max_chars - len(opener) - len(closer) - 2, 1)
    for piece in _split_lines(inner, budget):
        yield f"{opener}\n{piece}\n{closer}"


def split_body(body: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Cut a section body into pieces of at most ``max_chars``, on paragraph boundaries where possible."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    body = body.strip("\n")
    if not body.strip():
        return []
    if len(body) <= max_chars:
        return [body]
    pieces: list[str] = []
    current = ""
    for block in _blocks(body):
        for piece in _block_pieces(block, max_chars):
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= max_chars:
                current = candidate
            else:
                pieces.append(current)
                current = piece
    if current:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def _service_pattern(service: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(service)}(?![\w-])", re.IGNORECASE)


def services_mentioned(text: str, known_services: Sequence[str]) -> list[str]:
    """The known services named in ``text`` (whole words, case-insensitive), in ``known_services`` order."""
    return [service for service in known_services if service and _service_pattern(service).search(text)]


def chunk_markdown(
    text: str,
    path: str,
    repository: str = "local",
    max_chars: int = DEFAULT_MAX_CHARS,
    known_services: Sequence[str] = (),
) -> list[RunbookChunk]:
    """Chunk one markdown runbook by headings; every chunk's heading starts with the document title.

    Sections with no text are dropped (their name survives in their subsections' heading paths); a section longer
    than ``max_chars`` is split on paragraph boundaries into several chunks with the same heading. ``chunk_index``
    counts chunks in document order, so the same text always yields the same keys.
    """
    parsed = parse_markdown(text, path)
    chunks: list[RunbookChunk] = []
    for section in parsed.sections:
        heading = HEADING_SEPARATOR.join([parsed.title, *section.headings])
        for piece in split_body(section.body, max_chars):
            chunks.append(
                RunbookChunk(
                    repository=repository,
                    path=path,
                    heading=heading,
                    text=piece,
                    chunk_index=len(chunks),
                    services=services_mentioned(f"{heading}\n{piece}", known_services),
                )
            )
    return chunks
