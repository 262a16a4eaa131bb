"""Entry point of the Managed Service for Apache Flink application: the snapshot job of ``snapshot_job.py`` between
the telemetry stream and the snapshot stream, configured from the application's runtime properties.

Locally: ``python flink/snapshot_job.py EVENTS.jsonl OUT_DIR`` (files instead of Kinesis, the same SQL).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from snapshot_job import JobSettings, build_job, stream_table_environment

APPLICATION_PROPERTIES = Path("/etc/flink/application_properties.json")
"""Where Managed Flink puts the property groups of ``EnvironmentProperties`` (cdk/constructs/flink_aggregator.py)."""


def property_groups(path: Path = APPLICATION_PROPERTIES) -> dict[str, dict[str, str]]:
    local = os.environ.get("SLO_ENGINE_FLINK_PROPERTIES")
    source = Path(local) if local else path
    groups = json.loads(source.read_text(encoding="utf-8"))
    return {group["PropertyGroupId"]: dict(group["PropertyMap"]) for group in groups}


def kinesis_options(group: dict[str, str], *, source: bool) -> dict[str, str]:
    """Options of the ``kinesis`` table connector (flink-connector-aws-kinesis-streams 5.x, in the connector jar)."""
    options = {
        "connector": "kinesis",
        "stream.arn": group["stream.arn"],
        "aws.region": group["aws.region"],
        "format": "raw",
    }
    if source:
        options["source.init.position"] = group.get("flink.stream.initpos", "LATEST")
    return options


def settings_from(group: dict[str, str]) -> JobSettings:
    return JobSettings(
        window_seconds=int(group.get("window.seconds", 10)),
        allowed_lateness_seconds=float(group.get("allowed.lateness.seconds", 5)),
        max_future_seconds=float(group.get("max.future.seconds", 300)),
    )


def parallelism_from(group: dict[str, str]) -> int | None:
    """``parallelism`` of the Aggregation group when set (tests, a pinned job); None leaves the application's
    parallelism configuration (KPUs, autoscaling) in charge."""
    value = group.get("parallelism", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"Aggregation.parallelism must be a positive integer, not {value!r}")
    return int(value)


def main() -> Any:
    groups = property_groups()
    t_env = stream_table_environment(parallelism=parallelism_from(groups.get("Aggregation", {})))
    side = groups.get("SideOutput", {})
    side_options = (
        {"connector": "filesystem", "path": side["path"], "format": "raw"}
        if side.get("path")
        else {"connector": "print", "print-identifier": "rejected"}
    )
    statement_set = build_job(
        t_env,
        settings_from(groups.get("Aggregation", {})),
        kinesis_options(groups["TelemetryStream"], source=True),
        kinesis_options(groups["SnapshotStream"], source=False),
        side_options,
    )
    return statement_set.execute()


if __name__ == "__main__":
    main()
