"""The S3 Vectors runbook index: index creation, puts, hash-skips and deletes against moto's s3vectors; retrieval
(QueryVectors, which moto does not implement) against botocore's Stubber with a response of the documented shape.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from slo_engine.adapters.aws.s3vectors import S3VectorsRunbookIndex
from slo_engine.knowledge.embedding import HashingEmbedder
from slo_engine.models import Resolution, RunbookChunk
from slo_engine.ports import RunbookIndex

EMBEDDER = HashingEmbedder(dimension=32)
REPOSITORY, PATH = "acme/runbooks", "runbooks/etcd/etcdNoLeader.md"


def chunks(*texts: str) -> list[RunbookChunk]:
    return [
        RunbookChunk(repository=REPOSITORY, path=PATH, heading=f"etcdNoLeader > Part {i}", text=t, chunk_index=i)
        for i, t in enumerate(texts)
    ]


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3VectorsRunbookIndex]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3vectors")
        client.create_vector_bucket(vectorBucketName="runbook-vectors")
        yield S3VectorsRunbookIndex("runbook-vectors", embedder=EMBEDDER, client=client)


def stored_keys(index: S3VectorsRunbookIndex) -> list[str]:
    listed = index.client.list_vectors(vectorBucketName=index.bucket, indexName=index.index_name)
    return sorted(vector["key"] for vector in listed["vectors"])


def test_the_adapter_satisfies_the_runbook_index_port(index: S3VectorsRunbookIndex) -> None:
    assert isinstance(index, RunbookIndex)


def test_the_index_is_created_once_with_the_embedders_dimension_and_cosine(index: S3VectorsRunbookIndex) -> None:
    assert index.ensure_index() is True
    described = index.client.get_index(vectorBucketName=index.bucket, indexName=index.index_name)["index"]
    assert (described["dimension"], described["distanceMetric"]) == (32, "cosine")
    assert S3VectorsRunbookIndex(index.bucket, embedder=EMBEDDER, client=index.client).ensure_index() is False


def test_chunks_are_put_under_repository_path_chunk_keys_and_unchanged_ones_skipped(
    index: S3VectorsRunbookIndex,
) -> None:
    assert index.upsert(chunks("no leader", "check the network between members")) == 2
    assert stored_keys(index) == [f"{REPOSITORY}:{PATH}#0", f"{REPOSITORY}:{PATH}#1"]
    assert index.upsert(chunks("no leader", "check the network between members")) == 0


def test_a_shorter_runbook_loses_its_stale_chunks(index: S3VectorsRunbookIndex) -> None:
    index.upsert(chunks("a", "b", "c"))
    assert index.upsert(chunks("a")) == 1  # chunk 0 is rewritten with the new chunk count
    assert stored_keys(index) == [f"{REPOSITORY}:{PATH}#0"]


def test_delete_path_removes_every_chunk(index: S3VectorsRunbookIndex) -> None:
    index.upsert(chunks("a", "b"))
    assert index.delete_path(REPOSITORY, PATH) == 2
    assert stored_keys(index) == []
    assert index.delete_path(REPOSITORY, PATH) == 0


def test_search_queries_by_vector_with_a_service_filter_and_maps_distance_to_score() -> None:
    client = boto3.client("s3vectors", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    index = S3VectorsRunbookIndex("runbook-vectors", embedder=EMBEDDER, client=client)
    index._index_ready = True
    resolution = Resolution(symptoms=["etcdNoLeader"], minutes_to_mitigate=20)
    metadata = {"repository": REPOSITORY, "path": PATH, "heading": "etcdNoLeader > Meaning", "text": "no leader"}
    with Stubber(client) as stub:
        stub.add_response(
            "query_vectors",
            {
                "vectors": [
                    {
                        "key": f"{REPOSITORY}:{PATH}#0",
                        "distance": 0.25,
                        "metadata": metadata | {"resolution": resolution.model_dump_json()},
                    },
                    {"key": f"{REPOSITORY}:{PATH}#1", "distance": 0.4, "metadata": metadata},
                ],
                "distanceMetric": "cosine",
            },
            {
                "vectorBucketName": "runbook-vectors",
                "indexName": "runbooks",
                "topK": 8,
                "queryVector": {"float32": [float(x) for x in EMBEDDER.embed(["etcd has no leader"])[0]]},
                "returnMetadata": True,
                "returnDistance": True,
                "filter": {"$or": [{"services": {"$eq": "etcd"}}, {"path_segments": {"$eq": "etcd"}}]},
            },
        )
        hits = index.search("etcd has no leader", service="etcd", k=2)
    assert [(hit.path, hit.score) for hit in hits] == [(PATH, 0.75), (PATH, 0.6)]
    assert hits[0].resolution is not None and hits[0].resolution.minutes_to_mitigate == 20


def test_an_access_denied_query_raises() -> None:
    client = boto3.client("s3vectors", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    index = S3VectorsRunbookIndex("runbook-vectors", embedder=EMBEDDER, client=client)
    index._index_ready = True
    with Stubber(client) as stub:
        stub.add_client_error("query_vectors", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(client.exceptions.AccessDeniedException):
            index.search("anything")
