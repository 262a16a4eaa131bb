"""Rule-based resolution extraction: symptoms, likely cause, fix steps, commands and time to mitigate.

It is the deterministic reasoner's ``extract_resolution`` and the fallback whenever the small model fails; it reads
the section names runbooks use ("Meaning", "Impact", "Diagnosis", "Mitigation", ...) and markdown lists and code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from slo_engine.knowledge.chunking import HEADING_SEPARATOR, closes_fence, fence_marker, heading_of
from slo_engine.models import Resolution, RunbookChunk

MAX_SYMPTOMS = 12
MAX_FIX_STEPS = 12
MAX_COMMANDS = 20
MAX_CAUSE_CHARS = 600
MAX_ITEM_CHARS = 400


class SectionKind(StrEnum):
    SYMPTOM = "symptom"
    CAUSE = "cause"
    FIX = "fix"


_SECTION_KEYWORDS: dict[SectionKind, re.Pattern[str]] = {
    SectionKind.SYMPTOM: re.compile(
        r"\b(symptoms?|meaning|impact|what (?:it|this) means|description|overview|summary)\b", re.IGNORECASE
    ),
    SectionKind.CAUSE: re.compile(
        r"\b(diagnos\w*|causes?|root[- ]cause|investigat\w*|troubleshoot\w*|triage)\b", re.IGNORECASE
    ),
    SectionKind.FIX: re.compile(
        r"\b(mitigat\w*|resolution|resolv\w*|fix\w*|remediat\w*|runbook|solutions?|recover\w*|workarounds?|repair)\b",
        re.IGNORECASE,
    ),
}

# CamelCase words that name products, tools or Kubernetes kinds, not alerts.
NOT_ALERT_NAMES = frozenset(
    name.lower()
    for name in {
        "GitHub",
        "GitLab",
        "BitBucket",
        "PagerDuty",
        "OpsGenie",
        "VictorOps",
        "DeadMansSnitch",
        "OpenShift",
        "OpenStack",
        "PromQL",
        "LogQL",
        "TraceQL",
        "JavaScript",
        "TypeScript",
        "PostgreSQL",
        "MySQL",
        "MongoDB",
        "DynamoDB",
        "CloudWatch",
        "CloudFormation",
        "StatefulSet",
        "StatefulSets",
        "DaemonSet",
        "DaemonSets",
        "ReplicaSet",
        "ReplicaSets",
        "ConfigMap",
        "ConfigMaps",
        "PersistentVolume",
        "PersistentVolumes",
        "PersistentVolumeClaim",
        "PersistentVolumeClaims",
        "StorageClass",
        "CronJob",
        "CronJobs",
        "ServiceAccount",
        "ServiceMonitor",
        "ServiceMonitors",
        "PodMonitor",
        "PodMonitors",
        "PrometheusRule",
        "PrometheusRules",
        "AlertmanagerConfig",
        "AlertmanagerConfigs",
        "ThanosRuler",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "HorizontalPodAutoscaler",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "RoleBinding",
        "APIService",
        "ScrapeConfig",
        "ProbeSpec",
        "LoadBalancer",
        "NodePort",
        "ClusterIP",
        "IPv4",
        "IPv6",
        "YouTube",
        "WebSocket",
        "ElasticSearch",
        "OpenSearch",
        "OpenTelemetry",
        "macOS",
        "iOS",
        "SELinux",
        "AppArmor",
        "VMware",
        "VirtualBox",
    }
)

_CAMEL_WORD = re.compile(r"(?<![\w./-])([A-Za-z][A-Za-z0-9]*)(?![\w/-])")
_CAMEL_HUMP = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_LIST_ITEM = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?P<text>.*\S)?\s*$")
_URL_IN_PARENS = r"\((?:[^()\s]|\([^()\s]*\))*\)"
_LINK_ONLY = re.compile(rf"^\s*(?:\[[^\]]*\]{_URL_IN_PARENS}|\[[^\]]*\]\[[^\]]*\]|<?https?://\S+>?)\s*[.,;:]?\s*$")
_INLINE_LINK = re.compile(rf"!?\[([^\]]*)\]{_URL_IN_PARENS}")
_REFERENCE_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_REFERENCE_DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.MULTILINE)
_HTML_TAG = re.compile(r"<[^>]+>")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_INLINE_CODE = re.compile(r"`([^`]+)`")
_WHITESPACE = re.compile(r"\s+")

SHELL_LANGUAGES = frozenset(
    {"", "console", "shell", "sh", "bash", "zsh", "shell-session", "shellsession", "terminal", "powershell", "ps"}
)
QUERY_LANGUAGES = frozenset({"promql", "logql", "sql", "traceql"})
CLI_TOOLS = frozenset(
    {
        "kubectl",
        "oc",
        "etcdctl",
        "helm",
        "curl",
        "systemctl",
        "journalctl",
        "promtool",
        "amtool",
        "docker",
        "crictl",
        "podman",
        "aws",
        "gcloud",
        "az",
        "ssh",
        "sudo",
        "df",
        "du",
        "lsof",
        "sysctl",
        "ethtool",
        "chronyc",
        "timedatectl",
        "ntpq",
        "mdadm",
        "iptables",
        "conntrack",
        "dig",
        "nslookup",
        "openssl",
    }
)
_TRIVIAL_COMMANDS = frozenset({"exit", "logout", "clear"})

_UNIT_MINUTES = {"s": 1 / 60, "m": 1.0, "h": 60.0, "d": 1440.0}
_NUMBER = r"\d+(?:\.\d+)?"
_UNIT = r"(?:seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)"
_DURATION = re.compile(
    rf"(?P<low>{_NUMBER})\s*(?:(?:-|\u2013|to)\s*(?P<high>{_NUMBER})\s*)?(?P<unit>{_UNIT})(?![a-z])"
    rf"(?:\s*(?:and\s+)?(?P<extra>{_NUMBER})\s*(?P<extra_unit>{_UNIT})(?![a-z]))?",
    re.IGNORECASE,
)
_EXPLICIT_MITIGATION_TIME = re.compile(
    r"(?:(?:expected|estimated|typical)\s+)?(?:time\s+to\s+(?:mitigate|mitigation|resolve|resolution|fix|recover|"
    r"restore)|(?:mitigation|resolution|recovery)\s+time|\bMTTR\b|\bTTM\b)(?P<tail>[^\n]{0,60})",
    re.IGNORECASE,
)
_ESTIMATE = re.compile(
    rf"(?:~|\babout\b|\bapproximately\b|\bapprox\.|\baround\b|\broughly\b|\btakes?\b|\busually\b|\btypically\b|"
    rf"\bwithin\b|\bup to\b)\s*(?P<duration>{_NUMBER}\s*(?:(?:-|\u2013|to)\s*{_NUMBER}\s*)?{_UNIT}(?![a-z]))",
    re.IGNORECASE,
)


def _unit_minutes(unit: str) -> float:
    unit = unit.lower()
    if unit.startswith("mi") or unit == "m":
        return _UNIT_MINUTES["m"]
    return _UNIT_MINUTES[unit[0]]


def parse_duration_minutes(text: str) -> float | None:
    """Minutes in the first duration of ``text``: "15 minutes", "~1h", "30 min", "2 hours", "1h30m", "10-20 min".

    A range gives its upper bound (the conservative estimate). None when no duration is found.
    """
    match = _DURATION.search(text)
    if match is None:
        return None
    value = float(match.group("high") or match.group("low")) * _unit_minutes(match.group("unit"))
    if match.group("extra"):
        value += float(match.group("extra")) * _unit_minutes(match.group("extra_unit"))
    return round(value, 3)


def classify_heading(heading: str) -> frozenset[SectionKind]:
    """What a section is for, from its heading path: the deepest named component that matches wins.

    The document title (first component) is only read when it is the whole heading.
    """
    components = [part.strip() for part in heading.split(HEADING_SEPARATOR) if part.strip()]
    if len(components) > 1:
        components = components[1:]
    for component in reversed(components):
        kinds = frozenset(kind for kind, pattern in _SECTION_KEYWORDS.items() if pattern.search(component))
        if kinds:
            return kinds
    return frozenset()


def plain_text(markdown: str) -> str:
    """Markdown prose as one line of plain text: links, tags, emphasis and code ticks removed."""
    text = _REFERENCE_DEFINITION.sub("", markdown)
    text = _INLINE_LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _WHITESPACE.sub(" ", text).strip()


def _camel_humps(word: str) -> list[str]:
    return _CAMEL_HUMP.findall(word)


def looks_like_alert_name(word: str) -> bool:
    """CamelCase naming a condition: KubePodCrashLooping, CPUThrottlingHigh, TargetDown; a lower-case start needs
    three parts (etcdNoLeader, not securityContext); product names and Kubernetes kinds are not alerts."""
    if word.lower() in NOT_ALERT_NAMES or not re.search(r"[a-z]", word) or not re.search(r"[A-Z]", word[1:]):
        return False
    humps = _camel_humps(word)
    needed = 2 if word[0].isupper() else 3
    return len(humps) >= needed and "".join(humps) == word and any(len(h) > 1 for h in humps)


def alert_names(text: str) -> list[str]:
    """Alert-like CamelCase names in ``text``, in first-seen order, without duplicates."""
    return _unique(word for word in _CAMEL_WORD.findall(text) if looks_like_alert_name(word))


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for item in items:
        key = item.strip()
        if key and key.lower() not in seen:
            seen.add(key.lower())
            result.append(key)
    return result


@dataclass
class _Section:
    heading: str
    kinds: frozenset[SectionKind]
    prose: list[str]  # paragraphs outside lists and code, markdown kept
    items: list[str]  # list items (nested ones flattened), markdown kept
    code: list[tuple[str, str]]  # (language, code)


def _sections(heading: str, text: str) -> list[_Section]:
    """The sections of ``text`` (which may hold its own headings), each classified by its heading path."""
    raw: list[tuple[str, list[str]]] = [(heading, [])]
    base = [part for part in heading.split(HEADING_SEPARATOR) if part]
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if fence is None:
            marker = fence_marker(line)
            found = heading_of(line) if marker is None else None
            if marker is not None:
                fence = marker
            elif found is not None:
                level, name = found
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, name))
                raw.append((HEADING_SEPARATOR.join([*base, *(n for _, n in stack)]), []))
                continue
        elif closes_fence(line, fence):
            fence = None
        raw[-1][1].append(line)
    return [_parse_body(name, lines) for name, lines in raw]


def _parse_body(heading: str, lines: list[str]) -> _Section:
    section = _Section(heading=heading, kinds=classify_heading(heading), prose=[], items=[], code=[])
    paragraph: list[str] = []
    item: list[str] | None = None
    fence: str | None = None
    code: list[str] = []
    language = ""

    def flush() -> None:
        nonlocal paragraph, item
        if paragraph:
            section.prose.append("\n".join(paragraph))
            paragraph = []
        if item is not None:
            section.items.append(" ".join(part.strip() for part in item))
            item = None

    for line in lines:
        if fence is not None:
            if closes_fence(line, fence):
                section.code.append((language, "\n".join(code)))
                fence, code = None, []
            else:
                code.append(line)
            continue
        marker = fence_marker(line)
        if marker is not None:
            flush()
            fence, language = marker, line.strip().lstrip(marker[0]).strip().split(" ")[0].lower()
            continue
        list_item = _LIST_ITEM.match(line)
        if list_item is not None:
            flush()
            item = [list_item.group("text") or ""]
        elif not line.strip():
            flush()
        elif item is not None:  # continuation (indented or lazy) of the open list item
            item.append(line)
        else:
            paragraph.append(line)
    if fence is not None and code:
        section.code.append((language, "\n".join(code)))
    flush()
    return section


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _symptom_sentences(section: _Section) -> list[str]:
    texts = [plain_text(p) for p in section.prose[:1]] + [plain_text(i) for i in section.items[:4]]
    return [_clip(t, MAX_ITEM_CHARS) for t in texts if t and not _LINK_ONLY.match(t)]


def _likely_cause(section: _Section) -> str:
    for paragraph in section.prose:
        text = plain_text(paragraph)
        if text and not text.endswith(":") and not _LINK_ONLY.match(paragraph):
            return text
    items = [plain_text(i) for i in section.items[:5] if not _LINK_ONLY.match(i)]
    return "; ".join(i for i in items if i)


def _fix_steps(section: _Section) -> list[str]:
    items = [plain_text(i) for i in section.items if not _LINK_ONLY.match(i)]
    if not items:
        items = [plain_text(p) for p in section.prose if not _LINK_ONLY.match(p)]
    return [_clip(i, MAX_ITEM_CHARS) for i in items if i]


def _shell_commands(code: str) -> list[str]:
    lines = code.replace("\\\n", " ").split("\n")
    prompted = [line.strip()[2:] for line in lines if line.strip().startswith("$ ")]
    candidates = prompted or [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [_WHITESPACE.sub(" ", c).strip() for c in candidates]


def _commands(section: _Section) -> list[str]:
    """Shell lines and queries from fenced code, ``$ `` lines in prose, and inline spans that call a CLI tool."""
    commands: list[str] = []
    for language, code in section.code:
        if language in SHELL_LANGUAGES:
            commands.extend(_shell_commands(code))
        elif language in QUERY_LANGUAGES and code.strip():
            commands.append(_WHITESPACE.sub(" ", code).strip())
    for block in section.prose + section.items:
        for line in block.split("\n"):
            if line.strip().startswith("$ "):
                commands.append(line.strip()[2:].strip())
    for span in _INLINE_CODE.findall("\n".join(section.prose + section.items)):
        words = span.strip().split()
        if words and words[0] in CLI_TOOLS and len(words) > 1:
            commands.append(span.strip())
    return [c for c in commands if c and c.lower() not in _TRIVIAL_COMMANDS]


def _minutes_to_mitigate(sections: Sequence[_Section], text: str) -> float | None:
    for match in _EXPLICIT_MITIGATION_TIME.finditer(text):
        minutes = parse_duration_minutes(match.group("tail"))
        if minutes is not None:
            return minutes
    for section in sections:
        if SectionKind.FIX not in section.kinds:
            continue
        for paragraph in section.prose + section.items:
            estimate = _ESTIMATE.search(plain_text(paragraph))
            if estimate is not None:
                return parse_duration_minutes(estimate.group("duration"))
    return None


def extract_resolution(heading: str, text: str) -> Resolution:
    """A resolution from one runbook section (or a whole runbook) by rules alone; never raises on odd markdown.

    ``heading`` is the chunk's heading path ("Title > Section"); its title and section names say what the text is.
    """
    sections = _sections(heading, text)
    title = heading.split(HEADING_SEPARATOR)[0].strip()
    symptoms: list[str] = [title] if title else []
    prose = "\n".join(plain_text(block) for section in sections for block in section.prose + section.items)
    symptoms.extend(alert_names(f"{heading}\n{prose}"))
    cause_parts: list[str] = []
    fix_steps: list[str] = []
    commands: list[str] = []
    for section in sections:
        if SectionKind.SYMPTOM in section.kinds:
            symptoms.extend(_symptom_sentences(section))
        if SectionKind.CAUSE in section.kinds:
            cause = _likely_cause(section)
            if cause:
                cause_parts.append(cause)
        if SectionKind.FIX in section.kinds:
            fix_steps.extend(_fix_steps(section))
        commands.extend(_commands(section))
    return Resolution(
        symptoms=_unique(symptoms)[:MAX_SYMPTOMS],
        likely_cause=_clip(" ".join(_unique(cause_parts)), MAX_CAUSE_CHARS),
        fix_steps=_unique(fix_steps)[:MAX_FIX_STEPS],
        commands=_unique(commands)[:MAX_COMMANDS],
        minutes_to_mitigate=_minutes_to_mitigate(sections, text),
    )


def merge_resolutions(resolutions: Sequence[Resolution]) -> Resolution:
    """One resolution from several: lists united in order, the first likely cause kept with distinct others
    appended, the longest time to mitigate (the conservative one)."""
    minutes = [r.minutes_to_mitigate for r in resolutions if r.minutes_to_mitigate is not None]
    causes = _unique(r.likely_cause for r in resolutions if r.likely_cause)
    return Resolution(
        symptoms=_unique(s for r in resolutions for s in r.symptoms)[:MAX_SYMPTOMS],
        services=_unique(s for r in resolutions for s in r.services),
        likely_cause=_clip(" ".join(causes), MAX_CAUSE_CHARS),
        fix_steps=_unique(s for r in resolutions for s in r.fix_steps)[:MAX_FIX_STEPS],
        commands=_unique(c for r in resolutions for c in r.commands)[:MAX_COMMANDS],
        minutes_to_mitigate=max(minutes) if minutes else None,
    )


def extract_document_resolution(chunks: Sequence[RunbookChunk]) -> Resolution:
    """A document's resolution from its chunks: each chunk's own resolution (extracted by rules when it has none),
    merged, with the services the chunks mention."""
    ordered = sorted(chunks, key=lambda chunk: chunk.chunk_index)
    resolutions = [chunk.resolution or extract_resolution(chunk.heading, chunk.text) for chunk in ordered]
    merged = merge_resolutions(resolutions)
    services = _unique([*merged.services, *(s for chunk in ordered for s in chunk.services)])
    return merged.model_copy(update={"services": services})
