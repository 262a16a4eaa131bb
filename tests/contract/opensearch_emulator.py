"""A loopback stand-in for the slice of the OpenSearch REST API the runbook adapter uses (no OpenSearch server can run
here): HEAD/PUT index, ``_bulk`` index/delete with generated ids, ``_search`` with bool/term/match_phrase filters, and
``_msearch`` with ``multi_match`` (BM25 with field boosts) and faiss inner-product ``knn`` with a filter. Answers
follow the documented response shapes, so the real opensearch-py client and the adapter run unchanged against it.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


class Emulator:
    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, dict[str, Any]]] = {}
        self.current: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    # --- queries --------------------------------------------------------------------------------------------------

    def matches(self, document: dict[str, Any], clause: dict[str, Any]) -> bool:
        ((kind, body),) = clause.items()
        if kind == "term":
            ((field, value),) = body.items()
            stored = document.get(field)
            return value in stored if isinstance(stored, list) else stored == value
        if kind == "match_phrase":
            ((field, phrase),) = body.items()
            text = " ".join(_words(str(document.get(field, ""))))
            return f" {' '.join(_words(str(phrase)))} " in f" {text} "
        if kind == "bool":
            if not all(self.matches(document, c) for c in body.get("filter", []) + body.get("must", [])):
                return False
            should = body.get("should", [])
            needed = body.get("minimum_should_match", 1 if should else 0)
            return sum(self.matches(document, c) for c in should) >= needed
        if kind == "multi_match":
            return self.bm25(document, body, self.current) > 0
        raise ValueError(f"emulator does not support the {kind} query")

    def bm25(self, document: dict[str, Any], body: dict[str, Any], documents: dict[str, dict[str, Any]]) -> float:
        score = 0.0
        terms = _words(body["query"])
        for spec in body["fields"]:
            field, _, boost = spec.partition("^")
            lengths = [len(_words(str(d.get(field, "")))) for d in documents.values()] or [1]
            average = sum(lengths) / len(lengths)
            words = Counter(_words(str(document.get(field, ""))))
            length = sum(words.values())
            for term in set(terms):
                containing = sum(1 for d in documents.values() if term in _words(str(d.get(field, ""))))
                if not words[term]:
                    continue
                idf = math.log(1 + (len(documents) - containing + 0.5) / (containing + 0.5))
                tf = words[term]
                score += float(boost or 1) * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / max(average, 1)))
        return score

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        documents = self.indexes.get(index)
        if documents is None:
            return {"error": {"type": "index_not_found_exception", "reason": f"no such index [{index}]"}, "status": 404}
        self.current = documents
        query = body.get("query", {"match_all": {}})
        scored: list[tuple[float, str]] = []
        if "knn" in query:
            ((field, knn),) = query["knn"].items()
            for doc_id, document in documents.items():
                if "filter" in knn and not self.matches(document, knn["filter"]):
                    continue
                inner = sum(a * b for a, b in zip(document[field], knn["vector"], strict=True))
                scored.append((1 + inner if inner >= 0 else 1 / (1 - inner), doc_id))
            scored = sorted(scored, reverse=True)[: knn["k"]]
        elif "match_all" in query:
            scored = [(1.0, doc_id) for doc_id in documents]
        else:
            must = query["bool"].get("must", [])
            for doc_id, document in documents.items():
                if self.matches(document, query):
                    score = sum(self.bm25(document, c["multi_match"], documents) for c in must if "multi_match" in c)
                    scored.append((score, doc_id))
            scored.sort(reverse=True)
        hits = []
        for score, doc_id in scored[: body.get("size", 10)]:
            source = documents[doc_id]
            wanted = body.get("_source")
            if isinstance(wanted, list):
                source = {k: v for k, v in source.items() if k in wanted}
            elif isinstance(wanted, dict):
                source = {k: v for k, v in source.items() if k not in wanted.get("excludes", [])}
            hits.append({"_index": index, "_id": doc_id, "_score": score, "_source": source})
        return {
            "took": 1,
            "timed_out": False,
            "hits": {"total": {"value": len(scored), "relation": "eq"}, "max_score": None, "hits": hits},
        }

    def bulk(self, index: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        documents = self.indexes.setdefault(index, {})
        items: list[dict[str, Any]] = []
        position = 0
        while position < len(lines):
            ((action, meta),) = lines[position].items()
            doc_id = meta.get("_id") or uuid.uuid4().hex
            if action == "delete":
                found = documents.pop(doc_id, None) is not None
                items.append(
                    {
                        "delete": {
                            "_id": doc_id,
                            "result": "deleted" if found else "not_found",
                            "status": 200 if found else 404,
                        }
                    }
                )
                position += 1
            else:
                documents[doc_id] = lines[position + 1]
                items.append({"index": {"_id": doc_id, "result": "created", "status": 201}})
                position += 2
        return {"took": 1, "errors": False, "items": items}


@contextmanager
def opensearch_emulator() -> Iterator[str]:
    emulator = Emulator()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any = None) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_HEAD(self) -> None:
            self._answer(200 if self.path.strip("/").split("?")[0] in emulator.indexes else 404)

        def do_PUT(self) -> None:
            name = self.path.strip("/").split("?")[0]
            self._body()
            with emulator.lock:
                if name in emulator.indexes:
                    error = {"type": "resource_already_exists_exception", "reason": f"index [{name}] already exists"}
                    return self._answer(400, {"error": {"root_cause": [error], **error}, "status": 400})
                emulator.indexes[name] = {}
            self._answer(200, {"acknowledged": True, "shards_acknowledged": True, "index": name})

        def do_DELETE(self) -> None:
            with emulator.lock:
                emulator.indexes.pop(self.path.strip("/").split("?")[0], None)
            self._answer(200, {"acknowledged": True})

        def do_POST(self) -> None:
            parts = self.path.split("?")[0].strip("/").split("/")
            raw = self._body()
            with emulator.lock:
                if parts[-1] == "_bulk":
                    lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
                    return self._answer(200, emulator.bulk(parts[0], lines))
                if parts[-1] == "_search":
                    return self._answer(200, emulator.search(parts[0], json.loads(raw or b"{}")))
                if parts[-1] == "_msearch":
                    lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
                    responses = [
                        emulator.search(header.get("index", parts[0]), body)
                        for header, body in zip(lines[0::2], lines[1::2], strict=True)
                    ]
                    return self._answer(200, {"took": 1, "responses": responses})
                if parts[-1] == "_refresh":
                    return self._answer(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
            self._answer(400, {"error": {"type": "illegal_argument_exception", "reason": self.path}, "status": 400})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
