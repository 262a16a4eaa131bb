"""The ``RunbookIndex`` contract, one suite for every implementation: the embedded ``LocalRunbookIndex``; the
OpenSearch adapter (real opensearch-py over HTTP) against a loopback emulator of the REST API slice it uses; and a
live OpenSearch cluster when ``OPENSEARCH_URL`` is set (e.g. http://admin:pass@localhost:9200; a throw-away index
is created and deleted). The adapter on recorded responses, errors included: tests/unit/test_opensearch_adapter.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from slo_engine.embedded.runbook_index import LocalRunbookIndex
from slo_engine.knowledge.embedding import HashingEmbedder
from slo_engine.models import Resolution, RunbookChunk
from slo_engine.ports import RunbookIndex

EMBEDDER = HashingEmbedder(dimension=256)
REPOSITORY = "acme/runbooks"


def chunk(path: str, index: int, heading: str, text: str, **extra: object) -> RunbookChunk:
    return RunbookChunk(repository=REPOSITORY, path=path, chunk_index=index, heading=heading, text=text, **extra)


DISK = [
    chunk("node/DiskFull.md", 0, "DiskFull > Meaning", "The root filesystem on a node is almost full."),
    chunk("node/DiskFull.md", 1, "DiskFull > Mitigation", "Remove unused container images to free disk space."),
]
CHECKOUT = [
    chunk(
        "checkout/LatencyHigh.md",
        0,
        "LatencyHigh > Meaning",
        "Checkout answers slowly because its database connection pool is exhausted.",
        services=["checkout"],
        resolution=Resolution(symptoms=["LatencyHigh"], fix_steps=["Raise the pool size"], minutes_to_mitigate=30),
    )
]
PAYMENTS = [chunk("payments/Errors.md", 0, "PaymentsErrors > Meaning", "The payments service fails card requests.")]


def _local() -> Iterator[RunbookIndex]:
    index = LocalRunbookIndex(embedder=EMBEDDER)
    yield index
    index.close()


def _opensearch() -> Iterator[RunbookIndex]:
    url = os.environ.get("OPENSEARCH_URL")
    if not url:
        pytest.skip("OPENSEARCH_URL not set: no OpenSearch cluster to run the contract against")
    from slo_engine.adapters.opensearch import OpenSearchRunbookIndex

    index = OpenSearchRunbookIndex.from_url(
        url, index_name=f"slo-engine-contract-{uuid.uuid4().hex[:8]}", embedder=EMBEDDER
    )
    index.ensure_index()
    yield index
    index.client.indices.delete(index=index.index_name, ignore_unavailable=True)


def _opensearch_emulated() -> Iterator[RunbookIndex]:
    from opensearch_emulator import opensearch_emulator

    from slo_engine.adapters.opensearch import OpenSearchRunbookIndex

    with opensearch_emulator() as url:
        yield OpenSearchRunbookIndex.from_url(url, embedder=EMBEDDER)


BACKENDS = {"local": _local, "opensearch": _opensearch, "opensearch-emulated": _opensearch_emulated}


@pytest.fixture(params=sorted(BACKENDS))
def index(request: pytest.FixtureRequest) -> Iterator[RunbookIndex]:
    yield from BACKENDS[request.param]()


@pytest.fixture
def filled(index: RunbookIndex) -> RunbookIndex:
    index.upsert(DISK + CHECKOUT + PAYMENTS)
    return index


def test_implements_the_port(index: RunbookIndex) -> None:
    assert isinstance(index, RunbookIndex)


def test_upsert_counts_new_chunks_and_an_identical_upsert_writes_nothing(index: RunbookIndex) -> None:
    assert index.upsert(DISK) == 2
    assert index.upsert(DISK) == 0


def test_only_the_changed_chunk_is_rewritten(index: RunbookIndex) -> None:
    index.upsert(DISK)
    changed = [DISK[0], DISK[1].model_copy(update={"text": "Delete old logs under /var/log."})]
    assert index.upsert(changed) == 1


def test_the_matching_runbook_ranks_first(filled: RunbookIndex) -> None:
    hits = filled.search("disk almost full on a node", k=3)
    assert hits[0].path == "node/DiskFull.md"
    assert all(0 < hit.score <= 1 for hit in hits)


def test_k_bounds_the_hits_and_non_positive_k_gives_none(filled: RunbookIndex) -> None:
    assert len(filled.search("service requests fail", k=2)) <= 2
    assert filled.search("service requests fail", k=0) == []


def test_the_service_filter_keeps_only_runbooks_about_that_service(filled: RunbookIndex) -> None:
    hits = filled.search("slow answers", service="checkout", k=5)
    assert [hit.path for hit in hits] == ["checkout/LatencyHigh.md"]


def test_hits_carry_the_resolution_and_repository(filled: RunbookIndex) -> None:
    (hit,) = filled.search("connection pool exhausted", service="checkout", k=1)
    assert hit.repository == REPOSITORY
    assert hit.resolution is not None and hit.resolution.minutes_to_mitigate == 30


def test_delete_path_removes_every_chunk_of_the_runbook(filled: RunbookIndex) -> None:
    assert filled.delete_path(REPOSITORY, "node/DiskFull.md") == 2
    assert all(hit.path != "node/DiskFull.md" for hit in filled.search("disk full node", k=5))
    assert filled.delete_path(REPOSITORY, "node/DiskFull.md") == 0


def test_a_shorter_document_leaves_no_stale_chunks(filled: RunbookIndex) -> None:
    filled.upsert(DISK[:1])
    hits = filled.search("remove unused container images", k=5)
    assert all(not (hit.path == "node/DiskFull.md" and "Mitigation" in hit.heading) for hit in hits)
