"""A loopback HTTP server that answers recorded responses in order and records every request (for adapter tests)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    status: int
    body: bytes | str | dict[str, Any] | list[Any] = b""
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def ndjson(self) -> list[Any]:
        return [json.loads(line) for line in self.body.decode().splitlines() if line.strip()]


@dataclass
class ReplayServer:
    """``answers[(METHOD, path prefix)]`` is a list of responses given in order (the last one repeats)."""

    answers: dict[tuple[str, str], list[Recorded]]
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, path: str) -> Recorded:
        matches = [key for key in self.answers if key[0] == method and path.startswith(key[1])]
        if not matches:
            return Recorded(599, {"error": f"no recorded answer for {method} {path}"})
        queue = self.answers[max(matches, key=lambda key: len(key[1]))]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@contextmanager
def replay_server(answers: dict[tuple[str, str], list[Recorded]]) -> Iterator[ReplayServer]:
    state = ReplayServer(answers=answers)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
            recorded = state.answer(self.command, self.path)
            payload = recorded.payload()
            self.send_response(recorded.status)
            self.send_header("Content-Type", recorded.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
