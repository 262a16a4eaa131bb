"""The embedded runbook index: chunks and their vectors in SQLite, searched by brute force in numpy.

Implements ``ports.RunbookIndex`` with hybrid retrieval: cosine similarity of embeddings plus BM25 over the same
words, one hit per runbook at the top. Thousands of chunks search in milliseconds; no server is needed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slo_engine.knowledge.embedding import Embedder, HashingEmbedder, word_tokens
from slo_engine.models import Resolution, RunbookChunk, RunbookHit

# Hybrid score = VECTOR_WEIGHT * cosine (clipped to 0..1) + LEXICAL_WEIGHT * BM25 / best BM25 of the candidates.
# Both parts lie in 0..1, so the score does too. BM25 is exact on alert names and rare words; the vector part ranks
# paraphrases and partial matches, and breaks BM25's ties. Equal weights measured best on the Prometheus-operator
# runbooks (recall@5 by alert name and by symptom sentence); see tests/unit/test_runbook_index.py.
VECTOR_WEIGHT = 0.5
LEXICAL_WEIGHT = 0.5
BM25_K1 = 1.2
BM25_B = 0.75
HEADING_WEIGHT = 2  # heading words (the title names the alert) count this many times in BM25
HIT_TEXT_CHARS = 600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runbook_chunks (
    repository TEXT NOT NULL, path TEXT NOT NULL, chunk_index INTEGER NOT NULL,
    heading TEXT NOT NULL, text TEXT NOT NULL, services TEXT NOT NULL, resolution TEXT,
    content_hash TEXT NOT NULL, embedder TEXT NOT NULL, vector BLOB NOT NULL, link TEXT,
    PRIMARY KEY (repository, path, chunk_index)
);
"""
_COLUMNS = "repository, path, chunk_index, heading, text, services, resolution, content_hash, embedder, vector, link"


def content_hash(chunk: RunbookChunk) -> str:
    """SHA-256 of everything stored for a chunk except its key and vector: unchanged hash, nothing to redo."""
    payload = json.dumps(
        [
            chunk.heading,
            chunk.text,
            chunk.services,
            chunk.resolution.model_dump() if chunk.resolution else None,
            chunk.link,
        ],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def embedding_text(heading: str, text: str) -> str:
    return f"{heading}\n{text}"


def truncate(text: str, limit: int = HIT_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class _StoredChunk:
    repository: str
    path: str
    chunk_index: int
    heading: str
    text: str
    services: tuple[str, ...]
    resolution_json: str | None
    link: str | None = None


@dataclass
class _Bm25:
    """Postings (term -> chunk rows and term counts) and chunk lengths for BM25 scoring."""

    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    lengths: np.ndarray
    average_length: float

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]]) -> _Bm25:
        rows: dict[str, list[int]] = {}
        counts: dict[str, list[int]] = {}
        for row, tokens in enumerate(documents):
            for term, count in Counter(tokens).items():
                rows.setdefault(term, []).append(row)
                counts.setdefault(term, []).append(count)
        postings = {
            term: (np.asarray(rows[term], dtype=np.int64), np.asarray(counts[term], dtype=np.float32)) for term in rows
        }
        lengths = np.asarray([len(tokens) for tokens in documents], dtype=np.float32)
        return cls(postings, lengths, float(lengths.mean()) if len(lengths) else 0.0)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        total = len(self.lengths)
        scores = np.zeros(total, dtype=np.float32)
        if total == 0:
            return scores
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self.lengths / max(self.average_length, 1e-9))
        for term in set(query_terms):
            posting = self.postings.get(term)
            if posting is None:
                continue
            rows, counts = posting
            idf = math.log(1.0 + (total - len(rows) + 0.5) / (len(rows) + 0.5))
            scores[rows] += idf * counts * (BM25_K1 + 1.0) / (counts + norm[rows])
        return scores


