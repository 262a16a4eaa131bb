"""Approve / reject links: the opaque approval id, an action, an expiry and an HMAC-SHA256 signature.

The signature covers ``approval_id|action|expires``; verification is constant-time, refuses a changed action
or id, and refuses an expired link. The raw task token never appears in a link.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

LINK_ACTIONS = ("approve", "reject", "review")


class LinkError(ValueError):
    """A link that cannot be honoured; ``reason`` is ``invalid`` or ``expired``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SignedLink:
    approval_id: str
    action: str
    expires: int
    signature: str

    def query(self) -> dict[str, str]:
        return {"action": self.action, "exp": str(self.expires), "sig": self.signature}

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/approvals/{self.approval_id}?{urlencode(self.query())}"


class LinkSigner:
    """Signs and verifies links with one secret key (from Secrets Manager in AWS, the environment locally)."""

    def __init__(self, key: bytes | str, clock: Callable[[], float] = time.time) -> None:
        raw = key.encode() if isinstance(key, str) else key
        if len(raw) < 16:
            raise ValueError("the link signing key must be at least 16 bytes")
        self._key = raw
        self._clock = clock

    def _mac(self, approval_id: str, action: str, expires: int) -> str:
        message = f"{approval_id}|{action}|{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, approval_id: str, action: str, expires: int) -> SignedLink:
        if action not in LINK_ACTIONS:
            raise ValueError(f"link action must be one of {', '.join(LINK_ACTIONS)}, not {action!r}")
        return SignedLink(approval_id, action, int(expires), self._mac(approval_id, action, int(expires)))

    def verify(self, approval_id: str, query: Mapping[str, str]) -> SignedLink:
        """The link's fields if its signature matches and it has not expired; ``LinkError`` otherwise."""
        action, exp, sig = query.get("action", ""), query.get("exp", ""), query.get("sig", "")
        if action not in LINK_ACTIONS or not exp.isdigit() or not sig:
            raise LinkError("invalid", "this approval link is incomplete or malformed")
        expires = int(exp)
        if not hmac.compare_digest(self._mac(approval_id, action, expires), sig):
            raise LinkError("invalid", "this approval link's signature does not match")
        if self._clock() >= expires:
            raise LinkError("expired", "this approval link has expired")
        return SignedLink(approval_id, action, expires, sig)
