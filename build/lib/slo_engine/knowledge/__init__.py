"""Runbook knowledge: chunk markdown runbooks, extract their resolutions, embed them and index them.

Pure Python and numpy; the index itself is a port (``ports.RunbookIndex``) with an embedded default and cloud adapters.
"""

from slo_engine.knowledge.chunking import chunk_markdown
from slo_engine.knowledge.embedding import Embedder, HashingEmbedder, word_tokens
from slo_engine.knowledge.extraction import extract_document_resolution, extract_resolution, parse_duration_minutes
from slo_engine.knowledge.indexing import IndexReport, SkippedFile, index_directory, index_runbook_bytes

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "IndexReport",
    "SkippedFile",
    "chunk_markdown",
    "extract_document_resolution",
    "extract_resolution",
    "index_directory",
    "index_runbook_bytes",
    "parse_duration_minutes",
    "word_tokens",
]
