"""Reading users' snapshot files: every bad line named with file and line, valid lines kept."""

from __future__ import annotations

import json

from slo_engine.ingest.snapshot_file import read_snapshot_file

GOOD = {"service": "api", "window_start": "2026-11-01T00:00:00Z", "window_seconds": 10, "requests": 5, "errors": 0}


def write(tmp_path, lines):
    p = tmp_path / "s.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_bad_lines_are_reported_with_their_line_numbers_and_good_ones_kept(tmp_path):
    p = write(
        tmp_path,
        [
            json.dumps(GOOD),
            "{not json",
            json.dumps({**GOOD, "requests": -1}),
            json.dumps({**GOOD, "errors": 9}),
            json.dumps({**GOOD, "window_start": "2026-11-01T00:00:10Z", "extra": "ignored"}),
            "[1, 2]",
        ],
    )
    report = read_snapshot_file(p)
    assert len(report.snapshots) == 2
    assert [e.split(":")[1] for e in report.errors] == ["2", "3", "4", "6"]
    assert "not valid JSON" in report.errors[0]
    assert "requests" in report.errors[1]
    assert "exceed" in report.errors[2]


def test_an_empty_file_is_one_clear_error(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("")
    report = read_snapshot_file(p)
    assert not report.ok and "empty" in report.errors[0]


def test_a_missing_file_is_one_clear_error(tmp_path):
    report = read_snapshot_file(tmp_path / "missing.jsonl")
    assert not report.ok and "no such file" in report.errors[0]


def test_a_naive_timestamp_is_refused(tmp_path):
    report = read_snapshot_file(write(tmp_path, [json.dumps({**GOOD, "window_start": "2026-11-01T00:00:00"})]))
    assert not report.ok and "UTC offset" in report.errors[0]
