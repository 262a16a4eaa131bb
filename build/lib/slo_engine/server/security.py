"""Authentication, authorization and throttling of the local server, the same model as the deployed API:
integrations sign with AWS SigV4 (an access key per team, like the IAM authorizer with a role per integration);
people sign in to a browser session (like Cognito), whose unsafe requests carry a CSRF token; every caller
is rate limited (token bucket, like the stage and usage-plan throttles). Replayed signatures are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from slo_engine.api import sigv4
from slo_engine.api.errors import Forbidden, Throttled, Unauthenticated
from slo_engine.api.models import Caller

SESSION_COOKIE = "slo_session"
SIGNING_REGION = "local"
SIGNING_SERVICE = "execute-api"
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}$")


class IntegrationKey(BaseModel):
    team: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    access_key_id: str = Field(pattern=r"^[A-Z0-9]{16,128}$")
    secret_access_key: str = Field(min_length=20)


class ServerCredentials(BaseModel):
    """Secrets of one local server, kept in ``<data dir>/serve-credentials.json`` (mode 600), made on first start."""

    login_token: str = Field(min_length=16, description="what a person types to sign in (printed by serve)")
    session_secret: str = Field(min_length=32)
    integrations: list[IntegrationKey]

    @classmethod
    def generate(cls, teams: tuple[str, ...] = ("backstage",)) -> ServerCredentials:
        return cls(
            login_token=secrets.token_urlsafe(18),
            session_secret=secrets.token_hex(32),
            integrations=[
                IntegrationKey(
                    team=team,
                    access_key_id="SLOLOCAL" + secrets.token_hex(6).upper(),
                    secret_access_key=secrets.token_urlsafe(30),
                )
                for team in teams
            ],
        )

    @classmethod
    def load_or_create(cls, path: Path) -> ServerCredentials:
        if path.exists():
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        created = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(created.model_dump_json(indent=2))
        return created


@dataclass(frozen=True)
class Session:
    user: str
    expires: int
    csrf_token: str


class SessionSigner:
    """Stateless session cookies: ``base64(json).hmac``; the CSRF token is derived from the session itself."""

    def __init__(self, secret: str, ttl_seconds: int = 8 * 3600) -> None:
        self._key = secret.encode()
        self.ttl_seconds = ttl_seconds

    def _mac(self, payload: bytes, purpose: str) -> str:
        return hmac.new(self._key, purpose.encode() + b"|" + payload, hashlib.sha256).hexdigest()

    def issue(self, user: str, now: float | None = None) -> str:
        if not _USER_NAME.match(user):
            raise ValueError("a name is 1-100 letters, digits, spaces or . _ @ -")
        body = json.dumps(
            {"u": user, "e": int((now or time.time()) + self.ttl_seconds), "n": secrets.token_hex(8)},
            separators=(",", ":"),
        ).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{payload}.{self._mac(payload.encode(), 'session')}"

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload.encode(), "session")):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            user, expires = str(data["u"]), int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < (now or time.time()):
            return None
        return Session(user=user, expires=expires, csrf_token=self._mac(payload.encode(), "csrf")[:32])


class ReplayGuard:
    """Remembers every accepted signature until its request could no longer pass the clock-skew check."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, signature: str, keep_until: float) -> bool:
        now = time.time()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {s: t for s, t in self._seen.items() if t > now}
            if signature in self._seen and self._seen[signature] > now:
                return False
            self._seen[signature] = keep_until
            return True


class RateLimiter:
    """A token bucket per caller: ``rate_per_second`` steady, ``burst`` at once (429 with Retry-After beyond)."""

    def __init__(self, rate_per_second: float, burst: int) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                raise Throttled(f"too many requests from {key}; slow down", max(1, int((1 - tokens) / self.rate) + 1))
            self._buckets[key] = (tokens - 1, now)


class SigV4Verifier:
    """Verifies SigV4 requests the way API Gateway's IAM authorizer does, plus single use of each signature."""

    def __init__(
        self,
        keys: list[IntegrationKey],
        *,
        region: str = SIGNING_REGION,
        service: str = SIGNING_SERVICE,
        max_skew_seconds: int = 300,
    ) -> None:
        self._keys = {k.access_key_id: k for k in keys}
        self.region = region
        self.service = service
        self.max_skew_seconds = max_skew_seconds
        self._replays = ReplayGuard()

    def verify(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, source_ip: str | None
    ) -> Caller:
        """``headers`` lower-cased. Raises Unauthenticated (no signature) or Forbidden (a bad one)."""
        header = headers.get("authorization")
        if not header:
            raise Unauthenticated("sign the request with AWS SigV4 or sign in: no Authorization header")
        parsed = sigv4.parse_authorization(header)
        if parsed is None:
            raise Forbidden("malformed Authorization header: expected AWS4-HMAC-SHA256 Credential=..., ...")
        key = self._keys.get(parsed.access_key_id)
        if key is None:
            raise Forbidden("the access key id is not known to this server")
        if (parsed.region, parsed.service) != (self.region, self.service):
            raise Forbidden(f"credential scope must be region {self.region!r} and service {self.service!r}")
        for required in ("host", "x-amz-date"):
            if required not in parsed.signed_headers:
                raise Forbidden(f"the {required} header must be signed")
        try:
            signed_at = sigv4.parse_amz_date(headers.get("x-amz-date", ""))
        except ValueError:
            raise Forbidden("x-amz-date must be YYYYMMDDTHHMMSSZ") from None
        if parsed.date != headers["x-amz-date"][:8]:
            raise Forbidden("the credential date does not match x-amz-date")
        skew = abs((datetime.now(UTC) - signed_at).total_seconds())
        if skew > self.max_skew_seconds:
            raise Forbidden(f"signature expired: signed {skew:.0f}s away from now (limit {self.max_skew_seconds}s)")
        try:
            expected = sigv4.sign(
                method=method,
                path=path,
                query=query,
                headers={n: headers[n] for n in parsed.signed_headers if n in headers},
                payload_hash=hashlib.sha256(body).hexdigest(),
                access_key_id=key.access_key_id,
                secret_access_key=key.secret_access_key,
                region=parsed.region,
                service=parsed.service,
                amz_date=headers["x-amz-date"],
                signed_header_names=parsed.signed_headers,
            )
        except ValueError as error:
            raise Forbidden(str(error)) from None
        if not sigv4.signatures_match(expected.signature, parsed.signature):
            raise Forbidden("the request signature does not match (check the secret, the body and the signed headers)")
        if not self._replays.first_use(parsed.signature, signed_at.timestamp() + self.max_skew_seconds + 1):
            raise Forbidden("replayed request: this signature was already used")
        return Caller(kind="integration", id=f"{key.team}:{key.access_key_id}", source_ip=source_ip)
