"""The snapshot job as Flink SQL: raw request events -> one snapshot per (service, 10-second tumbling window).

Everything runs in the JVM (SQL only, no Python UDF). The SQL follows ``slo_engine.ingest.aggregator`` exactly:
the same window, bucket, watermark, lateness and future rules, and the same snapshot JSON. ``main.py`` wires it
to Kinesis in Managed Service for Apache Flink; ``run_local`` wires it to files in PyFlink's mini-cluster.
"""

from __future__ import annotations

import json
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


def field_expressions() -> dict[str, str]:
    """SQL expressions over ``line`` for the RawEvent fields (NULL where absent or of the wrong type).

    Computed columns cannot refer to each other in Flink DDL, so expressions are inlined where they are needed.
    """
    t = "JSON_VALUE(line, '$.timestamp')"
    p = _sql_string(_TIMESTAMP_PATTERN)
    zone = f"REGEXP_EXTRACT({t}, {p}, 5)"
    ts_ms = (
        f"IF(REGEXP({t}, {p}), "
        f"UNIX_TIMESTAMP(REGEXP_EXTRACT({t}, {p}, 1) || ' ' || REGEXP_EXTRACT({t}, {p}, 2), 'yyyy-MM-dd HH:mm:ss') "
        f"* 1000 + CAST(RPAD(COALESCE(SUBSTRING(REGEXP_EXTRACT({t}, {p}, 4) FROM 1 FOR 3), ''), 3, '0') AS BIGINT) "
        f"- CASE WHEN UPPER({zone}) = 'Z' THEN 0 ELSE "
        f"(CASE WHEN SUBSTRING({zone} FROM 1 FOR 1) = '-' THEN -1 ELSE 1 END) * "
        f"(CAST(SUBSTRING({zone} FROM 2 FOR 2) AS BIGINT) * 3600000 + "
        f"CAST(SUBSTRING({zone} FROM 5 FOR 2) AS BIGINT) * 60000) END, "
        "CAST(NULL AS BIGINT))"
    )
    return {
        "service": "JSON_VALUE(line, '$.service')",
        "peer": "NULLIF(JSON_VALUE(line, '$.peer'), '')",
        "duration_ms": "TRY_CAST(JSON_VALUE(line, '$.duration_ms') AS DOUBLE)",
        "has_error": "JSON_EXISTS(line, '$.error')",
        # pydantic's lax booleans: true/false and the strings it accepts for them.
        "error_flag": (
            "CASE WHEN LOWER(JSON_VALUE(line, '$.error')) IN ('true', '1', 'on', 't', 'y', 'yes') THEN TRUE "
            "WHEN LOWER(JSON_VALUE(line, '$.error')) IN ('false', '0', 'off', 'f', 'n', 'no') THEN FALSE "
            "ELSE CAST(NULL AS BOOLEAN) END"
        ),
        "ts_ms": ts_ms,
    }


def validity_sql(f: dict[str, str]) -> str:
    """Why a record is malformed (NULL: it is well formed), in the aggregator's words; ``f``: field expressions."""
    return f"""CASE
        WHEN line IS NULL OR NOT (line IS JSON) THEN 'invalid JSON'
        WHEN NOT (line IS JSON OBJECT) THEN 'not a JSON object'
        WHEN {f["service"]} IS NULL OR CHAR_LENGTH({f["service"]}) < 1 OR CHAR_LENGTH({f["service"]}) > 256
            THEN 'invalid service'
        WHEN {f["ts_ms"]} IS NULL THEN 'invalid timestamp'
        WHEN {f["duration_ms"]} IS NULL OR NOT ({f["duration_ms"]} >= CAST(0 AS DOUBLE))
             OR {f["duration_ms"]} > CAST('1.7976931348623157E308' AS DOUBLE) THEN 'invalid duration_ms'
        WHEN {f["has_error"]} AND {f["error_flag"]} IS NULL THEN 'invalid error'
        ELSE CAST(NULL AS STRING) END"""


