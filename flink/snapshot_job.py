"""The snapshot job as Flink SQL: raw request events -> one snapshot per (service, 10-second tumbling window).

Everything runs in the JVM (SQL only, no Python UDF). The SQL follows ``slo_engine.ingest.aggregator`` exactly:
the same window, bucket, watermark, lateness and future rules, and the same snapshot JSON. ``main.py`` wires it
to Kinesis in Managed Service for Apache Flink; ``run_local`` wires it to files in PyFlink's mini-cluster.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_LATENCY_BOUNDS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Mirrors ``slo_engine.models.snapshot.DEFAULT_LATENCY_BOUNDS_MS`` (the job ships without the core package)."""

_TIMESTAMP_PATTERN = r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"


@dataclass(frozen=True)
class JobSettings:
    """The ``Aggregation`` property group of the Managed Flink application, with the aggregator's defaults."""

    window_seconds: int = 10
    allowed_lateness_seconds: float = 5
    max_future_seconds: float = 300
    bounds: tuple[float, ...] = DEFAULT_LATENCY_BOUNDS_MS
    clock_epoch_ms: int | None = None
    """Reference "now" for refusing events from the future; None: the wall clock of the task."""
    quantiles: tuple[float, ...] = field(default=(0.5, 0.95, 0.99))

    def __post_init__(self) -> None:
        if self.window_seconds <= 0 or self.allowed_lateness_seconds < 0 or self.max_future_seconds < 0:
            raise ValueError("window_seconds must be positive; lateness and future limits not negative")
        if not self.bounds or any(b <= 0 for b in self.bounds) or list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError("latency bounds must be positive and strictly ascending")


def _ms_literal(milliseconds: float) -> str:
    """A DAY TO SECOND interval literal of whole milliseconds (SECOND alone only takes two digits)."""
    total = round(milliseconds)
    days, rest = divmod(total, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}' DAY TO SECOND(3)"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number(value: float) -> str:
    return repr(float(value))


_PARSE_SQL = """
    SELECT line,
        line IS JSON AS is_json,
        line IS JSON OBJECT AS is_object,
        JSON_VALUE(line, '$.service') AS service,
        NULLIF(JSON_VALUE(line, '$.peer'), '') AS peer,
        JSON_VALUE(line, '$.timestamp') AS stamp,
        TRY_CAST(JSON_VALUE(line, '$.duration_ms') AS DOUBLE) AS duration_ms,
        JSON_EXISTS(line, '$.error') AS has_error,
        LOWER(JSON_VALUE(line, '$.error')) AS error_text
    FROM {source}"""
"""Stage one: each JSON line parsed once into string fields (NULL where absent)."""


def epoch_ms_sql(stamp: str = "stamp") -> str:
    """RFC 3339 text (``Z`` or ``+HH:MM``, any fraction, floored to the millisecond) -> epoch ms; NULL otherwise."""
    p = _sql_string(_TIMESTAMP_PATTERN)
    zone = f"REGEXP_EXTRACT({stamp}, {p}, 5)"
    return (
        f"IF(REGEXP({stamp}, {p}), "
        f"UNIX_TIMESTAMP(REGEXP_EXTRACT({stamp}, {p}, 1) || ' ' || REGEXP_EXTRACT({stamp}, {p}, 2), "
        "'yyyy-MM-dd HH:mm:ss') * 1000 "
        f"+ CAST(RPAD(COALESCE(SUBSTRING(REGEXP_EXTRACT({stamp}, {p}, 4) FROM 1 FOR 3), ''), 3, '0') AS BIGINT) "
        f"- CASE WHEN UPPER({zone}) = 'Z' THEN 0 ELSE "
        f"(CASE WHEN SUBSTRING({zone} FROM 1 FOR 1) = '-' THEN -1 ELSE 1 END) * "
        f"(CAST(SUBSTRING({zone} FROM 2 FOR 2) AS BIGINT) * 3600000 + "
        f"CAST(SUBSTRING({zone} FROM 5 FOR 2) AS BIGINT) * 60000) END, "
        "CAST(NULL AS BIGINT))"
    )


