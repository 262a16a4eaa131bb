"""The Managed Flink entry point (flink/main.py): runtime properties -> connector options and job settings, and the
application's parallelism left in charge unless the Aggregation group pins it."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def main() -> ModuleType:
    sys.path.insert(0, str(ROOT / "flink"))
    try:
        return importlib.import_module("main")
    finally:
        sys.path.remove(str(ROOT / "flink"))


def test_property_groups_are_read_from_the_file_managed_flink_writes(main, tmp_path, monkeypatch) -> None:
    path = tmp_path / "application_properties.json"
    groups = [
        {"PropertyGroupId": "Aggregation", "PropertyMap": {"window.seconds": "10", "allowed.lateness.seconds": "7"}},
        {"PropertyGroupId": "TelemetryStream", "PropertyMap": {"stream.arn": "arn:aws:kinesis:eu-west-1:1:stream/t",
                                                               "aws.region": "eu-west-1"}},
    ]  # fmt: skip
    path.write_text(json.dumps(groups), encoding="utf-8")
    monkeypatch.setenv("SLO_ENGINE_FLINK_PROPERTIES", str(path))
    found = main.property_groups()
    assert main.settings_from(found["Aggregation"]).allowed_lateness_seconds == 7.0
    options = main.kinesis_options(found["TelemetryStream"], source=True)
    assert options == {
        "connector": "kinesis",
        "stream.arn": "arn:aws:kinesis:eu-west-1:1:stream/t",
        "aws.region": "eu-west-1",
        "format": "raw",
        "source.init.position": "LATEST",
    }
    assert "source.init.position" not in main.kinesis_options(found["TelemetryStream"], source=False)


def test_the_application_parallelism_is_not_overridden_unless_pinned(main) -> None:
    assert main.parallelism_from({}) is None
    assert main.parallelism_from({"parallelism": " 4 "}) == 4
    for bad in ("0", "-1", "two"):
        with pytest.raises(ValueError, match="positive integer"):
            main.parallelism_from({"parallelism": bad})
