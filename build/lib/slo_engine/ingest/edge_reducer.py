"""The edge reducer: the OpenTelemetry sidecar's rules (otel/collector.yaml) in Python, for the local pipeline.

Logs: each line's level is recognised in common formats (JSON, logfmt, Apache error logs, Hadoop/HDFS/Spark log4j,
OpenStack, Python logging, glog, syslog words in any case) and normalised to TRACE/DEBUG/INFO/WARN/ERROR/FATAL
(Apache ``notice`` is INFO); TRACE/DEBUG/INFO are dropped, WARN and above kept, a line without a level is kept and
counted as unparsed. Spans: server and client spans become RawEvent records (the stream's contract); anything
else is counted with its reason, never silently dropped.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from slo_engine.models.snapshot import RawEvent

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
KEPT_LEVELS = frozenset({"WARN", "ERROR", "FATAL"})

_ALIASES = {
    "trace": "TRACE", "trc": "TRACE", "finest": "TRACE", "finer": "TRACE",
    "debug": "DEBUG", "dbg": "DEBUG", "fine": "DEBUG", "verbose": "DEBUG",
    "info": "INFO", "information": "INFO", "informational": "INFO", "inf": "INFO", "notice": "INFO",
    "config": "INFO",
    "warn": "WARN", "warning": "WARN", "wrn": "WARN",
    "error": "ERROR", "err": "ERROR", "severe": "ERROR", "eror": "ERROR",
    "fatal": "FATAL", "critical": "FATAL", "crit": "FATAL", "alert": "FATAL", "emerg": "FATAL",
    "emergency": "FATAL", "panic": "FATAL",
}  # fmt: skip
_WORD = "|".join(sorted(_ALIASES, key=len, reverse=True))
_JSON_LEVEL_KEYS = ("level", "severity", "lvl", "log.level", "levelname", "loglevel", "severity_text", "SeverityText")
# [notice] / [core:error] / <warn> / level=warn / "WARN:" -- a delimited level word near the start of the line.
_BRACKETED = re.compile(rf"[\[<(](?:[\w.-]+:)?({_WORD})[\]>)]", re.IGNORECASE)
_LOGFMT = re.compile(rf"\b(?:level|lvl|severity)\s*[=:]\s*\"?({_WORD})\b", re.IGNORECASE)
_BARE = re.compile(rf"(?:^|[\s|,;])({_WORD})(?=[\s:|,;\]-]|$)", re.IGNORECASE)
_GLOG = re.compile(r"^([IWEF])\d{4} \d{2}:\d{2}:\d{2}")
_GLOG_LEVELS = {"I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}
_BARE_SCAN_CHARS = 120
"""A bare level word counts only in the line's head (timestamp, pid, level), not in the message."""


def classify_line(line: str) -> str | None:
    """The normalised level of one log line, or None when no level can be recognised."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for key in _JSON_LEVEL_KEYS:
                value = document.get(key)
                if isinstance(value, str) and value.strip().lower() in _ALIASES:
                    return _ALIASES[value.strip().lower()]
            return None
    glog = _GLOG.match(text)
    if glog:
        return _GLOG_LEVELS[glog.group(1)]
    head = text[:_BARE_SCAN_CHARS]
    for pattern in (_LOGFMT, _BRACKETED):
        found = pattern.search(head)
        if found:
            return _ALIASES[found.group(1).lower()]
    for found in _BARE.finditer(head):
        word = found.group(1)
        # A word in another case ("error" in a sentence) counts only after header tokens (stamps, pids).
        if word.isupper() or all(_header_token(token) for token in head[: found.start(1)].split()):
            return _ALIASES[word.lower()]
    return None


def _header_token(token: str) -> bool:
    return any(ch.isdigit() for ch in token) or not any(ch.isalpha() for ch in token)


@dataclass
class LogReduction:
    """The ``slo-engine edge-reduce`` answer: ``lines`` = ``kept`` + ``dropped``; ``unparsed`` lines are kept."""

    lines: int = 0
    kept: int = 0
    dropped: int = 0
    by_level: Counter[str] = field(default_factory=Counter)
    unparsed: int = 0

    def add(self, level: str | None) -> bool:
        self.lines += 1
        if level is None:
            self.unparsed += 1
            self.kept += 1
            return True
        self.by_level[level] += 1
        keep = level in KEPT_LEVELS
        if keep:
            self.kept += 1
        else:
            self.dropped += 1
        return keep

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "kept": self.kept,
            "dropped": self.dropped,
            "by_level": {level: self.by_level[level] for level in LEVELS if self.by_level[level]},
            "unparsed": self.unparsed,
        }


def reduce_log_lines(lines: Iterable[str]) -> tuple[LogReduction, list[str]]:
    """Classify every non-blank line; returns the counts and the kept lines."""
    report = LogReduction()
    kept: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if report.add(classify_line(line)):
            kept.append(line.rstrip("\n"))
    return report, kept


def reduce_log_file(path: str | Path) -> LogReduction:
    """Counts only (streams the file; undecodable bytes are replaced, never fatal)."""
    report = LogReduction()
    with Path(path).open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                report.add(classify_line(line))
    return report


# ---- spans ------------------------------------------------------------------------------------------------------

_SERVER_KINDS = frozenset({"server", "span_kind_server", "2", "consumer", "span_kind_consumer", "5"})
_CLIENT_KINDS = frozenset({"client", "span_kind_client", "3", "producer", "span_kind_producer", "4"})


@dataclass
class SpanReduction:
    spans: int = 0
    events: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Spans that are not request records (internal spans, missing service ...), per reason."""