# pydantic's lax booleans: true/false and the strings it accepts for them.
_ERROR_FLAG_SQL = (
    "CASE WHEN error_text IN ('true', '1', 'on', 't', 'y', 'yes') THEN TRUE "
    "WHEN error_text IN ('false', '0', 'off', 'f', 'n', 'no') THEN FALSE ELSE CAST(NULL AS BOOLEAN) END"
)


def validity_sql() -> str:
    """Why a parsed record is malformed (NULL: it is well formed), in the aggregator's words."""
    return f"""CASE
        WHEN line IS NULL OR NOT is_json THEN 'invalid JSON'
        WHEN NOT is_object THEN 'not a JSON object'
        WHEN service IS NULL OR CHAR_LENGTH(service) < 1 OR CHAR_LENGTH(service) > 256 THEN 'invalid service'
        WHEN stamp IS NULL OR NOT REGEXP(stamp, {_sql_string(_TIMESTAMP_PATTERN)}) THEN 'invalid timestamp'
        WHEN duration_ms IS NULL OR NOT (duration_ms >= CAST(0 AS DOUBLE))
             OR duration_ms > CAST('1.7976931348623157E308' AS DOUBLE) THEN 'invalid duration_ms'
        WHEN has_error AND ({_ERROR_FLAG_SQL}) IS NULL THEN 'invalid error'
        ELSE CAST(NULL AS STRING) END"""


def _clock_sql(settings: JobSettings) -> str:
    if settings.clock_epoch_ms is None:
        return "CURRENT_TIMESTAMP"
    return f"TO_TIMESTAMP_LTZ({int(settings.clock_epoch_ms)}, 3)"


def watermark_sql(settings: JobSettings) -> str:
    """The watermark of a parsed row; NULL for malformed rows and rows from the future (they do not move it).

    The aggregator closes a window when ``max_ts - lateness >= end``, Flink when ``watermark >= end - 1``; window ends
    are multiples of the window, so ``floor((ts - lateness) / window) * window - 1`` closes exactly the same windows
    and moves only once per window (the job emits a watermark whenever it moves: cheap and deterministic).
    """
    future = f"TO_TIMESTAMP_LTZ(ts_ms, 3) > {_clock_sql(settings)} + {_ms_literal(settings.max_future_seconds * 1000)}"
    lateness_ms = round(settings.allowed_lateness_seconds * 1000)
    window_ms = settings.window_seconds * 1000
    return f"""CASE WHEN malformed IS NULL AND NOT ({future})
            THEN TO_TIMESTAMP_LTZ(FLOOR((ts_ms - {lateness_ms}) / {window_ms}) * {window_ms} - 1, 3)
            ELSE CAST(NULL AS TIMESTAMP_LTZ(3)) END"""


def event_time_sql() -> str:
    return f"TO_TIMESTAMP_LTZ(COALESCE({epoch_ms_sql()}, 0), 3)"


def classified_view_sql(source: str, settings: JobSettings) -> str:
    """Each parsed row with its verdict: ``accepted``, ``late``, ``future`` or the malformed reason."""
    window_ms = settings.window_seconds * 1000
    window_end = f"TO_TIMESTAMP_LTZ((FLOOR(ts_ms / {window_ms}) + 1) * {window_ms}, 3)"
    future_ms = settings.max_future_seconds * 1000
    return f"""
    CREATE TEMPORARY VIEW classified AS
    SELECT line, ts, service, peer, duration_ms, COALESCE(failed, FALSE) AS failed,
        CASE
            WHEN malformed IS NOT NULL THEN malformed
            WHEN TO_TIMESTAMP_LTZ(ts_ms, 3) > {_clock_sql(settings)} + {_ms_literal(future_ms)} THEN 'future'
            WHEN CURRENT_WATERMARK(ts) IS NOT NULL AND ts > CURRENT_WATERMARK(ts) + {_ms_literal(future_ms + 1)}
                THEN 'future'
            WHEN CURRENT_WATERMARK(ts) IS NOT NULL AND {window_end} <= CURRENT_WATERMARK(ts) + INTERVAL '0.001' SECOND
                THEN 'late'
            ELSE 'accepted'
        END AS verdict
    FROM {source}"""


