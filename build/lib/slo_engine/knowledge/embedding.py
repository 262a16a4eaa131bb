"""Text embeddings for runbook search: the ``Embedder`` protocol and a deterministic hashing embedder.

``HashingEmbedder`` needs nothing but numpy (feature hashing of words, word pairs and CamelCase parts); a real
local model (e.g. all-MiniLM) or Amazon Titan plugs in behind the same protocol. ``word_tokens`` is shared with
the lexical (BM25) scorer so both see the same words.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_HASHING_DIMENSION = 2048

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "might",
        "must",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "should",
        "so",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "too",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
    }
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def singular(word: str) -> str:
    """A light plural folding (replicas -> replica, entries -> entry, crashes -> crash)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _subwords(word: str) -> list[str]:
    """``KubePodCrashLooping`` -> kube, pod, crash, looping; ``etcdNoLeader`` -> etcd, no, leader."""
    return [singular(part.lower()) for part in _CAMEL_PART.findall(word)] or [singular(word.lower())]


def word_tokens(text: str) -> list[str]:
    """Lower-cased, singular words in order: CamelCase and letter/digit runs split into parts, each compound word
    also kept whole right after its parts; URLs and stopwords dropped."""
    tokens: list[str] = []
    for word in _WORD.findall(_URL.sub(" ", text)):
        parts = [part for part in _subwords(word) if part not in STOPWORDS]
        tokens.extend(parts)
        whole = singular(word.lower())
        if len(parts) > 1 or (parts and parts[0] != whole):
            tokens.append(whole)
    return tokens


def _base_words(text: str) -> list[str]:
    """The word sequence used for bigrams: CamelCase parts only, without the whole compound words."""
    words: list[str] = []
    for word in _WORD.findall(_URL.sub(" ", text)):
        words.extend(part for part in _subwords(word) if part not in STOPWORDS)
    return words


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension.

    ``name`` identifies the model and its settings: vectors stored under another name are recomputed.
    """

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class HashingEmbedder:
    """Feature hashing of word unigrams, word bigrams and CamelCase parts, with sublinear term frequency.

    Deterministic across processes and machines (CRC32, not Python's salted ``hash``); a second hash bit gives each
    feature a sign so collisions cancel on average. Empty or stopword-only texts give a zero row.
    """

    def __init__(self, dimension: int = DEFAULT_HASHING_DIMENSION, bigram_weight: float = 0.5) -> None:
        if dimension < 16:
            raise ValueError("dimension must be at least 16")
        self.dimension = dimension
        self.bigram_weight = bigram_weight
        self.name = f"hashing-v1-d{dimension}-b{bigram_weight:g}"

    def features(self, text: str) -> Counter[str]:
        """The hashed features of one text with their raw counts (bigrams prefixed ``2:``)."""
        features: Counter[str] = Counter(word_tokens(text))
        words = _base_words(text)
        features.update(f"2:{first} {second}" for first, second in itertools.pairwise(words))
        return features

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, count in self.features(text).items():
                digest = zlib.crc32(feature.encode("utf-8"))
                column = digest % self.dimension
                sign = 1.0 if (digest >> 31) & 1 == 0 else -1.0
                weight = self.bigram_weight if feature.startswith("2:") else 1.0
                matrix[row, column] += sign * weight * (1.0 + math.log(count))
        return normalise_rows(matrix)


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
