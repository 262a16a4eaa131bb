"""The OpenSearch runbook index through the real opensearch-py client against recorded OpenSearch REST responses
(tests/fixtures/opensearch): idempotent k-NN index creation, bulk upsert keyed by repository+path+chunk, unchanged
chunks skipped by hash, delete by path, hybrid BM25 + k-NN retrieval filtered by service, and errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from replay_http import Recorded, ReplayServer, replay_server

from slo_engine.adapters.opensearch import OpenSearchRunbookIndex, RunbookIndexError, content_hash
from slo_engine.knowledge.embedding import HashingEmbedder
from slo_engine.models import RunbookChunk
from slo_engine.ports import RunbookIndex

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "opensearch"
EMBEDDER = HashingEmbedder(dimension=64)
REPOSITORY, PATH = "acme/runbooks", "runbooks/KubePodCrashLooping.md"


def fixture(name: str, **placeholders: str) -> dict:
    text = (FIXTURES / name).read_text()
    for placeholder, value in placeholders.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def chunks(*texts: str) -> list[RunbookChunk]:
    return [
        RunbookChunk(repository=REPOSITORY, path=PATH, heading=f"KubePodCrashLooping > Part {i}", text=t, chunk_index=i)
        for i, t in enumerate(texts)
    ]


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with replay_server({("HEAD", "/runbooks"): [Recorded(200)]}) as replay:
        yield replay


def index_on(server: ReplayServer) -> OpenSearchRunbookIndex:
    return OpenSearchRunbookIndex.from_url(server.url, embedder=EMBEDDER, refresh_after_write=False)


def bodies(server: ReplayServer, method: str, path: str) -> list:
    return [r for r in server.requests if r.method == method and r.path.split("?")[0] == path]


def test_the_adapter_satisfies_the_runbook_index_port(server: ReplayServer) -> None:
    assert isinstance(index_on(server), RunbookIndex)


def test_a_missing_index_is_created_with_a_faiss_knn_mapping_of_the_embedders_dimension() -> None:
    answers = {
        ("HEAD", "/runbooks"): [Recorded(404)],
        ("PUT", "/runbooks"): [Recorded(200, fixture("create_index.json"))],
    }
    with replay_server(answers) as server:
        assert index_on(server).ensure_index() is True
    (create,) = bodies(server, "PUT", "/runbooks")
    body = create.json()
    assert body["settings"]["index"]["knn"] is True
    vector = body["mappings"]["properties"]["vector"]
    assert (vector["type"], vector["dimension"], vector["method"]["engine"]) == ("knn_vector", 64, "faiss")
    assert body["mappings"]["properties"]["path"] == {"type": "keyword"}


def test_an_index_created_meanwhile_by_another_writer_is_not_an_error() -> None:
    answers = {
        ("HEAD", "/runbooks"): [Recorded(404)],
        ("PUT", "/runbooks"): [Recorded(400, fixture("create_index_already_exists.json"))],
    }
    with replay_server(answers) as server:
        index = index_on(server)
        assert index.ensure_index() is False
        assert index.ensure_index() is False
    assert len(bodies(server, "HEAD", "/runbooks")) == 1


def test_new_chunks_are_bulk_indexed_with_their_key_hash_and_vector(server: ReplayServer) -> None:
    server.answers[("POST", "/runbooks/_search")] = [Recorded(200, fixture("search_stored_none.json"))]
    server.answers[("POST", "/runbooks/_bulk")] = [Recorded(200, fixture("bulk_ok.json"))]
    link = "https://github.com/acme/runbooks/blob/abc/runbooks/KubePodCrashLooping.md"
    new = [c.model_copy(update={"link": link}) for c in chunks("A pod keeps restarting.", "Check the previous logs.")]
    assert index_on(server).upsert(new) == 2
    (bulk,) = bodies(server, "POST", "/runbooks/_bulk")
    actions, documents = bulk.ndjson()[0::2], bulk.ndjson()[1::2]
    assert actions == [{"index": {"_index": "runbooks"}}] * 2  # no custom _id: Serverless vector collections refuse it
    assert [d["key"] for d in documents] == [f"{REPOSITORY}:{PATH}#0", f"{REPOSITORY}:{PATH}#1"]
    assert documents[0]["content_hash"] == content_hash(new[0]) and len(documents[0]["vector"]) == 64
    assert documents[0]["link"] == "https://github.com/acme/runbooks/blob/abc/runbooks/KubePodCrashLooping.md"
    (lookup,) = bodies(server, "POST", "/runbooks/_search")
    assert lookup.json()["query"]["bool"]["filter"] == [{"term": {"repository": REPOSITORY}}, {"term": {"path": PATH}}]


def test_unchanged_chunks_are_not_reembedded_or_rewritten(server: ReplayServer) -> None:
    same = chunks("A pod keeps restarting.", "Check the previous logs.", "old third part")
    stored = fixture(
        "search_stored_chunks.json",
        CONTENT_HASH_0=content_hash(same[0]),
        CONTENT_HASH_1=content_hash(same[1]),
        EMBEDDER=EMBEDDER.name,
    )
    stored["hits"]["hits"][2]["_source"]["content_hash"] = content_hash(same[2])
    server.answers[("POST", "/runbooks/_search")] = [Recorded(200, stored)]
    assert index_on(server).upsert(same) == 0
    assert bodies(server, "POST", "/runbooks/_bulk") == []


def test_a_changed_chunk_replaces_its_document_and_a_stale_chunk_is_deleted(server: ReplayServer) -> None:
    before = chunks("A pod keeps restarting.", "Check the previous logs.")
    stored = fixture(
        "search_stored_chunks.json",
        CONTENT_HASH_0=content_hash(before[0]),
        CONTENT_HASH_1=content_hash(before[1]),
        EMBEDDER=EMBEDDER.name,
    )
    server.answers[("POST", "/runbooks/_search")] = [Recorded(200, stored)]
    server.answers[("POST", "/runbooks/_bulk")] = [Recorded(200, fixture("bulk_ok.json"))]
    after = chunks("A pod keeps restarting.", "Roll back the last deployment.")
    assert index_on(server).upsert(after) == 1
    (bulk,) = bodies(server, "POST", "/runbooks/_bulk")
    lines = bulk.ndjson()
    deleted = [line["delete"]["_id"] for line in lines if "delete" in line]
    assert deleted == ["1%3A0%3AbC4yR0lCe2d3f4g5h6i7", "1%3A0%3AcD5zS1mDf3e4g5h6i7j8"]
    assert [line["chunk_index"] for line in lines if "key" in line] == [1]


def test_a_bulk_request_with_failed_items_raises_with_the_reason(server: ReplayServer) -> None:
    server.answers[("POST", "/runbooks/_search")] = [Recorded(200, fixture("search_stored_none.json"))]
    server.answers[("POST", "/runbooks/_bulk")] = [Recorded(200, fixture("bulk_partial_failure.json"))]
    with pytest.raises(RunbookIndexError, match="1 bulk items failed: index 400: failed to parse field"):
        index_on(server).upsert(chunks("a", "b"))


def test_delete_path_bulk_deletes_every_stored_chunk_of_the_runbook(server: ReplayServer) -> None:
    stored = fixture("search_stored_chunks.json", CONTENT_HASH_0="x", CONTENT_HASH_1="y", EMBEDDER="e")
    server.answers[("POST", "/runbooks/_search")] = [Recorded(200, stored)]
    server.answers[("POST", "/runbooks/_bulk")] = [Recorded(200, fixture("bulk_ok.json"))]
    assert index_on(server).delete_path(REPOSITORY, PATH) == 3
    (bulk,) = bodies(server, "POST", "/runbooks/_bulk")
    assert len([line for line in bulk.ndjson() if "delete" in line]) == 3


def test_hybrid_search_fuses_bm25_and_knn_and_puts_each_runbooks_best_chunk_first(server: ReplayServer) -> None:
    server.answers[("POST", "/runbooks/_msearch")] = [Recorded(200, fixture("msearch_hybrid.json"))]
    hits = index_on(server).search("pod restarting crash loop", k=4)
    assert [hit.path for hit in hits] == [
        "runbooks/KubePodCrashLooping.md",
        "runbooks/etcdNoLeader.md",
        "runbooks/KubePodNotReady.md",
        "runbooks/KubePodCrashLooping.md",
    ]
    assert hits[0].score == pytest.approx(0.5 * 0.8 + 0.5 * 3.1 / 7.2, abs=1e-3)
    assert hits[0].resolution is not None and hits[0].resolution.minutes_to_mitigate == 15
    assert hits[0].repository == REPOSITORY


def test_search_with_a_service_filters_both_the_bm25_and_the_knn_query(server: ReplayServer) -> None:
    server.answers[("POST", "/runbooks/_msearch")] = [Recorded(200, fixture("msearch_hybrid.json"))]
    index_on(server).search("timeouts", service="Checkout", k=2)
    (request,) = bodies(server, "POST", "/runbooks/_msearch")
    header, lexical, _, semantic = request.ndjson()
    assert header == {"index": "runbooks"}
    service_filter = lexical["query"]["bool"]["filter"][0]
    assert {"term": {"services": "checkout"}} in service_filter["bool"]["should"]
    assert semantic["query"]["knn"]["vector"]["filter"] == service_filter
    assert len(semantic["query"]["knn"]["vector"]["vector"]) == 64


def test_a_failed_search_inside_msearch_raises(server: ReplayServer) -> None:
    server.answers[("POST", "/runbooks/_msearch")] = [Recorded(200, fixture("msearch_index_not_found.json"))]
    with pytest.raises(RunbookIndexError, match="index_not_found_exception"):
        index_on(server).search("anything")


@pytest.mark.parametrize(
    ("status", "name", "reason"),
    [(403, "security_exception_403.json", "security_exception"), (429, "too_many_requests_429.json", "rejected")],
)
def test_refused_requests_raise_with_their_status_and_reason(
    server: ReplayServer, status: int, name: str, reason: str
) -> None:
    server.answers[("POST", "/runbooks/_search")] = [Recorded(status, fixture(name))]
    with pytest.raises(RunbookIndexError, match=reason) as raised:
        index_on(server).delete_path(REPOSITORY, PATH)
    assert raised.value.status == status


def test_nothing_is_asked_for_an_empty_query_or_non_positive_k(server: ReplayServer) -> None:
    index = index_on(server)
    assert index.search("   ") == [] and index.search("pods", k=0) == []
    assert bodies(server, "POST", "/runbooks/_msearch") == []