def _cumulative_sums(bounds: Sequence[float]) -> list[str]:
    """cu_i: server spans at or under bounds[i] (the histogram's cumulative counts; the total is ``requests``)."""
    return [
        f"SUM(CASE WHEN role = 'self' AND duration_ms <= {_number(bound)} THEN 1 ELSE 0 END) AS cu{i}"
        for i, bound in enumerate(bounds)
    ]


def _quantile_sql(bounds: Sequence[float], q: float) -> str:
    """``slo_engine.slo.sli.histogram_quantile`` over cumulative counts cu0..cuN-1, same float operations."""
    cumulative = [f"CAST(cu{i} AS DOUBLE)" for i in range(len(bounds))]
    rank = f"({_number(q)} * CAST(requests AS DOUBLE))"
    branches = []
    for i in range(len(bounds)):
        lower = _number(bounds[i - 1]) if i > 0 else "0.0"
        upper = _number(bounds[i])
        before = cumulative[i - 1] if i > 0 else "0.0"
        value = f"{lower} + ({upper} - {lower}) * ({rank} - {before}) / ({cumulative[i]} - {before})"
        branches.append(f"WHEN {cumulative[i]} >= {rank} THEN {value}")
    return f"CASE WHEN requests = 0 THEN CAST(NULL AS DOUBLE) {' '.join(branches)} ELSE {_number(bounds[-1])} END"


def _json_double(expression: str) -> str:
    return f"COALESCE(CAST({expression} AS STRING), 'null')"


def snapshot_query_sql(settings: JobSettings) -> str:
    """Accepted rows -> per (window, service, role, peer) counts -> one snapshot JSON line per (window, service)."""
    interval = f"INTERVAL '{settings.window_seconds}' SECOND"
    bounds = settings.bounds
    bucket_cols = ", ".join(_cumulative_sums(bounds))
    cumulative = [f"cu{i}" for i in range(len(bounds))]
    per_bucket = [cumulative[0]] + [f"{cumulative[i]} - {cumulative[i - 1]}" for i in range(1, len(bounds))]
    per_bucket.append(f"requests - {cumulative[-1]}")
    edge_piece = (
        "JSON_STRING(other) || ':{{\"requests\":' || CAST(n AS STRING) || ',\"errors\":' || CAST(e AS STRING) || '}}'"
    )
    edges = "'{{' || COALESCE(LISTAGG(CASE WHEN role = '{role}' THEN " + edge_piece + " END, ','), '') || '}}'"
    quantiles = {q: _quantile_sql(bounds, q) for q in settings.quantiles}
    error_pct = "CASE WHEN requests = 0 THEN CAST(NULL AS DOUBLE) ELSE 100.0E0 * errors / requests END"
    bounds_json = json.dumps([float(b) for b in bounds])
    counts_json = " || ',' || ".join(f"CAST({b} AS STRING)" for b in per_bucket)
    quantile_fields = " || ".join(
        f"',\"p{round(q * 100)}_ms\":' || {_json_double(sql)}" for q, sql in quantiles.items()
    )
    return f"""
    WITH contributions AS (
        SELECT ts, service AS subject, '' AS other, 'self' AS role, failed, duration_ms
        FROM classified WHERE verdict = 'accepted' AND peer IS NULL
        UNION ALL
        SELECT ts, service AS subject, peer AS other, 'down' AS role, failed, duration_ms
        FROM classified WHERE verdict = 'accepted' AND peer IS NOT NULL
        UNION ALL
        SELECT ts, peer AS subject, service AS other, 'up' AS role, failed, duration_ms
        FROM classified WHERE verdict = 'accepted' AND peer IS NOT NULL
    ),
    cells AS (
        SELECT window_time AS cell_time, subject, role, other,
            COUNT(*) AS n, SUM(CASE WHEN failed THEN 1 ELSE 0 END) AS e, {bucket_cols}
        FROM TABLE(TUMBLE(TABLE contributions, DESCRIPTOR(ts), {interval}))
        GROUP BY window_start, window_end, window_time, subject, role, other
    ),
    folded AS (
        SELECT window_start, subject,
            SUM(CASE WHEN role = 'self' THEN n ELSE 0 END) AS requests,
            SUM(CASE WHEN role = 'self' THEN e ELSE 0 END) AS errors,
            {", ".join(f"SUM({c}) AS {c}" for c in cumulative)},
            {edges.format(role="up")} AS upstream,
            {edges.format(role="down")} AS downstream
        FROM TABLE(TUMBLE(TABLE cells, DESCRIPTOR(cell_time), {interval}))
        GROUP BY window_start, window_end, subject
    )
    SELECT '{{"service":' || JSON_STRING(subject)
        || ',"window_start":"' || REPLACE(DATE_FORMAT(window_start, 'yyyy-MM-dd HH:mm:ss'), ' ', 'T') || 'Z"'
        || ',"window_seconds":{settings.window_seconds}'
        || ',"requests":' || CAST(requests AS STRING)
        || ',"errors":' || CAST(errors AS STRING)
        || ',"error_pct":' || {_json_double(error_pct)}
        || ',"latency_ms":{{"bounds":{bounds_json},"counts":[' || {counts_json} || ']}}'
        || {quantile_fields}
        || ',"upstream":' || upstream
        || ',"downstream":' || downstream
        || '}}' AS snapshot
    FROM folded"""


