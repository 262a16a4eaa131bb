"""Run artifacts in S3: ``s3://<bucket>/runs/<run id>/<name>`` (``SLO_ENGINE_RUN_ARTIFACTS_BUCKET``); the bucket
expires them after the longest a run can wait for its approval."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

BUCKET_VARIABLE = "SLO_ENGINE_RUN_ARTIFACTS_BUCKET"
PREFIX = "runs"


class S3RunArtifacts:
    def __init__(self, bucket: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket = bucket
        self._s3 = client

    @classmethod
    def from_env(cls) -> S3RunArtifacts | None:
        bucket = os.environ.get(BUCKET_VARIABLE, "").strip()
        return cls(bucket) if bucket else None

    def put(self, run_id: str, name: str, body: bytes) -> str:
        key = f"{PREFIX}/{run_id}/{name}"
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{self.bucket}/{key}"

    def get(self, uri: str) -> bytes:
        parts = urlsplit(uri)
        key = parts.path.lstrip("/")
        if parts.scheme != "s3" or parts.netloc != self.bucket or not key.startswith(f"{PREFIX}/"):
            raise KeyError(f"not a run artifact of bucket {self.bucket}: {uri}")
        try:
            return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self._s3.exceptions.NoSuchKey as error:
            raise KeyError(f"no run artifact {uri}") from error

    def discard(self, run_id: str) -> None:
        """Nothing: the API reads a run's artifacts back until the bucket's lifecycle expires them."""