def _attribute(span: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in span:
            return span[name]
    attributes = span.get("attributes")
    if isinstance(attributes, Mapping):
        for name in names:
            if name in attributes:
                return attributes[name]
    elif isinstance(attributes, list):  # OTLP/JSON: [{"key": ..., "value": {"stringValue": ...}}]
        for item in attributes:
            if isinstance(item, Mapping) and item.get("key") in names:
                value = item.get("value", {})
                return next(iter(value.values()), None) if isinstance(value, Mapping) else value
    return None


def _span_event(span: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    service = _attribute(span, "service", "service.name")
    if not isinstance(service, str) or not service:
        return None, "no service name"
    kind = str(_attribute(span, "kind") or "server").lower()
    peer = _attribute(span, "peer", "peer.service")
    if kind in _CLIENT_KINDS:
        if not isinstance(peer, str) or not peer:
            return None, "client span without peer.service"
    elif kind in _SERVER_KINDS:
        peer = None
    else:
        return None, f"{kind} span (not a request)"
    start_ns, end_ns = span.get("start_time_unix_nano"), span.get("end_time_unix_nano")
    if start_ns is not None and end_ns is not None:
        try:
            start, end = int(start_ns), int(end_ns)
        except (TypeError, ValueError):
            return None, "invalid span times"
        timestamp: Any = datetime.fromtimestamp(start // 1_000_000 / 1000, tz=UTC)
        duration_ms: Any = (end - start) / 1e6
    else:
        timestamp, duration_ms = span.get("timestamp"), span.get("duration_ms")
    status = _attribute(span, "status", "error")
    if isinstance(status, Mapping):
        status = status.get("code")
    error = status is True or str(status).lower() in {"error", "status_code_error", "2", "true"}
    try:
        event = RawEvent.model_validate(
            {"service": service, "timestamp": timestamp, "duration_ms": duration_ms, "error": error, "peer": peer}
        )
    except ValidationError as problem:
        detail = problem.errors()[0]
        return None, f"invalid {'.'.join(str(p) for p in detail['loc']) or 'span'}"
    record = event.model_dump(mode="json")
    record["timestamp"] = event.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return record, ""


def reduce_spans(spans: Iterable[Mapping[str, Any]], report: SpanReduction | None = None) -> Iterator[dict[str, Any]]:
    """Server/client spans -> RawEvent dicts (JSON-ready, RFC 3339 ms timestamps); the rest counted in ``report``."""
    report = report if report is not None else SpanReduction()
    for span in spans:
        report.spans += 1
        if not isinstance(span, Mapping):
            report.skipped["not an object"] += 1
            continue
        record, reason = _span_event(span)
        if record is None:
            report.skipped[reason] += 1
            continue
        report.events += 1
        yield record