def side_output_query_sql() -> str:
    """Everything not accepted, with its reason: counted by whoever reads the side output, never lost."""
    return """
    SELECT '{"reason":' || JSON_STRING(verdict) || ',"record":' || JSON_STRING(COALESCE(line, '')) || '}' AS rejected
    FROM classified WHERE verdict <> 'accepted'"""


def _create_table_sql(name: str, columns: str, options: dict[str, str]) -> str:
    rendered = ", ".join(f"{_sql_string(k)} = {_sql_string(v)}" for k, v in options.items())
    return f"CREATE TEMPORARY TABLE {name} ({columns}) WITH ({rendered})"


def build_job(
    t_env: Any,
    settings: JobSettings,
    source_options: dict[str, str],
    snapshot_sink_options: dict[str, str],
    side_sink_options: dict[str, str],
) -> Any:
    """Declare the pipeline on a StreamTableEnvironment; returns the statement set (both sinks) to execute.

    Stage one parses every line once (SQL); the DataStream hop between the stages materialises the parsed row so
    that the watermark and the verdict read fields instead of parsing the JSON again (all in the JVM).
    """
    from pyflink.table import DataTypes, Schema

    t_env.execute_sql(_create_table_sql("raw_events", "line STRING", source_options))
    parsed = t_env.sql_query(_PARSE_SQL.format(source="raw_events"))
    schema = (
        Schema.new_builder()
        .column("line", DataTypes.STRING())
        .column("is_json", DataTypes.BOOLEAN())
        .column("is_object", DataTypes.BOOLEAN())
        .column("service", DataTypes.STRING())
        .column("peer", DataTypes.STRING())
        .column("stamp", DataTypes.STRING())
        .column("duration_ms", DataTypes.DOUBLE())
        .column("has_error", DataTypes.BOOLEAN())
        .column("error_text", DataTypes.STRING())
        .column_by_expression("ts_ms", epoch_ms_sql())
        .column_by_expression("malformed", validity_sql())
        .column_by_expression("failed", _ERROR_FLAG_SQL)
        .column_by_expression("ts", event_time_sql())
        .watermark("ts", watermark_sql(settings))
        .build()
    )
    t_env.create_temporary_view("events", t_env.from_data_stream(t_env.to_data_stream(parsed), schema))
    t_env.execute_sql(classified_view_sql("events", settings))
    t_env.execute_sql(_create_table_sql("snapshot_sink", "snapshot STRING", snapshot_sink_options))
    t_env.execute_sql(_create_table_sql("side_output", "rejected STRING", side_sink_options))
    statement_set = t_env.create_statement_set()
    statement_set.add_insert_sql(f"INSERT INTO snapshot_sink {snapshot_query_sql(settings)}")
    statement_set.add_insert_sql(f"INSERT INTO side_output {side_output_query_sql()}")
    return statement_set


