"""Reading snapshot JSON Lines from users: every bad line is reported with its file and line number.

Valid lines are never dropped because a neighbour is bad; the caller decides whether what remains
is enough (the CLI exits non-zero only when nothing valid remains).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from slo_engine.models import ServiceSnapshot


@dataclass
class SnapshotFileReport:
    path: str
    snapshots: list[ServiceSnapshot] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lines: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.snapshots)


def _describe(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "line"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def read_snapshot_file(path: str | Path) -> SnapshotFileReport:
    """Parse and validate every line; an empty file or a missing one is one clear error."""
    p = Path(path)
    report = SnapshotFileReport(path=str(p))
    if not p.is_file():
        report.errors.append(f"{p}: no such file")
        return report
    with p.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            report.lines = number
            text = raw.strip()
            if not text:
                continue
            try:
                record = json.loads(text)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                report.errors.append(f"{p}:{number}: not valid JSON ({error})")
                continue
            if not isinstance(record, dict):
                report.errors.append(f"{p}:{number}: expected a JSON object, got {type(record).__name__}")
                continue
            try:
                report.snapshots.append(ServiceSnapshot.model_validate(record))
            except ValidationError as error:
                report.errors.append(f"{p}:{number}: {_describe(error)}")
    if report.lines == 0 or (not report.snapshots and not report.errors):
        report.errors.append(f"{p}: the file is empty (expected one snapshot per line)")
    return report
