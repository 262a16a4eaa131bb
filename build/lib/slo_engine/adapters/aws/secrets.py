"""Secrets Manager reads with a per-process cache (webhook signing secrets, repository tokens)."""

from __future__ import annotations

import threading
import time
from typing import Any

DEFAULT_MAX_AGE_SECONDS = 300.0


class CachedSecrets:
    """``get(secret_id)`` returns the secret string, fetched at most once per ``max_age_seconds``."""

    def __init__(self, client: Any = None, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS) -> None:
        self._client = client
        self.max_age_seconds = max_age_seconds
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("secretsmanager")
        return self._client

    def get(self, secret_id: str) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(secret_id)
            if cached is not None and now - cached[0] < self.max_age_seconds:
                return cached[1]
        value = str(self.client.get_secret_value(SecretId=secret_id)["SecretString"])
        with self._lock:
            self._cache[secret_id] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