def stream_table_environment(parallelism: int = 1) -> Any:
    """A streaming table environment: UTC, a watermark emitted whenever it moves, ``parallelism`` tasks.

    The aggregator's semantics are those of one ordered stream; parity holds with parallelism 1 (in Managed Flink
    each Kinesis shard has its own watermark and Flink takes the minimum).
    """
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import EnvironmentSettings, StreamTableEnvironment

    configuration = Configuration()
    configuration.set_string("table.local-time-zone", "UTC")
    configuration.set_string("pipeline.auto-watermark-interval", "0 ms")
    env = StreamExecutionEnvironment.get_execution_environment(configuration)
    env.set_parallelism(parallelism)
    t_env = StreamTableEnvironment.create(
        env,
        environment_settings=EnvironmentSettings.new_instance()
        .in_streaming_mode()
        .with_configuration(configuration)
        .build(),
    )
    t_env.get_config().set("table.local-time-zone", "UTC")
    return t_env


def _file_options(path: Path) -> dict[str, str]:
    return {"connector": "filesystem", "path": str(path), "format": "raw"}


@dataclass
class LocalRunReport:
    snapshots_path: str
    side_output_path: str
    snapshots: int
    rejected: dict[str, int]
    seconds: float


def _read_part_files(folder: Path) -> list[str]:
    lines: list[str] = []
    for part in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        lines.extend(line for line in part.read_text(encoding="utf-8").splitlines() if line.strip())
    return lines


def run_local(events_path: str | Path, out_dir: str | Path, settings: JobSettings | None = None) -> LocalRunReport:
    """Run the job over a JSON Lines file in the mini-cluster; write ``snapshots.jsonl`` and ``rejected.jsonl``."""
    import time

    began = time.perf_counter()
    settings = settings or JobSettings()
    out = Path(out_dir)
    parts_snapshots, parts_side = out / "parts-snapshots", out / "parts-rejected"
    for stale in (parts_snapshots, parts_side):  # part files of an earlier run would be read again
        shutil.rmtree(stale, ignore_errors=True)
    statement_set = build_job(
        stream_table_environment(),
        settings,
        _file_options(Path(events_path)),
        _file_options(parts_snapshots),
        _file_options(parts_side),
    )
    statement_set.execute().wait()
    snapshots = _read_part_files(parts_snapshots)
    rejected_lines = _read_part_files(parts_side)
    rejected: dict[str, int] = {}
    for line in rejected_lines:
        reason = json.loads(line)["reason"]
        rejected[reason] = rejected.get(reason, 0) + 1
    snapshots_path, side_path = out / "snapshots.jsonl", out / "rejected.jsonl"
    snapshots_path.write_text("".join(s + "\n" for s in snapshots), encoding="utf-8")
    side_path.write_text("".join(r + "\n" for r in rejected_lines), encoding="utf-8")
    return LocalRunReport(str(snapshots_path), str(side_path), len(snapshots), rejected, time.perf_counter() - began)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the snapshot job locally over a JSON Lines file of events.")
    parser.add_argument("events")
    parser.add_argument("out_dir")
    parser.add_argument("--clock-epoch-ms", type=int, default=None)
    args = parser.parse_args()
    print(run_local(args.events, args.out_dir, JobSettings(clock_epoch_ms=args.clock_epoch_ms)))