def _clock_sql(settings: JobSettings) -> str:
    if settings.clock_epoch_ms is None:
        return "CURRENT_TIMESTAMP"
    return f"TO_TIMESTAMP_LTZ({int(settings.clock_epoch_ms)}, 3)"


def source_ddl(table: str, connector_options: dict[str, str], settings: JobSettings) -> str:
    """The event table: one JSON line per row, its event time, and the watermark.

    The aggregator closes a window when ``max_ts - lateness >= end``, Flink when ``watermark >= end - 1``; window ends
    are multiples of the window, so ``floor((ts - lateness) / window) * window - 1`` closes exactly the same windows
    and moves only once per window (the job emits a watermark whenever it moves: cheap and deterministic).
    Malformed rows and rows from the future (by the clock) do not move it.
    """
    f = field_expressions()
    options = ",\n        ".join(f"{_sql_string(k)} = {_sql_string(v)}" for k, v in connector_options.items())
    future = f"TO_TIMESTAMP_LTZ({f['ts_ms']}, 3) > {_clock_sql(settings)} + {_ms_literal(settings.max_future_seconds * 1000)}"
    lateness_ms = round(settings.allowed_lateness_seconds * 1000)
    window_ms = settings.window_seconds * 1000
    return f"""
    CREATE TEMPORARY TABLE {table} (
        line STRING,
        ts AS TO_TIMESTAMP_LTZ(COALESCE({f["ts_ms"]}, 0), 3),
        WATERMARK FOR ts AS CASE WHEN ({validity_sql(f)}) IS NULL AND NOT ({future})
            THEN TO_TIMESTAMP_LTZ(FLOOR(({f["ts_ms"]} - {lateness_ms}) / {window_ms}) * {window_ms} - 1, 3)
            ELSE CAST(NULL AS TIMESTAMP_LTZ(3)) END
    ) WITH (
        {options}
    )"""


def classified_view_sql(source: str, settings: JobSettings) -> str:
    """Each row with its verdict: ``accepted``, ``late``, ``future`` or the malformed reason."""
    f = field_expressions()
    window_ms = settings.window_seconds * 1000
    window_end = f"TO_TIMESTAMP_LTZ((FLOOR(ts_ms / {window_ms}) + 1) * {window_ms}, 3)"
    future_ms = settings.max_future_seconds * 1000
    columns = ", ".join(f"{expression} AS {name}" for name, expression in f.items())
    return f"""
    CREATE TEMPORARY VIEW classified AS
    SELECT line, ts, service, peer, duration_ms, COALESCE(error_flag, FALSE) AS failed,
        CASE
            WHEN malformed IS NOT NULL THEN malformed
            WHEN TO_TIMESTAMP_LTZ(ts_ms, 3) > {_clock_sql(settings)} + {_ms_literal(future_ms)} THEN 'future'
            WHEN CURRENT_WATERMARK(ts) IS NOT NULL AND ts > CURRENT_WATERMARK(ts) + {_ms_literal(future_ms + 1)}
                THEN 'future'
            WHEN CURRENT_WATERMARK(ts) IS NOT NULL AND {window_end} <= CURRENT_WATERMARK(ts) + INTERVAL '0.001' SECOND
                THEN 'late'
            ELSE 'accepted'
        END AS verdict
    FROM (SELECT line, ts, {columns}, {validity_sql(f)} AS malformed FROM {source})"""


def _bucket_sums(bounds: Sequence[float]) -> list[str]:
    columns = []
    for i in range(len(bounds) + 1):
        lower = f"duration_ms > {_number(bounds[i - 1])}" if i > 0 else "TRUE"
        upper = f"duration_ms <= {_number(bounds[i])}" if i < len(bounds) else "TRUE"
        columns.append(f"SUM(CASE WHEN role = 'self' AND {lower} AND {upper} THEN 1 ELSE 0 END) AS b{i}")
    return columns


