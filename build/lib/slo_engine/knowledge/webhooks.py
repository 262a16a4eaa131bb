"""Runbook webhooks from GitHub and Bitbucket: HMAC signature checks, push payloads to one change per runbook file.

Pure Python: the changed paths of a Bitbucket push (its payload has no file lists) come through the
``ChangedFilesSource`` port; redeliveries are recognised through the ``DeliveryLog`` port (SQLite default here).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from slo_engine.knowledge.indexing import MARKDOWN_SUFFIXES

DEFAULT_RUNBOOK_GLOBS: tuple[str, ...] = ("runbooks/**", "docs/runbooks/**")
DEFAULT_MAX_BODY_BYTES = 1_048_576
ZERO_COMMIT = "0" * 40
DEFAULT_BITBUCKET_BRANCHES: tuple[str, ...] = ("main", "master")
ALL_BRANCHES = "*"
SIGNATURE_PREFIX = "sha256="
GITHUB_MAX_PUSH_COMMITS = 2048


class Provider(StrEnum):
    """Where a change came from; it also says which REST API fetches the file."""

    github = "github"
    bitbucket_cloud = "bitbucket-cloud"
    bitbucket_server = "bitbucket-server"


class ChangeType(StrEnum):
    added = "added"
    modified = "modified"
    removed = "removed"


class RunbookChangeMessage(BaseModel):
    """One queued change of one runbook file (the body of one SQS message)."""

    provider: Provider
    repository: str = Field(min_length=1, description="owner/name (GitHub), workspace/slug or PROJECT/slug")
    path: str = Field(min_length=1)
    commit: str = Field(min_length=1, description="the commit whose version of the file is indexed (or removed)")
    change_type: ChangeType
    ref: str | None = None
    delivery_id: str | None = None
    server_url: str | None = Field(default=None, description="Bitbucket Data Center base URL")


class FileChange(BaseModel):
    """A path changed between two commits, as a provider's diff API reports it."""

    path: str
    change_type: ChangeType


class WebhookError(Exception):
    """A delivery refused with an HTTP status; nothing of it was queued."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureRejected(WebhookError):
    status = 401


class PayloadTooLarge(WebhookError):
    status = 413


class MalformedPayload(WebhookError):
    status = 400


@runtime_checkable
class ChangedFilesSource(Protocol):
    """The files changed in a pushed range (Bitbucket diffstat / changes REST APIs).

    ``since`` None means "the changes of ``until`` against its first parent" (a new branch).
    """

    def changed_files(
        self, provider: Provider, repository: str, since: str | None, until: str, server_url: str | None = None
    ) -> list[FileChange]: ...


@runtime_checkable
class DeliveryLog(Protocol):
    """Delivery ids already accepted, so that a redelivery is queued once."""

    def claim(self, delivery_id: str) -> bool:
        """True the first time ``delivery_id`` is seen (it is then recorded), False afterwards."""
        ...

    def release(self, delivery_id: str) -> None:
        """Forget a claim whose changes could not be queued, so that the provider's retry gets through."""
        ...


class SqliteDeliveryLog:
    """``DeliveryLog`` in one SQLite file (or memory); entries older than ``ttl_seconds`` are forgotten."""

    def __init__(self, path: str | Path | None = None, ttl_seconds: int = 7 * 24 * 3600) -> None:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, received REAL NOT NULL)")

    def claim(self, delivery_id: str) -> bool:
        now = time.time()
        with self._lock, self._db:
            self._db.execute("DELETE FROM deliveries WHERE received < ?", (now - self.ttl_seconds,))
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO deliveries (id, received) VALUES (?, ?)", (delivery_id, now)
            ).rowcount
        return inserted == 1

    def release(self, delivery_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))


