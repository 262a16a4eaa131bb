"""The embedded ``ports.ServiceDocuments``: one text file per (service, document) under the data dir,
``<data_dir>/service-docs/<service>/<key digest>.txt``. The AWS counterpart is
``adapters.aws.service_documents.S3ServiceDocuments`` (same layout as object keys).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote

from slo_engine.knowledge.service_documents import MAX_DOCUMENT_CHARS, bounded, key_digest, service_folder

FOLDER = "service-docs"


class LocalServiceDocuments:
    """Implements ``ports.ServiceDocuments`` over a folder (``root`` is usually ``<data_dir>/service-docs``)."""

    def __init__(self, root: Path, max_document_chars: int = MAX_DOCUMENT_CHARS) -> None:
        self.root = Path(root)
        self.max_document_chars = max_document_chars

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> LocalServiceDocuments:
        return cls(Path(data_dir) / FOLDER)

    def _path(self, service: str, key: str) -> Path:
        return self.root / service_folder(service) / f"{key_digest(key)}.txt"

    def put(self, service: str, key: str, text: str) -> None:
        target = self._path(service, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text[: self.max_document_chars])
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def delete(self, service: str, key: str) -> None:
        self._path(service, key).unlink(missing_ok=True)

    def for_service(self, service: str, limit: int, max_chars: int) -> list[str]:
        folder = self.root / service_folder(service)
        if not folder.is_dir():
            return []
        files = [(path.stat().st_mtime_ns, path.name, path) for path in folder.glob("*.txt")]
        files.sort(key=lambda found: (-found[0], found[1]))
        return bounded((path.read_text(encoding="utf-8") for _, _, path in files), limit, max_chars)

    def services_holding(self, key: str) -> list[str]:
        if not self.root.is_dir():
            return []
        name = f"{key_digest(key)}.txt"
        return sorted(unquote(folder.name) for folder in self.root.iterdir() if (folder / name).is_file())