def _quantile_sql(bounds: Sequence[float], q: float) -> str:
    """``slo_engine.slo.sli.histogram_quantile`` over the window's buckets b0..bN, same float operations."""
    n = len(bounds)
    cumulative = [" + ".join(f"CAST(b{j} AS DOUBLE)" for j in range(i + 1)) for i in range(n + 1)]
    rank = f"({_number(q)} * ({cumulative[n]}))"
    branches = []
    for i in range(n):
        lower = _number(bounds[i - 1]) if i > 0 else "0.0"
        upper = _number(bounds[i])
        before = f"({cumulative[i - 1]})" if i > 0 else "0.0"
        in_bucket = f"(({cumulative[i]}) - {before})"
        value = f"{lower} + ({upper} - {lower}) * ({rank} - {before}) / {in_bucket}"
        branches.append(f"WHEN ({cumulative[i]}) >= {rank} THEN {value}")
    return f"CASE WHEN requests = 0 THEN CAST(NULL AS DOUBLE) {' '.join(branches)} ELSE {_number(bounds[-1])} END"


def _json_double(expression: str) -> str:
    return f"COALESCE(CAST({expression} AS STRING), 'null')"


def snapshot_query_sql(settings: JobSettings) -> str:
    """Accepted rows -> per (window, service, role, peer) counts -> one snapshot JSON line per (window, service)."""
    interval = f"INTERVAL '{settings.window_seconds}' SECOND"
    bounds = settings.bounds
    bucket_cols = ", ".join(_bucket_sums(bounds))
    buckets = [f"b{i}" for i in range(len(bounds) + 1)]
    edge_piece = "JSON_STRING(other) || ':{{\"requests\":' || CAST(n AS STRING) || ',\"errors\":' || CAST(e AS STRING) || '}}'"
    edges = (
        "'{{' || COALESCE(LISTAGG(CASE WHEN role = '{role}' THEN " + edge_piece + " END, ','), '') || '}}'"
    )
    quantiles = {q: _quantile_sql(bounds, q) for q in settings.quantiles}
    bounds_json = json.dumps([float(b) for b in bounds])
    counts_json = " || ',' || ".join(f"CAST({b} AS STRING)" for b in buckets)
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
            {", ".join(f"SUM({b}) AS {b}" for b in buckets)},
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
        || ',"error_pct":' || {_json_double("CASE WHEN requests = 0 THEN CAST(NULL AS DOUBLE) ELSE 100.0E0 * errors / requests END")}
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


def statements(
    settings: JobSettings,
    source_options: dict[str, str],
    snapshot_sink_options: dict[str, str],
    side_sink_options: dict[str, str],
) -> tuple[list[str], list[str]]:
    """(DDL to execute, INSERTs to run together in one statement set)."""
    def sink(name: str, column: str, options: dict[str, str]) -> str:
        rendered = ", ".join(f"{_sql_string(k)} = {_sql_string(v)}" for k, v in options.items())
        return f"CREATE TEMPORARY TABLE {name} ({column} STRING) WITH ({rendered})"

    ddl = [
        source_ddl("events", source_options, settings),
        classified_view_sql("events", settings),
        sink("snapshot_sink", "snapshot", snapshot_sink_options),
        sink("side_output", "rejected", side_sink_options),
    ]
    inserts = [
        f"INSERT INTO snapshot_sink {snapshot_query_sql(settings)}",
        f"INSERT INTO side_output {side_output_query_sql()}",
    ]
    return ddl, inserts


def table_environment(parallelism: int = 1) -> Any:
    """A streaming TableEnvironment on the local mini-cluster: UTC, watermark after every event, one task."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    config.set("table.local-time-zone", "UTC")
    config.set("parallelism.default", str(parallelism))
    # 0 = no periodic timer: the watermark assigner emits as soon as the watermark moves (deterministic order).
    config.set("pipeline.auto-watermark-interval", "0 ms")
    config.set("table.exec.source.idle-timeout", "0 ms")
    return env


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
    ddl, inserts = statements(
        settings, _file_options(Path(events_path)), _file_options(parts_snapshots), _file_options(parts_side)
    )
    env = table_environment()
    for statement in ddl:
        env.execute_sql(statement)
    statement_set = env.create_statement_set()
    for insert in inserts:
        statement_set.add_insert_sql(insert)
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