# --- signatures ---------------------------------------------------------------------------------------------------


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign_body(secret: str | bytes, raw_body: bytes) -> str:
    """The ``sha256=<hex>`` signature GitHub (X-Hub-Signature-256) and Bitbucket (X-Hub-Signature) send."""
    return SIGNATURE_PREFIX + hmac.new(_secret_bytes(secret), raw_body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, raw_body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is the HMAC-SHA256 of the raw body under ``secret``; compared in constant time."""
    if not secret or not signature or not signature.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign_body(secret, raw_body).encode("ascii"), signature.strip().encode("ascii", "ignore"))


# --- runbook globs ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def glob_pattern(glob: str) -> re.Pattern[str]:
    """A repository-root glob as a regex: ``**`` spans folders, ``*`` and ``?`` stay within one."""
    parts: list[str] = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            parts.append(".*")
            index += 2
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(parts) + r"\Z")


def is_runbook_path(path: str, globs: Sequence[str] = DEFAULT_RUNBOOK_GLOBS) -> bool:
    """A markdown file (``.md``/``.markdown``) matching one of the globs, relative to the repository root."""
    normalised = path.lstrip("/")
    if not any(normalised.lower().endswith(suffix) for suffix in MARKDOWN_SUFFIXES):
        return False
    return any(glob_pattern(glob).match(normalised) for glob in globs)


def branch_is_indexed(branch: str, branches: Sequence[str]) -> bool:
    """Only pushes to the indexed branches change the index (a feature branch must not overwrite main's runbook)."""
    return ALL_BRANCHES in branches or branch in branches


# --- payloads -----------------------------------------------------------------------------------------------------


class ParsedDelivery(BaseModel):
    """What one delivery asks for: an answer only (ping, ignored event) or changes to queue."""

    status: int = 202
    event: str
    changes: list[RunbookChangeMessage] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list, description="why parts of the delivery queue nothing")
    message: str = ""


def parse_json(raw_body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedPayload(f"body is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise MalformedPayload("body is not a JSON object")
    return payload


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{what} is missing or not a string")
    return value


def github_push_changes(payload: Mapping[str, Any]) -> tuple[list[tuple[str, ChangeType, str]], list[str]]:
    """(path, change type, commit) for every file the push touched, the last state of each path winning."""
    ignored: list[str] = []
    if payload.get("deleted") and not payload.get("commits"):
        return [], [f"{payload.get('ref', 'ref')} deleted: no files changed"]
    commits = payload.get("commits")
    if not isinstance(commits, list):
        raise MalformedPayload("push payload has no commits list")
    if len(commits) >= GITHUB_MAX_PUSH_COMMITS:
        ignored.append(f"push lists {len(commits)} commits, GitHub's maximum: files of older commits may be missing")
    latest: dict[str, tuple[ChangeType, str]] = {}
    for position, commit in enumerate(commits):
        if not isinstance(commit, dict):
            raise MalformedPayload(f"commits[{position}] is not an object")
        commit_id = _text(commit.get("id"), f"commits[{position}].id")
        for kind in (ChangeType.added, ChangeType.modified, ChangeType.removed):
            paths = commit.get(kind.value) or []
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                raise MalformedPayload(f"commits[{position}].{kind.value} is not a list of paths")
            for path in paths:
                latest.pop(path, None)  # re-inserted so that dict order follows the last change
                latest[path] = (kind, commit_id)
    return [(path, kind, commit) for path, (kind, commit) in latest.items()], ignored


def parse_github(
    event: str,
    payload: Mapping[str, Any],
    globs: Sequence[str],
    delivery_id: str | None,
    branches: Sequence[str] | None = None,
) -> ParsedDelivery:
    """``push``: files per commit, last state wins; only the indexed branches (default: the repository's default
    branch as the payload names it) and never tags."""
    if event == "ping":
        return ParsedDelivery(status=200, event=event, message=str(payload.get("zen", "pong")))
    if event != "push":
        return ParsedDelivery(status=202, event=event or "unknown", message=f"event {event!r} ignored")
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        raise MalformedPayload("push payload has no repository object")
    full_name = _text(repository.get("full_name"), "repository.full_name")
    ref = payload.get("ref") if isinstance(payload.get("ref"), str) else None
    default_branch = repository.get("default_branch") or repository.get("master_branch")
    wanted = branches if branches is not None else ((default_branch,) if default_branch else (ALL_BRANCHES,))
    if ref is None or not ref.startswith("refs/heads/"):
        return ParsedDelivery(event=event, ignored=[f"{ref}: not a branch, no runbook indexed"])
    if not branch_is_indexed(ref.removeprefix("refs/heads/"), wanted):
        return ParsedDelivery(event=event, ignored=[f"{ref}: branch not indexed (indexed: {', '.join(wanted)})"])
    touched, ignored = github_push_changes(payload)
    changes: list[RunbookChangeMessage] = []
    for path, kind, commit in touched:
        if not is_runbook_path(path, globs):
            ignored.append(f"{path}: not a runbook path")
            continue
        changes.append(
            RunbookChangeMessage(
                provider=Provider.github,
                repository=full_name,
                path=path,
                commit=commit,
                change_type=kind,
                ref=ref,
                delivery_id=delivery_id,
            )
        )
    return ParsedDelivery(event=event, changes=changes, ignored=ignored)


def _changes_in_range(
    source: ChangedFilesSource | None,
    provider: Provider,
    repository: str,
    since: str | None,
    until: str,
    server_url: str | None,
) -> list[FileChange]:
    if source is None:
        raise RuntimeError("no ChangedFilesSource configured: Bitbucket pushes need the diff REST API")
    return source.changed_files(provider, repository, since, until, server_url)


def _runbook_messages(
    files: Iterable[FileChange],
    *,
    provider: Provider,
    repository: str,
    commit: str,
    ref: str | None,
    globs: Sequence[str],
    delivery_id: str | None,
    server_url: str | None,
    ignored: list[str],
) -> list[RunbookChangeMessage]:
    messages: list[RunbookChangeMessage] = []
    for change in files:
        if not is_runbook_path(change.path, globs):
            ignored.append(f"{change.path}: not a runbook path")
            continue
        messages.append(
            RunbookChangeMessage(
                provider=provider,
                repository=repository,
                path=change.path,
                commit=commit,
                change_type=change.change_type,
                ref=ref,
                delivery_id=delivery_id,
                server_url=server_url,
            )
        )
    return messages


def parse_bitbucket_cloud(
    payload: Mapping[str, Any],
    globs: Sequence[str],
    delivery_id: str | None,
    source: ChangedFilesSource | None,
    branches: Sequence[str] = DEFAULT_BITBUCKET_BRANCHES,
) -> ParsedDelivery:
    """``repo:push``: each branch update's range goes to the diffstat API; deleted refs and tags change no files."""
    repository = payload.get("repository")
    push = payload.get("push")
    if not isinstance(repository, dict) or not isinstance(push, dict) or not isinstance(push.get("changes"), list):
        raise MalformedPayload("repo:push payload needs repository and push.changes")
    full_name = _text(repository.get("full_name"), "repository.full_name")
    ignored: list[str] = []
    latest: dict[str, RunbookChangeMessage] = {}
    for position, change in enumerate(push["changes"]):
        if not isinstance(change, dict):
            raise MalformedPayload(f"push.changes[{position}] is not an object")
        new, old = change.get("new"), change.get("old")
        if not isinstance(new, dict):
            ignored.append(f"push.changes[{position}]: ref deleted, no files changed")
            continue
        if new.get("type") not in ("branch", "named_branch"):
            ignored.append(f"push.changes[{position}]: {new.get('type')} {new.get('name')} ignored")
            continue
        if not branch_is_indexed(str(new.get("name")), branches):
            ignored.append(f"{new.get('name')}: branch not indexed (indexed: {', '.join(branches)})")
            continue
        until = _text((new.get("target") or {}).get("hash"), f"push.changes[{position}].new.target.hash")
        since = (old.get("target") or {}).get("hash") if isinstance(old, dict) else None
        files = _changes_in_range(source, Provider.bitbucket_cloud, full_name, since, until, None)
        for message in _runbook_messages(
            files,
            provider=Provider.bitbucket_cloud,
            repository=full_name,
            commit=until,
            ref=str(new.get("name")),
            globs=globs,
            delivery_id=delivery_id,
            server_url=None,
            ignored=ignored,
        ):
            latest[f"{message.ref}:{message.path}"] = message
    return ParsedDelivery(event="repo:push", changes=list(latest.values()), ignored=ignored)


def bitbucket_server_base_url(repository: Mapping[str, Any]) -> str | None:
    """The Data Center base URL from the repository's self link (``https://host[/context]/projects|users/...``)."""
    for link in (repository.get("links") or {}).get("self") or []:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str):
            match = re.match(r"^(https?://.+?)/(?:projects|users)/", href)
            if match:
                return match.group(1)
    return None


def parse_bitbucket_server(
    payload: Mapping[str, Any],
    globs: Sequence[str],
    delivery_id: str | None,
    source: ChangedFilesSource | None,
    server_url: str | None = None,
    branches: Sequence[str] = DEFAULT_BITBUCKET_BRANCHES,
) -> ParsedDelivery:
    """``repo:refs_changed``: ADD/UPDATE of a branch goes to the changes API for fromHash..toHash; DELETE is ignored."""
    repository = payload.get("repository")
    if not isinstance(repository, dict) or not isinstance(payload.get("changes"), list):
        raise MalformedPayload("repo:refs_changed payload needs repository and changes")
    project: dict[str, Any] = repository["project"] if isinstance(repository.get("project"), dict) else {}
    full_name = f"{_text(project.get('key'), 'repository.project.key')}/{_text(repository.get('slug'), 'slug')}"
    base_url = server_url or bitbucket_server_base_url(repository)
    ignored: list[str] = []
    latest: dict[str, RunbookChangeMessage] = {}
    for position, change in enumerate(payload["changes"]):
        if not isinstance(change, dict):
            raise MalformedPayload(f"changes[{position}] is not an object")
        ref: dict[str, Any] = change["ref"] if isinstance(change.get("ref"), dict) else {}
        ref_id = str(change.get("refId") or ref.get("id") or "")
        if change.get("type") == "DELETE" or change.get("toHash") == ZERO_COMMIT:
            ignored.append(f"{ref_id}: ref deleted, no files changed")
            continue
        if ref.get("type", "BRANCH") != "BRANCH":
            ignored.append(f"{ref_id}: {ref.get('type')} ignored")
            continue
        if not branch_is_indexed(str(ref.get("displayId") or ref_id.removeprefix("refs/heads/")), branches):
            ignored.append(f"{ref_id}: branch not indexed (indexed: {', '.join(branches)})")
            continue
        until = _text(change.get("toHash"), f"changes[{position}].toHash")
        since = change.get("fromHash") if change.get("fromHash") not in (None, "", ZERO_COMMIT) else None
        files = _changes_in_range(source, Provider.bitbucket_server, full_name, since, until, base_url)
        for message in _runbook_messages(
            files,
            provider=Provider.bitbucket_server,
            repository=full_name,
            commit=until,
            ref=ref_id,
            globs=globs,
            delivery_id=delivery_id,
            server_url=base_url,
            ignored=ignored,
        ):
            latest[f"{message.ref}:{message.path}"] = message
    return ParsedDelivery(event="repo:refs_changed", changes=list(latest.values()), ignored=ignored)


# --- one delivery, end to end -------------------------------------------------------------------------------------


@runtime_checkable
class ChangeQueue(Protocol):
    """Where accepted runbook changes go (AWS: the SQS queue with its DLQ). Raises if any message was not sent."""

    def send(self, messages: Sequence[RunbookChangeMessage]) -> None: ...


class ListChangeQueue:
    """``ChangeQueue`` kept in memory (tests, and a local server that indexes right after answering)."""

    def __init__(self) -> None:
        self.messages: list[RunbookChangeMessage] = []

    def send(self, messages: Sequence[RunbookChangeMessage]) -> None:
        self.messages.extend(messages)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def delivery_id_of(provider: str, headers: Mapping[str, str], raw_body: bytes) -> str:
    """The provider's delivery id (GitHub X-GitHub-Delivery, Bitbucket X-Request-UUID / X-Request-Id), else the
    SHA-256 of the body, so that a resent identical body is still recognised."""
    for name in ("x-github-delivery", "x-request-uuid", "x-request-id"):
        value = header(headers, name)
        if value:
            return f"{provider}:{value}"
    return f"{provider}:sha256:{hashlib.sha256(raw_body).hexdigest()}"


SIGNATURE_HEADERS = {"github": "x-hub-signature-256", "bitbucket": "x-hub-signature"}


def receive_webhook(
    provider: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    secret: str | bytes | None,
    queue: ChangeQueue,
    delivery_log: DeliveryLog | None = None,
    changed_files: ChangedFilesSource | None = None,
    globs: Sequence[str] = DEFAULT_RUNBOOK_GLOBS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    bitbucket_server_url: str | None = None,
    branches: Sequence[str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Verify, parse and queue one delivery; return ``(HTTP status, JSON body)``.

    401 bad or missing signature (checked on the raw bytes before anything is parsed), 413 body over
    ``max_body_bytes``, 400 malformed JSON or payload, 404 unknown provider, 200 ping, 202 accepted (with how many
    changes were queued, or why none), 503 when the changes could not be queued (the provider retries). Nothing is
    queued unless the whole delivery is valid; a redelivered delivery id is queued once. ``branches`` are the
    indexed branches (``*`` for all); by default GitHub's default branch and Bitbucket's main or master.
    """
    if provider not in SIGNATURE_HEADERS:
        return 404, {"message": f"unknown webhook provider {provider!r}: use github or bitbucket"}
    if len(raw_body) > max_body_bytes:
        return 413, {"message": f"body of {len(raw_body)} bytes is over the {max_body_bytes}-byte limit"}
    if not secret:
        return 401, {"message": f"no {provider} webhook secret is configured: every delivery is refused"}
    if not verify_signature(secret, raw_body, header(headers, SIGNATURE_HEADERS[provider])):
        return 401, {"message": f"missing or invalid {SIGNATURE_HEADERS[provider]} signature"}
    delivery_id = delivery_id_of(provider, headers, raw_body)
    try:
        payload = parse_json(raw_body)
        if provider == "github":
            parsed = parse_github(header(headers, "x-github-event") or "", payload, globs, delivery_id, branches)
        else:
            event = header(headers, "x-event-key") or str(payload.get("eventKey") or "")
            if event == "repo:push":
                parsed = parse_bitbucket_cloud(
                    payload, globs, delivery_id, changed_files, branches or DEFAULT_BITBUCKET_BRANCHES
                )
            elif event == "repo:refs_changed":
                parsed = parse_bitbucket_server(
                    payload,
                    globs,
                    delivery_id,
                    changed_files,
                    bitbucket_server_url,
                    branches or DEFAULT_BITBUCKET_BRANCHES,
                )
            elif event == "diagnostics:ping":
                parsed = ParsedDelivery(status=200, event=event, message="pong")
            else:
                parsed = ParsedDelivery(status=202, event=event or "unknown", message=f"event {event!r} ignored")
    except WebhookError as error:
        return error.status, {"message": error.message}
    except Exception as error:  # the diff API failed: nothing queued, the provider retries the delivery
        return 503, {"message": f"changed files could not be listed: {error}"}
    body: dict[str, Any] = {"event": parsed.event, "delivery": delivery_id, "queued": 0}
    if parsed.message:
        body["message"] = parsed.message
    if parsed.ignored:
        body["ignored"] = parsed.ignored[:50]
    if not parsed.changes:
        return parsed.status, body
    if delivery_log is not None and not delivery_log.claim(delivery_id):
        body["duplicate"] = True
        return 202, body
    try:
        queue.send(parsed.changes)
    except Exception as error:
        if delivery_log is not None:
            delivery_log.release(delivery_id)
        return 503, {"message": f"changes could not be queued: {error}", "delivery": delivery_id}
    body["queued"] = len(parsed.changes)
    body["changes"] = [f"{c.change_type.value} {c.repository}:{c.path}@{c.commit[:12]}" for c in parsed.changes]
    return 202, body
