"""Run artifacts on this machine: files under ``<data dir>/artifacts/<run id>/`` (so that a run paused for approval
can be resumed by another process), or in memory when the engine has no data dir."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
MEMORY_SCHEME = "memory"


def _segment(text: str) -> str:
    cleaned = _SAFE.sub("_", text)[:200]
    if cleaned in ("", ".", ".."):
        raise ValueError(f"not a usable artifact path segment: {text!r}")
    return cleaned


class LocalRunArtifacts:
    def __init__(self, root: Path | None = None) -> None:
        self.root = None if root is None else Path(root)
        self._memory: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, run_id: str, name: str, body: bytes) -> str:
        run, item = _segment(run_id), _segment(name)
        if self.root is None:
            uri = f"{MEMORY_SCHEME}://{run}/{item}"
            with self._lock:
                self._memory[uri] = bytes(body)
            return uri
        path = self.root / run / item
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(body)
        temporary.replace(path)  # a reader never sees half an artifact
        return path.resolve().as_uri()

    def get(self, uri: str) -> bytes:
        parts = urlsplit(uri)
        if parts.scheme == MEMORY_SCHEME:
            with self._lock:
                if uri not in self._memory:
                    raise KeyError(f"no run artifact {uri}")
                return self._memory[uri]
        if parts.scheme != "file":
            raise KeyError(f"not a local run artifact: {uri}")
        path = Path(unquote(parts.path))
        if self.root is not None and not path.resolve().is_relative_to(self.root.resolve()):
            raise KeyError(f"run artifact outside {self.root}: {uri}")
        try:
            return path.read_bytes()
        except FileNotFoundError as error:
            raise KeyError(f"no run artifact {uri}") from error

    def discard(self, run_id: str) -> None:
        run = _segment(run_id)
        if self.root is None:
            with self._lock:
                for uri in [uri for uri in self._memory if uri.startswith(f"{MEMORY_SCHEME}://{run}/")]:
                    del self._memory[uri]
            return
        shutil.rmtree(self.root / run, ignore_errors=True)
