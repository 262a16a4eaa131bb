"""``ports.RunbookIndex`` on Amazon S3 Vectors (boto3 ``s3vectors``): a cosine vector index in a vector bucket.

Vector keys are ``repository:path#chunk``; chunk 0 records the document's chunk count so a shorter runbook loses its
stale chunks without a scan. Retrieval is vector-only (S3 Vectors has no BM25), filtered by service metadata.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from slo_engine.adapters.opensearch import chunk_key, content_hash
from slo_engine.knowledge.embedding import Embedder, HashingEmbedder
from slo_engine.models import Resolution, RunbookChunk, RunbookHit

PUT_BATCH = 500
GET_BATCH = 100
MAX_TOP_K = 100
TEXT_METADATA_CHARS = 2000
NON_FILTERABLE_KEYS = ["heading", "text", "resolution", "content_hash", "embedder", "link"]


class S3VectorsRunbookIndex:
    """Implements ``ports.RunbookIndex`` over one S3 Vectors index; the boto3 client is built lazily."""

    def __init__(
        self, bucket: str, index_name: str = "runbooks", embedder: Embedder | None = None, client: Any = None
    ) -> None:
        self.bucket = bucket
        self.index_name = index_name
        self.embedder: Embedder = embedder or HashingEmbedder()
        self._client = client
        self._index_ready = False

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3vectors")
        return self._client

    def _where(self) -> dict[str, str]:
        return {"vectorBucketName": self.bucket, "indexName": self.index_name}

    def ensure_index(self) -> bool:
        """Create the index (float32, the embedder's dimension, cosine) unless it exists; True when created."""
        if self._index_ready:
            return False
        from botocore.exceptions import ClientError

        created = False
        try:
            self.client.get_index(**self._where())
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NotFoundException":
                raise
            try:
                self.client.create_index(
                    **self._where(),
                    dataType="float32",
                    dimension=self.embedder.dimension,
                    distanceMetric="cosine",
                    metadataConfiguration={"nonFilterableMetadataKeys": NON_FILTERABLE_KEYS},
                )
                created = True
            except ClientError as race:
                if race.response.get("Error", {}).get("Code") != "ConflictException":
                    raise
        self._index_ready = True
        return created

    def _get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), GET_BATCH):
            answer = self.client.get_vectors(
                **self._where(), keys=list(keys[start : start + GET_BATCH]), returnMetadata=True, returnData=False
            )
            for vector in answer.get("vectors", []):
                found[vector["key"]] = vector.get("metadata") or {}
        return found

    def _stored_count(self, repository: str, path: str) -> int:
        first = self._get([chunk_key(repository, path, 0)]).get(chunk_key(repository, path, 0))
        return int(first.get("chunk_count", 1)) if first is not None else 0

    def upsert(self, chunks: Sequence[RunbookChunk]) -> int:
        self.ensure_index()
        documents: dict[tuple[str, str], dict[int, RunbookChunk]] = {}
        for chunk in chunks:
            documents.setdefault((chunk.repository, chunk.path), {})[chunk.chunk_index] = chunk
        changed: list[tuple[RunbookChunk, str, int]] = []
        stale: list[str] = []
        for (repository, path), by_index in documents.items():
            count = max(by_index) + 1
            stored_count = self._stored_count(repository, path)
            stored = self._get([chunk_key(repository, path, i) for i in sorted(by_index)])
            for chunk_index, chunk in sorted(by_index.items()):
                digest = content_hash(chunk)
                metadata = stored.get(chunk_key(repository, path, chunk_index))
                same = metadata is not None and (metadata.get("content_hash"), metadata.get("embedder")) == (
                    digest,
                    self.embedder.name,
                )
                if not same or (chunk_index == 0 and int(metadata.get("chunk_count", 1) if metadata else 0) != count):
                    changed.append((chunk, digest, count))
            stale.extend(chunk_key(repository, path, i) for i in range(stored_count) if i not in by_index)
        vectors = self._embed([f"{chunk.heading}\n{chunk.text}" for chunk, _, _ in changed])
        entries = [
            {
                "key": chunk_key(chunk.repository, chunk.path, chunk.chunk_index),
                "data": {"float32": [float(x) for x in vector]},
                "metadata": self._metadata(chunk, digest, count),
            }
            for (chunk, digest, count), vector in zip(changed, vectors, strict=True)
        ]
        for start in range(0, len(entries), PUT_BATCH):
            self.client.put_vectors(**self._where(), vectors=entries[start : start + PUT_BATCH])
        if stale:
            self._delete(stale)
        return len(changed)

    def delete_path(self, repository: str, path: str) -> int:
        self.ensure_index()
        keys = [chunk_key(repository, path, i) for i in range(self._stored_count(repository, path))]
        present = list(self._get(keys)) if keys else []
        if present:
            self._delete(present)
        return len(present)

    def search(self, text: str, service: str | None = None, k: int = 5) -> list[RunbookHit]:
        if k <= 0 or not text.strip():
            return []
        self.ensure_index()
        request: dict[str, Any] = {
            **self._where(),
            "topK": min(MAX_TOP_K, k * 4),
            "queryVector": {"float32": [float(x) for x in self._embed([text])[0]]},
            "returnMetadata": True,
            "returnDistance": True,
        }
        if service and service.strip():
            name = service.strip().lower()
            request["filter"] = {"$or": [{"services": {"$eq": name}}, {"path_segments": {"$eq": name}}]}
        answer = self.client.query_vectors(**request)
        seen: set[tuple[str, str]] = set()
        first: list[RunbookHit] = []
        rest: list[RunbookHit] = []
        for vector in answer.get("vectors", []):
            metadata = vector.get("metadata") or {}
            score = min(max(1.0 - float(vector.get("distance", 1.0)), 0.0), 1.0)
            if score <= 0:
                continue
            hit = self._hit(metadata, score)
            (rest if (hit.repository, hit.path) in seen else first).append(hit)
            seen.add((hit.repository, hit.path))
        return (first + rest)[:k]

    def _delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), PUT_BATCH):
            self.client.delete_vectors(**self._where(), keys=list(keys[start : start + PUT_BATCH]))

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.asarray(self.embedder.embed(texts), dtype=np.float32)

    def _metadata(self, chunk: RunbookChunk, digest: str, count: int) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "repository": chunk.repository,
            "path": chunk.path,
            "path_segments": [part.lower() for part in chunk.path.replace(".", "/").split("/") if part],
            "chunk_index": chunk.chunk_index,
            "heading": chunk.heading,
            "text": chunk.text[:TEXT_METADATA_CHARS],
            "resolution": chunk.resolution.model_dump_json() if chunk.resolution else "",
            "content_hash": digest,
            "embedder": self.embedder.name,
        }
        if chunk.link:
            metadata["link"] = chunk.link
        if chunk.services:
            metadata["services"] = [service.lower() for service in chunk.services]
        if chunk.chunk_index == 0:
            metadata["chunk_count"] = count
        return metadata

    @staticmethod
    def _hit(metadata: dict[str, Any], score: float) -> RunbookHit:
        resolution = metadata.get("resolution")
        return RunbookHit(
            path=str(metadata.get("path", "")),
            heading=str(metadata.get("heading", "")),
            score=round(score, 4),
            resolution=Resolution.model_validate(json.loads(resolution)) if resolution else None,
            repository=str(metadata.get("repository", "local")),
            link=metadata.get("link") or None,
            text=str(metadata.get("text", ""))[:600],
        )
