"""``ports.RunbookIndex`` on OpenSearch (a Serverless VECTORSEARCH collection or a domain) with opensearch-py.

A k-NN index (faiss HNSW, inner product on unit vectors) created idempotently; documents keyed by a ``key`` field
(repository + path + chunk) because Serverless vector collections refuse custom ``_id``s; hybrid retrieval runs a
BM25 query and a filtered k-NN query in one ``_msearch`` and fuses them as the embedded index does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from slo_engine.knowledge.embedding import Embedder, HashingEmbedder
from slo_engine.models import Resolution, RunbookChunk, RunbookHit

VECTOR_WEIGHT = 0.5
LEXICAL_WEIGHT = 0.5
CANDIDATES = 50
MAX_CHUNKS_PER_DOCUMENT = 1000
HIT_TEXT_CHARS = 600


class RunbookIndexError(RuntimeError):
    """OpenSearch refused a request (or some items of a bulk request): status and reasons say which and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def chunk_key(repository: str, path: str, chunk_index: int) -> str:
    return f"{repository}:{path}#{chunk_index}"


def content_hash(chunk: RunbookChunk) -> str:
    payload = json.dumps(
        [chunk.heading, chunk.text, chunk.services, chunk.resolution.model_dump() if chunk.resolution else None],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def index_body(dimension: int) -> dict[str, Any]:
    """Settings and mappings of the runbook index (k-NN on, keyword fields for exact filters)."""
    keyword = {"type": "keyword"}
    return {
        "settings": {"index": {"knn": True}},
        "mappings": {
            "properties": {
                "key": keyword,
                "repository": keyword,
                "path": keyword,
                "path_segments": keyword,
                "chunk_index": {"type": "integer"},
                "heading": {"type": "text"},
                "text": {"type": "text"},
                "services": keyword,
                "resolution": {"type": "object", "enabled": False},
                "content_hash": keyword,
                "embedder": keyword,
                "link": {"type": "keyword", "index": False},
                "vector": {
                    "type": "knn_vector",
                    "dimension": dimension,
                    "method": {"name": "hnsw", "engine": "faiss", "space_type": "innerproduct"},
                },
            }
        },
    }


def cosine_from_score(score: float) -> float:
    """faiss inner-product scores are ``1 + ip`` for ip >= 0 and ``1 / (1 - ip)`` below: back to the cosine."""
    return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / max(score, 1e-9)


def _error_text(error: Exception) -> tuple[str, int | None]:
    status = getattr(error, "status_code", None)
    info = getattr(error, "info", None)
    reason = ""
    if isinstance(info, dict):
        detail = info.get("error")
        reason = json.dumps(detail)[:300] if isinstance(detail, dict) else str(detail or info)[:300]
    return f"{type(error).__name__} {status}: {reason or error}", status if isinstance(status, int) else None


class OpenSearchRunbookIndex:
    """Implements ``ports.RunbookIndex``; ``client`` is an ``opensearchpy.OpenSearch`` (or anything with its API)."""

    def __init__(
        self,
        client: Any,
        index_name: str = "runbooks",
        embedder: Embedder | None = None,
        *,
        refresh_after_write: bool = False,
        candidates: int = CANDIDATES,
    ) -> None:
        self.client = client
        self.index_name = index_name
        self.embedder: Embedder = embedder or HashingEmbedder()
        self.refresh_after_write = refresh_after_write
        self.candidates = candidates
        self._index_ready = False

    @classmethod
    def from_endpoint(
        cls,
        endpoint: str,
        *,
        index_name: str = "runbooks",
        embedder: Embedder | None = None,
        region: str | None = None,
        service: str = "aoss",
    ) -> OpenSearchRunbookIndex:
        """A client for an AWS endpoint signed with SigV4 (``aoss`` for Serverless, ``es`` for a domain)."""
        import boto3
        from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

        session = boto3.Session()
        auth = AWSV4SignerAuth(session.get_credentials(), region or session.region_name or "us-east-1", service)
        host = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}").hostname
        client = OpenSearch(
            hosts=[{"host": host, "port": 443}],
            http_auth=auth,
            use_ssl=True,
            verify_certs=True,
            connection_class=RequestsHttpConnection,
            pool_maxsize=10,
            timeout=30,
        )
        return cls(client, index_name, embedder)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        index_name: str = "runbooks",
        embedder: Embedder | None = None,
        refresh_after_write: bool = True,
    ) -> OpenSearchRunbookIndex:
        """A client for a plain URL (``http(s)://[user:password@]host:port``), e.g. a self-managed cluster."""
        from opensearchpy import OpenSearch

        parsed = urlparse(url)
        auth = (parsed.username, parsed.password or "") if parsed.username else None
        client = OpenSearch(
            hosts=[{"host": parsed.hostname, "port": parsed.port or (443 if parsed.scheme == "https" else 9200)}],
            http_auth=auth,
            use_ssl=parsed.scheme == "https",
            verify_certs=False,
            ssl_show_warn=False,
            max_retries=0,
            retry_on_status=(),
            timeout=30,
        )
        return cls(client, index_name, embedder, refresh_after_write=refresh_after_write)

    # --- index lifecycle ------------------------------------------------------------------------------------------

    def ensure_index(self) -> bool:
        """Create the k-NN index unless it exists; True when this call created it. Safe to race."""
        if self._index_ready:
            return False
        created = False
        try:
            if not self.client.indices.exists(index=self.index_name):
                self.client.indices.create(index=self.index_name, body=index_body(self.embedder.dimension))
                created = True
        except Exception as error:
            if "resource_already_exists_exception" not in str(getattr(error, "info", "")) + str(error):
                raise RunbookIndexError(*_error_text(error)) from error
        self._index_ready = True
        return created

    # --- RunbookIndex ---------------------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[RunbookChunk]) -> int:
        """Store whole documents; return how many chunks were new or changed (unchanged ones are not re-embedded).

        Each (repository, path) in the batch keeps exactly the chunk indexes the batch gives: a changed chunk's old
        document and stale chunks are deleted in the same bulk request that indexes the new ones.
        """
        self.ensure_index()
        latest: dict[tuple[str, str, int], RunbookChunk] = {}
        for chunk in chunks:
            latest[(chunk.repository, chunk.path, chunk.chunk_index)] = chunk
        documents = sorted({(repository, path) for repository, path, _ in latest})
        stale_ids: list[str] = []
        changed: list[tuple[RunbookChunk, str]] = []
        for repository, path in documents:
            stored: dict[int, list[tuple[str, str]]] = {}
            for doc_id, source in self._stored(repository, path):
                stored.setdefault(int(source.get("chunk_index", -1)), []).append(
                    (doc_id, f"{source.get('content_hash')}|{source.get('embedder')}")
                )
            for (chunk_repository, chunk_path, chunk_index), chunk in latest.items():
                if (chunk_repository, chunk_path) != (repository, path):
                    continue
                digest = content_hash(chunk)
                copies = stored.pop(chunk_index, [])
                if len(copies) == 1 and copies[0][1] == f"{digest}|{self.embedder.name}":
                    continue
                stale_ids.extend(doc_id for doc_id, _ in copies)
                changed.append((chunk, digest))
            stale_ids.extend(doc_id for copies in stored.values() for doc_id, _ in copies)
        if not changed and not stale_ids:
            return 0
        vectors = self._embed([f"{chunk.heading}\n{chunk.text}" for chunk, _ in changed])
        operations: list[dict[str, Any]] = [{"delete": {"_index": self.index_name, "_id": i}} for i in stale_ids]
        for (chunk, digest), vector in zip(changed, vectors, strict=True):
            operations.append({"index": {"_index": self.index_name}})
            operations.append(self._document(chunk, digest, vector))
        self._bulk(operations)
        return len(changed)

    def delete_path(self, repository: str, path: str) -> int:
        self.ensure_index()
        ids = [doc_id for doc_id, _ in self._stored(repository, path)]
        if ids:
            self._bulk([{"delete": {"_index": self.index_name, "_id": doc_id}} for doc_id in ids])
        return len(ids)

    def search(self, text: str, service: str | None = None, k: int = 5) -> list[RunbookHit]:
        """Hybrid hits: 0.5 x cosine (k-NN) + 0.5 x BM25 / best BM25, best chunk of each runbook first."""
        if k <= 0 or not text.strip():
            return []
        self.ensure_index()
        size = max(self.candidates, k * 4)
        vector = self._embed([text])[0]
        service_filter = self._service_filter(service)
        lexical: dict[str, Any] = {
            "size": size,
            "_source": {"excludes": ["vector"]},
            "query": {
                "bool": {
                    "must": [{"multi_match": {"query": text, "fields": ["heading^2", "text"]}}],
                    "filter": [service_filter] if service_filter else [],
                }
            },
        }
        knn: dict[str, Any] = {"vector": vector.tolist(), "k": size}
        if service_filter:
            knn["filter"] = service_filter
        semantic = {"size": size, "_source": {"excludes": ["vector"]}, "query": {"knn": {"vector": knn}}}
        body = [{"index": self.index_name}, lexical, {"index": self.index_name}, semantic]
        try:
            answer = self.client.msearch(body=body, index=self.index_name)
        except Exception as error:
            raise RunbookIndexError(*_error_text(error)) from error
        responses = answer.get("responses", [])
        if len(responses) != 2:
            raise RunbookIndexError(f"_msearch answered {len(responses)} responses, expected 2")
        for response in responses:
            if "error" in response:
                raise RunbookIndexError(f"search failed: {json.dumps(response['error'])[:300]}", response.get("status"))
        return self._fuse(responses[0]["hits"]["hits"], responses[1]["hits"]["hits"], k)

    # --- internals ------------------------------------------------------------------------------------------------

    def _stored(self, repository: str, path: str) -> list[tuple[str, dict[str, Any]]]:
        body = {
            "size": MAX_CHUNKS_PER_DOCUMENT,
            "_source": ["chunk_index", "content_hash", "embedder"],
            "query": {"bool": {"filter": [{"term": {"repository": repository}}, {"term": {"path": path}}]}},
        }
        try:
            answer = self.client.search(index=self.index_name, body=body)
        except Exception as error:
            raise RunbookIndexError(*_error_text(error)) from error
        return [(hit["_id"], hit.get("_source", {})) for hit in answer["hits"]["hits"]]

    def _bulk(self, operations: list[dict[str, Any]]) -> None:
        try:
            answer = self.client.bulk(body=operations, index=self.index_name)
        except Exception as error:
            raise RunbookIndexError(*_error_text(error)) from error
        if answer.get("errors"):
            failures = []
            for item in answer.get("items", []):
                ((action, result),) = item.items()
                if result.get("status", 200) >= 300 and not (action == "delete" and result.get("status") == 404):
                    reason = (result.get("error") or {}).get("reason") or result.get("result")
                    failures.append(f"{action} {result.get('status')}: {reason}")
            if failures:
                raise RunbookIndexError(f"{len(failures)} bulk items failed: " + "; ".join(failures[:5]))
        if self.refresh_after_write:
            self.client.indices.refresh(index=self.index_name)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.asarray(self.embedder.embed(texts), dtype=np.float32)

    def _document(self, chunk: RunbookChunk, digest: str, vector: np.ndarray) -> dict[str, Any]:
        return {
            "key": chunk_key(chunk.repository, chunk.path, chunk.chunk_index),
            "repository": chunk.repository,
            "path": chunk.path,
            "path_segments": [part.lower() for part in chunk.path.replace(".", "/").split("/") if part],
            "chunk_index": chunk.chunk_index,
            "heading": chunk.heading,
            "text": chunk.text,
            "services": [service.lower() for service in chunk.services],
            "resolution": chunk.resolution.model_dump(mode="json") if chunk.resolution else None,
            "content_hash": digest,
            "embedder": self.embedder.name,
            "link": chunk.link,
            "vector": [float(x) for x in vector],
        }

    @staticmethod
    def _service_filter(service: str | None) -> dict[str, Any] | None:
        if service is None or not service.strip():
            return None
        name = service.strip().lower()
        return {
            "bool": {
                "should": [
                    {"term": {"services": name}},
                    {"term": {"path_segments": name}},
                    {"match_phrase": {"text": name}},
                    {"match_phrase": {"heading": name}},
                ],
                "minimum_should_match": 1,
            }
        }

    def _fuse(self, lexical: Iterable[dict[str, Any]], semantic: Iterable[dict[str, Any]], k: int) -> list[RunbookHit]:
        sources: dict[str, dict[str, Any]] = {}
        lexical_scores: dict[str, float] = {}
        cosines: dict[str, float] = {}
        for hit in lexical:
            sources[hit["_id"]] = hit.get("_source", {})
            lexical_scores[hit["_id"]] = float(hit.get("_score") or 0.0)
        for hit in semantic:
            sources[hit["_id"]] = hit.get("_source", {})
            cosines[hit["_id"]] = min(max(cosine_from_score(float(hit.get("_score") or 0.0)), 0.0), 1.0)
        best_lexical = max(lexical_scores.values(), default=0.0)
        scores = {
            doc_id: VECTOR_WEIGHT * cosines.get(doc_id, 0.0)
            + LEXICAL_WEIGHT * (lexical_scores.get(doc_id, 0.0) / best_lexical if best_lexical > 0 else 0.0)
            for doc_id in sources
        }
        ranked = sorted((doc_id for doc_id in scores if scores[doc_id] > 0), key=lambda d: (-scores[d], d))
        seen: set[tuple[str, str]] = set()
        first: list[str] = []
        rest: list[str] = []
        for doc_id in ranked:
            document = (sources[doc_id].get("repository", ""), sources[doc_id].get("path", ""))
            (rest if document in seen else first).append(doc_id)
            seen.add(document)
        return [self._hit(sources[doc_id], scores[doc_id]) for doc_id in (first + rest)[:k]]

    @staticmethod
    def _hit(source: dict[str, Any], score: float) -> RunbookHit:
        text = str(source.get("text", ""))
        resolution = source.get("resolution")
        return RunbookHit(
            path=str(source.get("path", "")),
            heading=str(source.get("heading", "")),
            score=round(score, 4),
            resolution=Resolution.model_validate(resolution) if resolution else None,
            repository=str(source.get("repository", "local")),
            link=source.get("link") or None,
            text=text if len(text) <= HIT_TEXT_CHARS else text[: HIT_TEXT_CHARS - 1].rstrip() + "…",
        )