class LocalRunbookIndex:
    """Implements ``ports.RunbookIndex`` over one SQLite file (or memory) and an in-memory numpy matrix.

    Chunks are keyed by repository + path + chunk_index; vectors are float32 BLOBs. The matrix and BM25 postings are
    built on the first search after a change. Safe to share between threads.
    """

    def __init__(self, path: str | Path | None = None, embedder: Embedder | None = None) -> None:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.embedder: Embedder = embedder or HashingEmbedder()
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(runbook_chunks)")}
        if "link" not in columns:  # an index written before source links were kept
            self._db.execute("ALTER TABLE runbook_chunks ADD COLUMN link TEXT")
        self._chunks: list[_StoredChunk] | None = None
        self._matrix = np.zeros((0, self.embedder.dimension), dtype=np.float32)
        self._bm25 = _Bm25.build([])
        self._searchable: list[str] = []

    def upsert(self, chunks: Sequence[RunbookChunk]) -> int:
        """Store chunks; return how many were new or changed (unchanged content is not re-embedded).

        A batch carries whole documents: a (repository, path) present in the batch keeps exactly the chunk indexes
        the batch gives, so a runbook that got shorter leaves no stale chunks behind.
        """
        latest: dict[tuple[str, str, int], RunbookChunk] = {}
        for chunk in chunks:
            latest[(chunk.repository, chunk.path, chunk.chunk_index)] = chunk
        documents: dict[tuple[str, str], set[int]] = {}
        for repository, path, index in latest:
            documents.setdefault((repository, path), set()).add(index)
        with self._lock:
            stored: dict[tuple[str, str, int], tuple[str, str]] = {}
            for repository, path in documents:
                for index, digest, embedder in self._db.execute(
                    "SELECT chunk_index, content_hash, embedder FROM runbook_chunks WHERE repository=? AND path=?",
                    (repository, path),
                ):
                    stored[(repository, path, index)] = (digest, embedder)
            changed: list[tuple[tuple[str, str, int], RunbookChunk, str]] = []
            for key, chunk in latest.items():
                digest = content_hash(chunk)
                if stored.get(key) != (digest, self.embedder.name):
                    changed.append((key, chunk, digest))
            stale = [key for key in stored if key not in latest]
            if not changed and not stale:
                return 0
            vectors = self._embed([embedding_text(chunk.heading, chunk.text) for _, chunk, _ in changed])
            with self._db:
                self._db.executemany(
                    "DELETE FROM runbook_chunks WHERE repository=? AND path=? AND chunk_index=?", stale
                )
                self._db.executemany(
                    f"INSERT OR REPLACE INTO runbook_chunks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            chunk.repository,
                            chunk.path,
                            chunk.chunk_index,
                            chunk.heading,
                            chunk.text,
                            json.dumps(chunk.services),
                            chunk.resolution.model_dump_json() if chunk.resolution else None,
                            digest,
                            self.embedder.name,
                            _blob(vector),
                            chunk.link,
                        )
                        for (_, chunk, digest), vector in zip(changed, vectors, strict=True)
                    ],
                )
            self._chunks = None
            return len(changed)

    def delete_path(self, repository: str, path: str) -> int:
        """Remove every chunk of one runbook; return how many were removed."""
        with self._lock, self._db:
            removed = self._db.execute(
                "DELETE FROM runbook_chunks WHERE repository=? AND path=?", (repository, path)
            ).rowcount
            if removed:
                self._chunks = None
            return removed

    def search(self, text: str, service: str | None = None, k: int = 5) -> list[RunbookHit]:
        """The ``k`` best hits for ``text``: the best chunk of each runbook first, then further chunks if fewer
        than ``k`` runbooks match. With ``service``, only chunks that mention it or whose path names it."""
        if k <= 0:
            return []
        with self._lock:
            chunks, matrix, bm25, searchable = self._loaded()
        if not chunks:
            return []
        candidates = self._service_mask(service, chunks, searchable)
        if not candidates.any():
            return []
        query_vector = self._embed([text])[0]
        cosine = np.clip(matrix @ query_vector, 0.0, 1.0)
        lexical = bm25.scores(word_tokens(text))
        lexical = np.where(candidates, lexical, 0.0)
        best_lexical = float(lexical.max())
        if best_lexical > 0:
            lexical = lexical / best_lexical
        scores = np.where(candidates, VECTOR_WEIGHT * cosine + LEXICAL_WEIGHT * lexical, 0.0)
        ranked = [int(row) for row in np.argsort(-scores, kind="stable") if scores[row] > 0]
        return [self._hit(chunks[row], float(scores[row])) for row in _one_per_document_first(ranked, chunks, k)]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM runbook_chunks").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
        if vectors.shape != (len(texts), self.embedder.dimension):
            raise ValueError(f"embedder {self.embedder.name} returned shape {vectors.shape}")
        return vectors

    def _loaded(self) -> tuple[list[_StoredChunk], np.ndarray, _Bm25, list[str]]:
        """The search structures, rebuilt from SQLite after any change; vectors from another embedder are redone."""
        if self._chunks is None:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM runbook_chunks ORDER BY repository, path, chunk_index")
            chunks: list[_StoredChunk] = []
            vectors: list[np.ndarray | None] = []
            for repository, path, index, heading, text, services, resolution, _digest, embedder, blob, link in rows:
                chunks.append(
                    _StoredChunk(repository, path, index, heading, text, tuple(json.loads(services)), resolution, link)
                )
                vector = np.frombuffer(blob, dtype="<f4")
                fresh = embedder == self.embedder.name and vector.shape == (self.embedder.dimension,)
                vectors.append(vector if fresh else None)
            complete = self._reembed(chunks, vectors)
            self._matrix = (
                np.vstack(complete).astype(np.float32)
                if complete
                else np.zeros((0, self.embedder.dimension), dtype=np.float32)
            )
            self._bm25 = _Bm25.build(
                [word_tokens(" ".join([chunk.heading] * HEADING_WEIGHT + [chunk.text])) for chunk in chunks]
            )
            self._searchable = [f"{chunk.heading}\n{chunk.text}".lower() for chunk in chunks]
            self._chunks = chunks
        return self._chunks, self._matrix, self._bm25, self._searchable

    def _reembed(self, chunks: Sequence[_StoredChunk], vectors: Sequence[np.ndarray | None]) -> list[np.ndarray]:
        """Every chunk's vector: the stored one, or (made by another embedder) a fresh one, written back."""
        stale = [row for row, vector in enumerate(vectors) if vector is None]
        fresh = dict(
            zip(
                stale,
                self._embed([embedding_text(chunks[row].heading, chunks[row].text) for row in stale]),
                strict=True,
            )
        )
        if fresh:
            with self._db:
                self._db.executemany(
                    "UPDATE runbook_chunks SET embedder=?, vector=? WHERE repository=? AND path=? AND chunk_index=?",
                    [
                        (
                            self.embedder.name,
                            _blob(vector),
                            chunks[row].repository,
                            chunks[row].path,
                            chunks[row].chunk_index,
                        )
                        for row, vector in fresh.items()
                    ],
                )
        return [fresh[row] if vector is None else vector for row, vector in enumerate(vectors)]

    @staticmethod
    def _service_mask(service: str | None, chunks: Sequence[_StoredChunk], searchable: Sequence[str]) -> np.ndarray:
        if service is None or not service.strip():
            return np.ones(len(chunks), dtype=bool)
        name = service.strip().lower()
        pattern = re.compile(rf"(?<![a-z0-9_-]){re.escape(name)}(?![a-z0-9_-])")
        return np.asarray(
            [
                name in (s.lower() for s in chunk.services)
                or pattern.search(chunk.path.lower()) is not None
                or pattern.search(text) is not None
                for chunk, text in zip(chunks, searchable, strict=True)
            ],
            dtype=bool,
        )

    @staticmethod
    def _hit(chunk: _StoredChunk, score: float) -> RunbookHit:
        return RunbookHit(
            path=chunk.path,
            heading=chunk.heading,
            score=round(score, 4),
            resolution=Resolution.model_validate_json(chunk.resolution_json) if chunk.resolution_json else None,
            repository=chunk.repository,
            link=chunk.link,
            text=truncate(chunk.text),
        )


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def _one_per_document_first(ranked: Sequence[int], chunks: Sequence[_StoredChunk], k: int) -> list[int]:
    """Rows in rank order, best chunk of each (repository, path) first; other chunks only fill remaining places."""
    seen: set[tuple[str, str]] = set()
    best: list[int] = []
    rest: list[int] = []
    for row in ranked:
        document = (chunks[row].repository, chunks[row].path)
        (rest if document in seen else best).append(row)
        seen.add(document)
        if len(best) >= k:
            break
    return (best + rest)[:k]
