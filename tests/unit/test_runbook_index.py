"""The embedded runbook index: hashing embeddings, hybrid search, persistence, and indexing of a real corpus.

The corpus test measures recall@5 on the public Prometheus-operator runbooks, by alert name and by symptom sentence.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from slo_engine.embedded.runbook_index import HIT_TEXT_CHARS, LocalRunbookIndex
from slo_engine.knowledge.embedding import Embedder, HashingEmbedder, word_tokens
from slo_engine.knowledge.evaluation import (
    ALERT_FILE,
    PROMETHEUS_OPERATOR_PARAPHRASES,
    recall_at_k,
    symptom_query,
)
from slo_engine.knowledge.indexing import IndexReport, index_directory, index_runbook_bytes
from slo_engine.models import Resolution, RunbookChunk
from slo_engine.ports import RunbookIndex

CORPUS = Path(
    os.environ.get("SLO_ENGINE_RUNBOOK_CORPUS", "/work/shared/corpus/runbooks-prometheus-operator/content/runbooks")
)
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"public runbook corpus not found at {CORPUS}")


class CountingEmbedder:
    """The hashing embedder, counting how many texts it was asked to embed."""

    def __init__(self, name: str = "counting") -> None:
        self._inner = HashingEmbedder(dimension=256)
        self.name = name
        self.dimension = self._inner.dimension
        self.texts_embedded = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts_embedded += len(texts)
        return self._inner.embed(texts)


def chunk(path: str, index: int, heading: str, text: str, **extra: object) -> RunbookChunk:
    return RunbookChunk(path=path, chunk_index=index, heading=heading, text=text, **extra)


DISK = [
    chunk("node/DiskFull.md", 0, "DiskFull > Meaning", "The root filesystem on a node is almost full."),
    chunk("node/DiskFull.md", 1, "DiskFull > Mitigation", "Remove unused container images to free disk space."),
    chunk("node/DiskFull.md", 2, "DiskFull > Diagnosis", "Find which directory grows: disk usage per folder."),
]
CHECKOUT = [
    chunk(
        "checkout/LatencyHigh.md",
        0,
        "LatencyHigh > Meaning",
        "Checkout answers slowly; the disk of its database is saturated.",
        services=["checkout"],
        resolution=Resolution(symptoms=["LatencyHigh"], minutes_to_mitigate=30),
    )
]
PAYMENTS = [chunk("team/PaymentsErrors.md", 0, "PaymentsErrors > Meaning", "The payments service fails requests.")]


@pytest.fixture
def index() -> LocalRunbookIndex:
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    store.upsert(DISK + CHECKOUT + PAYMENTS)
    return store


# --- embeddings ---------------------------------------------------------------------------------------------------


def test_hashing_embedder_gives_unit_float32_rows_of_its_dimension() -> None:
    vectors = HashingEmbedder(dimension=512).embed(["pod crash looping", "disk almost full"])
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_hashing_embedder_is_deterministic_across_instances() -> None:
    text = ["etcdHighFsyncDurations: the disk is slow"]
    assert np.array_equal(HashingEmbedder().embed(text), HashingEmbedder().embed(text))


def test_text_without_words_embeds_to_a_zero_row() -> None:
    assert not HashingEmbedder().embed(["", "the of and"]).any()


def test_alert_name_is_close_to_its_words_and_far_from_others() -> None:
    vectors = HashingEmbedder().embed(["KubePodCrashLooping", "kube pod crash looping", "node disk almost full"])
    assert vectors[0] @ vectors[1] > 0.5
    assert vectors[0] @ vectors[2] < 0.1


def test_hashing_embedder_satisfies_the_embedder_protocol() -> None:
    assert isinstance(HashingEmbedder(), Embedder)


def test_word_tokens_split_camel_case_keep_the_whole_name_and_drop_urls_stopwords_and_plurals() -> None:
    tokens = word_tokens("KubePodCrashLooping: the pods crashes, see https://example.org/x")
    assert tokens == ["kube", "pod", "crash", "looping", "kubepodcrashlooping", "pod", "crash", "see"]


# --- the index ----------------------------------------------------------------------------------------------------


def test_local_index_satisfies_the_runbook_index_port() -> None:
    assert isinstance(LocalRunbookIndex(), RunbookIndex)


def test_upsert_counts_new_chunks_and_skips_unchanged_ones_without_embedding() -> None:
    embedder = CountingEmbedder()
    store = LocalRunbookIndex(embedder=embedder)
    assert store.upsert(DISK) == 3
    assert store.upsert(DISK) == 0
    assert embedder.texts_embedded == 3


def test_upsert_rewrites_only_the_changed_chunk() -> None:
    embedder = CountingEmbedder()
    store = LocalRunbookIndex(embedder=embedder)
    store.upsert(DISK)
    changed = [*DISK[:2], DISK[2].model_copy(update={"text": "Use du to find the largest folders."})]
    assert store.upsert(changed) == 1
    assert embedder.texts_embedded == 4
    assert store.search("largest folders du")[0].heading == "DiskFull > Diagnosis"


def test_a_changed_resolution_alone_is_a_change() -> None:
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    store.upsert(DISK)
    with_resolution = [DISK[0].model_copy(update={"resolution": Resolution(minutes_to_mitigate=5)}), *DISK[1:]]
    assert store.upsert(with_resolution) == 1


def test_a_shorter_document_leaves_no_stale_chunks(index: LocalRunbookIndex) -> None:
    index.upsert(DISK[:1])
    assert len(index) == 1 + len(CHECKOUT) + len(PAYMENTS)
    assert all(hit.heading == "DiskFull > Meaning" for hit in index.search("disk", k=5) if hit.path.endswith("Full.md"))


def test_delete_path_removes_every_chunk_of_that_runbook(index: LocalRunbookIndex) -> None:
    assert index.delete_path("local", "node/DiskFull.md") == 3
    assert index.delete_path("local", "node/DiskFull.md") == 0
    assert all(hit.path != "node/DiskFull.md" for hit in index.search("disk full images"))


def test_search_ranks_the_matching_runbook_first(index: LocalRunbookIndex) -> None:
    assert index.search("payments requests fail")[0].path == "team/PaymentsErrors.md"


def test_best_chunk_of_each_runbook_comes_before_second_chunks() -> None:
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    store.upsert(DISK + CHECKOUT)
    hits = store.search("disk", k=3)
    assert [hit.path for hit in hits] == ["node/DiskFull.md", "checkout/LatencyHigh.md", "node/DiskFull.md"]
    assert hits[0].heading != hits[2].heading


def test_scores_are_between_zero_and_one_and_descend_within_the_distinct_runbooks(index: LocalRunbookIndex) -> None:
    hits = index.search("disk full", k=2)
    assert all(0 < hit.score <= 1 for hit in hits)
    assert hits[0].score >= hits[1].score


def test_service_filter_keeps_chunks_that_mention_the_service_or_name_it_in_their_path(
    index: LocalRunbookIndex,
) -> None:
    assert {hit.path for hit in index.search("disk", service="checkout")} == {"checkout/LatencyHigh.md"}
    assert {hit.path for hit in index.search("fails", service="payments")} == {"team/PaymentsErrors.md"}
    assert index.search("disk", service="inventory") == []


def test_hits_carry_resolution_repository_and_no_local_link(index: LocalRunbookIndex) -> None:
    hit = index.search("checkout slow", k=1)[0]
    assert hit.resolution == Resolution(symptoms=["LatencyHigh"], minutes_to_mitigate=30)
    assert hit.repository == "local" and hit.link is None


def test_hit_text_is_truncated() -> None:
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    store.upsert([chunk("long.md", 0, "Long", "disk " * 1000)])
    assert len(store.search("disk")[0].text) == HIT_TEXT_CHARS


def test_nothing_is_returned_for_an_empty_index_no_match_or_non_positive_k(index: LocalRunbookIndex) -> None:
    assert LocalRunbookIndex().search("disk") == []
    assert index.search("zzzqqq") == []
    assert index.search("disk", k=0) == []


def test_a_reopened_file_searches_without_embedding_again(tmp_path: Path) -> None:
    path = tmp_path / "index" / "runbooks.db"
    LocalRunbookIndex(path, embedder=CountingEmbedder()).upsert(DISK + PAYMENTS)
    embedder = CountingEmbedder()
    reopened = LocalRunbookIndex(path, embedder=embedder)
    assert reopened.search("payments fail")[0].path == "team/PaymentsErrors.md"
    assert embedder.texts_embedded == 1  # the query only
    assert reopened.upsert(DISK) == 0


def test_vectors_from_another_embedder_are_recomputed_on_load(tmp_path: Path) -> None:
    path = tmp_path / "runbooks.db"
    LocalRunbookIndex(path, embedder=CountingEmbedder(name="old-model")).upsert(DISK)
    embedder = CountingEmbedder(name="new-model")
    assert LocalRunbookIndex(path, embedder=embedder).search("disk images")[0].path == "node/DiskFull.md"
    assert embedder.texts_embedded == 3 + 1


# --- indexing a folder --------------------------------------------------------------------------------------------


def write(root: Path, name: str, data: bytes) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(data)


def test_index_directory_skips_binary_non_utf8_oversized_and_empty_files_with_reasons(tmp_path: Path) -> None:
    write(tmp_path, "team/Good.md", b"# Good\n\n## Mitigation\n\n- Restart the app.\n")
    write(tmp_path, "team/Binary.md", b"# B\x00\x01")
    write(tmp_path, "team/Latin1.md", "# Caf\u00e9\n".encode("latin-1"))
    write(tmp_path, "team/Huge.md", b"# Huge\n\n" + b"x" * 2048)
    write(tmp_path, "_index.md", b"---\ntitle: index\n---\n")
    write(tmp_path, "notes.txt", b"not markdown")
    report = index_directory(LocalRunbookIndex(embedder=CountingEmbedder()), tmp_path, max_bytes=1024)
    reasons = {skipped.path: skipped.reason.split(":")[0] for skipped in report.skipped}
    assert reasons == {"team/Binary.md": "binary", "team/Latin1.md": "not UTF-8", "team/Huge.md": "oversized",
                       "_index.md": "empty"}  # fmt: skip
    assert (report.documents, report.chunks, report.written) == (1, 1, 1)


def test_indexed_chunks_carry_the_documents_resolution(tmp_path: Path) -> None:
    write(tmp_path, "DiskFull.md", b"# DiskFull\n\n## Meaning\n\nDisk full.\n\n## Mitigation\n\n- Free space.\n")
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    index_directory(store, tmp_path)
    hit = store.search("disk full", k=1)[0]
    assert hit.resolution is not None and hit.resolution.fix_steps == ["Free space."]
    assert hit.resolution.symptoms[:2] == ["DiskFull", "Disk full."]


def test_reindexing_an_unchanged_folder_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "a/A.md", b"# A\n\n## Meaning\n\nText.\n")
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    index_directory(store, tmp_path)
    assert index_directory(store, tmp_path).written == 0


def test_a_failing_extractor_falls_back_to_the_rules_and_is_counted(tmp_path: Path) -> None:
    def broken(heading: str, text: str) -> Resolution:
        raise TimeoutError("model timed out")

    write(tmp_path, "A.md", b"# A\n\n## Mitigation\n\n- Restart.\n")
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    report = index_directory(store, tmp_path, extractor=broken)
    assert report.extraction_fallbacks == 1
    assert store.search("restart")[0].resolution.fix_steps == ["Restart."]  # type: ignore[union-attr]


def test_a_working_extractor_is_used(tmp_path: Path) -> None:
    write(tmp_path, "A.md", b"# A\n\n## Mitigation\n\n- Restart.\n")
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    index_directory(store, tmp_path, extractor=lambda heading, text: Resolution(likely_cause="model says so"))
    assert store.search("restart")[0].resolution.likely_cause == "model says so"  # type: ignore[union-attr]


def test_a_runbook_emptied_later_loses_its_chunks() -> None:
    store = LocalRunbookIndex(embedder=CountingEmbedder())
    index_runbook_bytes(store, b"# A\n\nSome text.\n", "A.md")
    report = index_runbook_bytes(store, b"---\ntitle: A\n---\n", "A.md")
    assert report.skipped[0].reason.startswith("empty") and len(store) == 0


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="runbook folder not found"):
        index_directory(LocalRunbookIndex(), tmp_path / "absent")


# --- recall on the public corpus ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_index() -> tuple[LocalRunbookIndex, IndexReport]:
    if not CORPUS.is_dir():
        pytest.skip(f"public runbook corpus not found at {CORPUS}")
    store = LocalRunbookIndex()
    report = index_directory(store, CORPUS)
    return store, report


def recall_at_5(store: LocalRunbookIndex, queries: dict[str, str]) -> tuple[float, list[float]]:
    return recall_at_k(store, queries, k=5)


@needs_corpus
def test_public_runbooks_are_found_by_alert_name_and_by_symptom(
    corpus_index: tuple[LocalRunbookIndex, IndexReport], capsys: pytest.CaptureFixture[str]
) -> None:
    store, report = corpus_index
    runbooks = {p.relative_to(CORPUS).as_posix(): p for p in sorted(CORPUS.rglob("*.md")) if ALERT_FILE.match(p.stem)}
    assert len(runbooks) >= 100
    by_name = {p.stem: path for path, p in runbooks.items()}
    by_symptom = {symptom_query(p.read_text(encoding="utf-8"), p.stem): path for path, p in runbooks.items()}
    assert not any(alert.lower() in query.lower() for alert, query in zip(by_name, by_symptom, strict=True))
    store.search("warm up")
    name_recall, name_latencies = recall_at_5(store, by_name)
    symptom_recall, symptom_latencies = recall_at_5(store, by_symptom)
    latencies = name_latencies + symptom_latencies
    with capsys.disabled():
        print(
            f"\nrunbook recall@5 over {len(runbooks)} public runbooks: alert name {name_recall:.3f}, "
            f"symptom {symptom_recall:.3f} ({len(by_symptom)} distinct symptom queries); indexing "
            f"{1000 * report.seconds / report.documents:.1f} ms/document ({report.chunks} chunks); query median "
            f"{1000 * statistics.median(latencies):.2f} ms, max {1000 * max(latencies):.1f} ms"
        )
    assert name_recall >= 0.9
    assert symptom_recall >= 0.9
    assert statistics.median(latencies) < 0.05


PARAPHRASED = PROMETHEUS_OPERATOR_PARAPHRASES


@needs_corpus
def test_public_runbooks_are_found_by_paraphrased_symptoms(
    corpus_index: tuple[LocalRunbookIndex, IndexReport], capsys: pytest.CaptureFixture[str]
) -> None:
    recall, _ = recall_at_5(corpus_index[0], PARAPHRASED)
    with capsys.disabled():
        print(f"\nrunbook recall@5 for {len(PARAPHRASED)} paraphrased symptoms: {recall:.3f}")
    assert recall >= 0.8


@needs_corpus
def test_public_runbooks_filtered_by_service_stay_in_that_component(
    corpus_index: tuple[LocalRunbookIndex, IndexReport],
) -> None:
    hits = corpus_index[0].search("members down, no leader", service="etcd")
    assert hits and all("etcd" in hit.path for hit in hits)


def test_hits_of_a_local_folder_link_to_their_file(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "PaymentsDown.md").write_text("# PaymentsDown\n\n## Mitigation\n\n1. Restart the payments pods.\n")
    store = LocalRunbookIndex(tmp_path / "index.db")
    index_directory(store, folder)
    (hit,) = store.search("payments down", k=1)
    assert hit.link == (folder / "PaymentsDown.md").resolve().as_uri()
    store.close()
    again = LocalRunbookIndex(tmp_path / "index.db")
    assert again.search("payments down", k=1)[0].link == hit.link
