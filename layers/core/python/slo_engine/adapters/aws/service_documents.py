"""``ports.ServiceDocuments`` on S3: ``s3://<bucket>/service-docs/<service>/<key digest>.txt``, one UTF-8 object per
(service, document), cut to ``MAX_DOCUMENT_CHARS``; the document key itself (repository:path) is kept in the object's
``document-key`` metadata, URL-quoted. Encryption is the bucket's default (SSE-S3); boto3 is imported lazily.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

from slo_engine.knowledge.service_documents import MAX_DOCUMENT_CHARS, bounded, key_digest, service_folder

BUCKET_VARIABLE = "SLO_ENGINE_SERVICE_DOCS_BUCKET"
PREFIX = "service-docs"


class S3ServiceDocuments:
    def __init__(
        self, bucket: str, client: Any = None, *, prefix: str = PREFIX, max_document_chars: int = MAX_DOCUMENT_CHARS
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self.max_document_chars = max_document_chars

    @classmethod
    def from_env(cls) -> S3ServiceDocuments | None:
        """The store named by ``SLO_ENGINE_SERVICE_DOCS_BUCKET``, or None when it is not set."""
        bucket = os.environ.get(BUCKET_VARIABLE, "").strip()
        return cls(bucket) if bucket else None

    def _folder(self, service: str) -> str:
        return f"{self._prefix}/{service_folder(service)}/"

    def object_key(self, service: str, key: str) -> str:
        return f"{self._folder(service)}{key_digest(key)}.txt"

    def put(self, service: str, key: str, text: str) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=self.object_key(service, key),
            Body=text[: self.max_document_chars].encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
            Metadata={"document-key": quote(key, safe="")[:1024]},
        )

    def delete(self, service: str, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=self.object_key(service, key))

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        while True:
            page = self._client.list_objects_v2(**arguments)
            yield from page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            arguments["ContinuationToken"] = page["NextContinuationToken"]

    def _read(self, key: str) -> str:
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return str(body.decode("utf-8"))

    def for_service(self, service: str, limit: int, max_chars: int) -> list[str]:
        objects = [item for item in self._objects(self._folder(service)) if item["Key"].endswith(".txt")]
        objects.sort(key=lambda item: (-item["LastModified"].timestamp(), item["Key"]))
        return bounded((self._read(item["Key"]) for item in objects), limit, max_chars)

    def services_holding(self, key: str) -> list[str]:
        """Lists the whole ``service-docs/`` prefix (one request per thousand documents) for the key's objects."""
        suffix = f"/{key_digest(key)}.txt"
        start = len(self._prefix) + 1
        return sorted(
            unquote(item["Key"][start : -len(suffix)])
            for item in self._objects(f"{self._prefix}/")
            if item["Key"].endswith(suffix) and "/" not in item["Key"][start : -len(suffix)]
        )
