"""AWS Signature Version 4 in plain Python (hashlib/hmac): the signer the examples and tests use, and the verifier
the local server uses to give system integrations the same authentication as API Gateway's IAM authorizer.

Checked against AWS's published SigV4 test-suite vectors (tests/unit/test_api_sigv4.py) and against botocore.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/(?P<service>[^/\s,]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;._-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class SignedParts:
    canonical_request: str
    string_to_sign: str
    signature: str
    signed_headers: str
    authorization: str


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_uri(path: str) -> str:
    """The path as sent, URI-encoded once more (what AWS does for every service but S3)."""
    return quote(path or "/", safe="/-_.~")


def canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted((k, v) for k, v in pairs))


def _header_value(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip())


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret_access_key}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload_hash: str,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    amz_date: str,
    signed_header_names: tuple[str, ...] | None = None,
) -> SignedParts:
    """Sign one request. ``headers`` must include ``host`` and ``x-amz-date`` (= ``amz_date``, ``YYYYMMDDTHHMMSSZ``)."""
    lowered: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), []).append(_header_value(value))
    names = sorted(signed_header_names or lowered)
    missing = [n for n in names if n not in lowered]
    if missing:
        raise ValueError(f"signed headers missing from the request: {', '.join(missing)}")
    canonical_headers = "".join(f"{n}:{','.join(lowered[n])}\n" for n in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        [method.upper(), canonical_uri(path), canonical_query(query), canonical_headers, signed_headers, payload_hash]
    )
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = hmac.new(
        signing_key(secret_access_key, date, region, service), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
    return SignedParts(canonical_request, string_to_sign, signature, signed_headers, authorization)


def amz_date(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_amz_date(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def parse_authorization(value: str) -> ParsedAuthorization | None:
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        return None
    return ParsedAuthorization(
        access_key_id=match["key"],
        date=match["date"],
        region=match["region"],
        service=match["service"],
        signed_headers=tuple(match["signed"].split(";")),
        signature=match["signature"],
    )


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def signed_request_headers(
    method: str,
    url: str,
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str = "execute-api",
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    session_token: str | None = None,
) -> dict[str, str]:
    """Headers to send with a request to ``url``: the given ones plus host, x-amz-date, a random nonce (so two
    identical requests in one second are not taken for a replay) and Authorization."""
    import secrets
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    date = amz_date(now)
    out = {k.lower(): v for k, v in (headers or {}).items()}
    out.update({"host": parts.netloc, "x-amz-date": date, "x-slo-engine-nonce": secrets.token_hex(8)})
    if session_token:
        out["x-amz-security-token"] = session_token
    signed = sign(
        method=method,
        path=parts.path or "/",
        query=parts.query,
        headers=out,
        payload_hash=hashlib.sha256(body).hexdigest(),
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        region=region,
        service=service,
        amz_date=date,
    )
    out["authorization"] = signed.authorization
    return out
