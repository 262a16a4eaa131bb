"""``slo-engine serve``: a stdlib ThreadingHTTPServer on 127.0.0.1 that answers the API's routes through
``ApiService.dispatch`` (the same route logic as the Lambda), plus the sign-in and pending-recommendations pages.

Security model (docs/api.md): integrations sign with SigV4, people sign in to a session cookie with a CSRF token
for unsafe requests; every caller is throttled; bodies are size-limited; nothing changes before all checks pass.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, Field

from slo_engine.api.errors import ApiError, Forbidden, PayloadTooLarge, Throttled, Unauthenticated, error_response
from slo_engine.api.models import Caller
from slo_engine.api.openapi import ROUTES, render_openapi
from slo_engine.api.runs import LocalWorkflowRuns
from slo_engine.api.service import ApiService
from slo_engine.embedded.audit_log import SqliteAuditLog
from slo_engine.engine import Engine
from slo_engine.models import RecommendationStatus
from slo_engine.models.audit import AuditEvent
from slo_engine.server import pages
from slo_engine.server.security import (
    SESSION_COOKIE,
    RateLimiter,
    ServerCredentials,
    Session,
    SessionSigner,
    SigV4Verifier,
)

logger = logging.getLogger(__name__)
CREDENTIALS_FILE = "serve-credentials.json"
_HTML_SECURITY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
)


class ServeSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path(".slo-engine")
    rate_per_second: float = Field(default=50, gt=0, description="per caller, like the API stage throttle")
    burst: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_skew_seconds: int = Field(default=300, ge=1, description="SigV4 signatures older than this are expired")
    session_ttl_seconds: int = Field(default=8 * 3600, ge=60)


def _compile(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


_API = [(route.method, _compile(route.path), route.operation) for route in ROUTES]
_DECISION = _compile("/ui/recommendations/{id}/decision")
_APPROVAL = _compile("/approvals/{id}")
_WEBHOOK = re.compile(r"^/webhooks/(?P<provider>github|bitbucket)$")


@dataclass
class ApprovalLinkRequest:
    """What ``entrypoints.approval_callback.handle`` reads: the same fields the callback Lambda passes."""

    approval_id: str
    method: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    raw_body: str
    source_ip: str | None
    user_agent: str | None


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] | None = None


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(body, default=str).encode(), "application/json", headers)


def _html(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, text.encode(), "text/html; charset=utf-8", headers)


def _redirect(location: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(303, b"", "text/plain", {"Location": location, **(headers or {})})


class LocalApi:
    """Everything a request needs: the API service, the authenticators, the limiter and the optional mounts."""

    def __init__(self, settings: ServeSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        data_dir = settings.data_dir
        self.engine = engine or Engine.embedded(data_dir)
        self.runs = LocalWorkflowRuns(self.engine, data_dir / "runs.db")
        self.service = ApiService(self.engine, self.runs, SqliteAuditLog(data_dir / "audit.db"))
        self.credentials = ServerCredentials.load_or_create(data_dir / CREDENTIALS_FILE)
        self.sessions = SessionSigner(self.credentials.session_secret, settings.session_ttl_seconds)
        self.verifier = SigV4Verifier(self.credentials.integrations, max_skew_seconds=settings.max_skew_seconds)
        self.limiter = RateLimiter(settings.rate_per_second, settings.burst)
        self.openapi = render_openapi().encode()
        self.base_url = f"http://{settings.host}:{settings.port}"
        self._approvals: Any = None
        self._webhook_queue: Any = None
        self._delivery_log: Any = None

    def close(self) -> None:
        self.runs.close()

    def _indexing_queue(self) -> Any:
        """Webhook changes go into this server's data dir: its runbook index, documents and graph."""
        if self._webhook_queue is None:
            from slo_engine.entrypoints.runbook_indexer import local_indexing_queue

            self._webhook_queue = local_indexing_queue(self.engine, self.settings.data_dir)
        return self._webhook_queue

    def _deliveries(self) -> Any:
        if self._delivery_log is None:
            from slo_engine.knowledge.webhooks import SqliteDeliveryLog

            self._delivery_log = SqliteDeliveryLog(self.settings.data_dir / "webhook-deliveries.db")
        return self._delivery_log

    # -- entry -----------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, ip: str) -> Reply:
        split = urlsplit(target)
        path, query = split.path or "/", split.query
        try:
            for route_method, pattern, operation in _API:
                match = pattern.match(path)
                if match and route_method == method:
                    return self._api(operation, match.groupdict(), method, path, query, headers, body, ip)
            if any(p.match(path) for _, p, _ in _API):
                return _json(405, {"message": f"{method} is not allowed on {path}", "details": []})
            return self._page(method, path, query, headers, body, ip)
        except ApiError as error:
            status, payload = error_response(error)
            extra = {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, Throttled) else None
            if isinstance(error, Unauthenticated):
                extra = {"WWW-Authenticate": 'AWS4-HMAC-SHA256 realm="slo-engine", Cookie realm="slo-engine"'}
            return _json(status, payload, extra)

    # -- API -------------------------------------------------------------------------------------------------

    def _caller(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, ip: str) -> Caller:
        if "authorization" in headers:
            return self.verifier.verify(method, path, query, headers, body, ip)
        session = self._session(headers)
        if session is None:
            raise Unauthenticated("sign the request with AWS SigV4 or sign in: no credentials")
        if method not in ("GET", "HEAD") and headers.get("x-csrf-token") != session.csrf_token:
            raise Forbidden("a browser session must send its CSRF token (X-CSRF-Token) with unsafe requests")
        return Caller(kind="person", id=session.user, source_ip=ip)

    def _api(
        self,
        operation: str,
        params: dict[str, str],
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        ip: str,
    ) -> Reply:
        try:
            caller = self._caller(method, path, query, headers, body, ip)
        except ApiError:
            self.limiter.take(f"ip:{ip}")  # failed attempts are throttled too
            raise
        self.limiter.take(caller.id)
        parsed: Any = None
        if method == "POST":
            try:
                parsed = json.loads(body) if body.strip() else None
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                return _json(400, {"message": f"request body is not valid JSON: {error}", "details": []})
        decoded = {k: unquote(v) for k, v in params.items()}
        result = self.service.dispatch(operation, decoded, parsed, caller)
        return _json(result.status, result.body, result.headers)

    # -- pages -----------------------------------------------------------------------------------------------

    def _session(self, headers: dict[str, str]) -> Session | None:
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:
            return None
        morsel = cookie.get(SESSION_COOKIE)
        return self.sessions.read(morsel.value if morsel else None)

    def _page(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, ip: str) -> Reply:
        if path == "/openapi.json" and method == "GET":
            return Reply(200, self.openapi)
        if path == "/healthz" and method == "GET":
            return _json(200, {"status": "ok"})
        if path == "/" and method == "GET":
            return _redirect("/ui/pending")
        if path == "/login":
            return self._login(method, body, ip)
        approval = _APPROVAL.match(path)
        if approval and method in ("GET", "POST"):
            self.limiter.take(f"ip:{ip}")
            return self._approval_link(unquote(approval["id"]), method, query, headers, body, ip)
        webhook = _WEBHOOK.match(path)
        if webhook and method == "POST":
            self.limiter.take(f"ip:{ip}")
            from slo_engine.entrypoints.webhook import handle_webhook

            status, payload = handle_webhook(
                webhook["provider"], headers, body, queue=self._indexing_queue(), delivery_log=self._deliveries()
            )
            return _json(status, payload)
        session = self._session(headers)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) if method == "POST" else {}
        if path == "/logout" and method == "POST":
            cleared = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
            return _redirect("/login", {"Set-Cookie": cleared})
        if path == "/ui/pending" and method == "GET":
            if session is None:
                return _redirect("/login")
            self.limiter.take(session.user)
            return _html(200, self._pending(session, dict(parse_qsl(query))))
        match = _DECISION.match(path)
        if match and method == "POST":
            if session is None:
                return _html(401, pages.login_page("Sign in to decide."))
            if form.get("csrf") != session.csrf_token:
                return _html(403, pages.message_page("Not decided", "The form is stale (CSRF check failed)."))
            self.limiter.take(session.user)
            rec_id = unquote(match["id"])
            decision = form.get("decision")
            if decision not in ("approve", "reject"):
                return _html(400, pages.message_page("Not decided", "Choose approve or reject."))
            caller = Caller(kind="person", id=session.user, source_ip=ip)
            result = self.service.dispatch(
                "decide_recommendation",
                {"id": rec_id},
                {"approve": decision == "approve", "reason": form.get("reason", "")},
                caller,
            )
            if result.status != 200:
                title = "Already decided" if result.status == 409 else "Not decided"
                return _html(
                    result.status, pages.message_page(title, result.body["message"], session.user, session.csrf_token)
                )
            return _redirect(f"/ui/pending?decided={rec_id}")
        return _html(404, pages.message_page("Not found", f"Nothing at {path}."))

    def _approval_link(
        self, approval_id: str, method: str, query: str, headers: dict[str, str], body: bytes, ip: str
    ) -> Reply:
        """The signed approval links (issue 6's approval service): the HMAC link is the credential here."""
        from slo_engine.entrypoints.approval_callback import handle

        raw = body.decode("utf-8", "replace")
        is_form = headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded"
        request = ApprovalLinkRequest(
            approval_id=approval_id,
            method=method,
            query=dict(parse_qsl(query, keep_blank_values=True)),
            form=dict(parse_qsl(raw, keep_blank_values=True)) if is_form else {},
            headers=headers,
            raw_body=raw,
            source_ip=ip,
            user_agent=headers.get("user-agent"),
        )
        status, page, content_type = handle(request, None, self.approvals())
        if method == "POST" and status == 200 and request.form.get("action") in ("approve", "reject"):
            approval = self.approvals().store.get(approval_id)
            self.service.audit.append(
                AuditEvent(
                    actor=(request.form.get("by") or "unknown")[:400],
                    actor_kind="person",
                    action=f"approval.{request.form['action']}",
                    service=",".join(approval.services)[:200] if approval else "*",
                    target_id=approval_id,
                    detail={"reason": request.form.get("reason", "")[:500], "via": "signed link"},
                    source_ip=ip,
                )
            )
        return Reply(status, page.encode(), content_type)

    def approvals(self) -> Any:
        """The approval service over this server's stores, its links pointing at this server (built once)."""
        if self._approvals is None:
            from slo_engine.entrypoints.wiring import approval_service_from_env

            service = approval_service_from_env(self.engine, self.settings.data_dir)
            service.base_url = self.base_url
            self._approvals = service
        return self._approvals

    def _login(self, method: str, body: bytes, ip: str) -> Reply:
        if method == "GET":
            return _html(200, pages.login_page())
        if method != "POST":
            return _html(405, pages.message_page("Not allowed", "Use the sign-in form."))
        self.limiter.take(f"ip:{ip}")
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        import hmac

        if not hmac.compare_digest(form.get("token", "").encode(), self.credentials.login_token.encode()):
            return _html(401, pages.login_page("That access token is not right."))
        try:
            cookie = self.sessions.issue(form.get("name", "").strip())
        except ValueError as error:
            return _html(400, pages.login_page(str(error)))
        max_age = self.settings.session_ttl_seconds
        next_path = form.get("next", "/ui/pending")
        if not next_path.startswith("/ui/"):
            next_path = "/ui/pending"
        return _redirect(
            next_path,
            {"Set-Cookie": f"{SESSION_COOKIE}={cookie}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"},
        )

    def _pending(self, session: Session, query: dict[str, str]) -> str:
        cards = []
        for rec in self.service.pending():
            points = self.service.attainment_history(rec, days=max(rec.window_days, 28) * 2)
            cards.append(pages.recommendation_card(rec, points, self.service.findings_for(rec), session.csrf_token))
        decided = [r for r in self.engine.state.list_recommendations() if r.status is not RecommendationStatus.PENDING]
        decided.sort(key=lambda r: r.created_at, reverse=True)
        flash = None
        if query.get("decided"):
            just_decided = self.engine.state.get_recommendation(query["decided"])
            if just_decided is not None and just_decided.status is not RecommendationStatus.PENDING:
                d = just_decided
                flash = f"{d.service} {d.sli.value} at {d.target:.4%}: {d.status.value} by {d.decided_by} - finalized."
        return pages.pending_page(session.user, session.csrf_token, cards, decided[:20], flash)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    server_version = "slo-engine"
    sys_version = ""
    api: LocalApi

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.client_address[0], format % args)

    def _serve(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            length = int(headers.get("content-length", "0") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send(_json(400, {"message": "Content-Length must be a number", "details": []}))
            return
        if length > self.api.settings.max_body_bytes:
            self.close_connection = True
            status, payload = error_response(
                PayloadTooLarge(f"the body is {length} bytes; the limit is {self.api.settings.max_body_bytes}")
            )
            self._send(_json(status, payload))
            return
        body = self.rfile.read(length) if length else b""
        try:
            reply = self.api.handle(self.command, self.path, headers, body, self.client_address[0])
        except Exception:
            logger.exception("unhandled error on %s %s", self.command, self.path)
            reply = _json(500, {"message": "internal error", "details": []})
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if reply.content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", _HTML_SECURITY)
        for name, value in (reply.headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def __getattr__(self, name: str) -> Any:
        """Every method (TRACE, PROPFIND ...) goes through ``_serve``, which answers 405/404 as JSON."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


class LocalApiServer:
    """The HTTP server around a ``LocalApi``; ``start()`` serves in a thread (tests), ``serve_forever()`` blocks."""

    def __init__(self, settings: ServeSettings, engine: Engine | None = None) -> None:
        self.api = LocalApi(settings, engine)
        handler = type("Handler", (_Handler,), {"api": self.api})
        self.httpd = ThreadingHTTPServer((settings.host, settings.port), handler)
        self.httpd.daemon_threads = True
        self.api.base_url = self.url
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalApiServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="slo-engine-serve", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.api.close()
