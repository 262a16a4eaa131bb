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


_NO_ROW = "CAST(NULL AS STRING)"
_BAD = "CAST('!' AS STRING)"
"""Markers in the OTLP flattening: NULL (a raw-event line: one row, no OTLP level) and ``!`` (a level that is not a
list of objects: one ``invalid OTLP`` row stands for it)."""

SERVED_KINDS = ("SPAN_KIND_SERVER", "SPAN_KIND_CONSUMER")
CALLING_KINDS = ("SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER")
DELTA_SPELLINGS = ("1", "AGGREGATION_TEMPORALITY_DELTA")
UNIT_SCALE = {"ms": 1.0, "s": 1000.0}
BOUND_TOLERANCE = 1e-9
"""Mirrors ``slo_engine.ingest.otlp`` (the sidecar's OTLP JSON aggregates), rule for rule."""


def _sql_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(_sql_string(v) for v in values) + ")"


def _attribute_sql(json_column: str, key: str, attributes_path: str) -> str:
    """The string value of OTLP attribute ``key`` in the attribute list at ``attributes_path`` (NULL if absent)."""
    path = f"{attributes_path}[?(@.key == ''{key}'')].value.stringValue"
    return f"JSON_VALUE(JSON_QUERY({json_column}, '{path}'), '$[0]')"


def _level_sql(parent: str, path: str) -> str:
    """The elements of the array at ``path`` of ``parent`` (one ``!`` if it is not an array), for CROSS JOIN UNNEST;
    one NULL for raw-event lines."""
    return (
        f"CASE WHEN NOT is_otlp THEN ARRAY[{_NO_ROW}] WHEN {parent} IS NULL OR {parent} = '!' THEN ARRAY[{_BAD}] "
        f"ELSE COALESCE(JSON_QUERY({parent}, '{path}' RETURNING ARRAY<STRING>), ARRAY[{_BAD}]) END"
    )


def parse_sql(source: str, bounds: Sequence[float]) -> str:
    """Stage one: every line parsed once into string fields (NULL where absent).

    A raw-event line gives one row. An OTLP export is flattened (resource, scope, metric, data point) with CROSS
    JOIN UNNEST in document order, each level's fields read once per element of that level; a level that is not a
    list gives one row marked ``!`` (``invalid OTLP``), an empty list none.
    """
    line_fields = "line, is_json, is_object, is_otlp"
    raw = {
        "service": "JSON_VALUE(line, '$.service')",
        "peer": "NULLIF(JSON_VALUE(line, '$.peer'), '')",
        "stamp": "JSON_VALUE(line, '$.timestamp')",
        "duration_ms": "TRY_CAST(JSON_VALUE(line, '$.duration_ms') AS DOUBLE)",
        "has_error": "POSITION('\"error\"' IN line) > 0 AND JSON_EXISTS(line, '$.error')",
        "error_text": "LOWER(JSON_VALUE(line, '$.error'))",
    }
    raw_types = {"has_error": "BOOLEAN", "duration_ms": "DOUBLE"}
    raw_columns = ", ".join(
        f"CASE WHEN is_otlp THEN CAST(NULL AS {raw_types.get(name, 'STRING')}) ELSE {sql} END AS {name}"
        for name, sql in raw.items()
    )
    metric_fields = "resource_service, metric_bad, metric_name, metric_unit, has_histogram, temporality"
    point = {
        "point_service": _attribute_sql("p", "service.name", "$.attributes"),
        "point_kind": _attribute_sql("p", "span.kind", "$.attributes"),
        "point_status": _attribute_sql("p", "status.code", "$.attributes"),
        "point_peer": _attribute_sql("p", "peer.service", "$.attributes"),
        "point_start": "JSON_VALUE(p, '$.startTimeUnixNano')",
        "point_time": "JSON_VALUE(p, '$.timeUnixNano')",
        "point_count": "JSON_VALUE(p, '$.count')",
        "bucket_counts": "JSON_QUERY(p, '$.bucketCounts' RETURNING ARRAY<STRING>)",
        "point_bounds": "JSON_QUERY(p, '$.explicitBounds' RETURNING ARRAY<STRING>)",
    }
    point_columns = ", ".join(f"{sql} AS {name}" for name, sql in point.items())
    return f"""
    SELECT {line_fields}, {raw_columns}, {metric_fields}, p, p IS JSON OBJECT AS point_is_object, {point_columns}
    FROM (
        SELECT {line_fields}, resource_service, m,
            is_otlp AND (m IS NULL OR m = '!' OR NOT (m IS JSON OBJECT)) AS metric_bad,
            JSON_VALUE(m, '$.name') AS metric_name,
            JSON_VALUE(m, '$.unit') AS metric_unit,
            JSON_EXISTS(m, '$.histogram') AS has_histogram,
            JSON_VALUE(m, '$.histogram.aggregationTemporality') AS temporality
        FROM (
            SELECT {line_fields}, resource_service, sm
            FROM (
                SELECT {line_fields}, rm,
                    CASE WHEN rm IS NULL OR rm = '!' THEN CAST(NULL AS STRING)
                        ELSE {_attribute_sql("rm", "service.name", "$.resource.attributes")} END AS resource_service
                FROM (
                    SELECT line, line IS JSON AS is_json, line IS JSON OBJECT AS is_object,
                        POSITION('"resourceMetrics"' IN line) > 0 AND JSON_EXISTS(line, '$.resourceMetrics')
                            AS is_otlp
                    FROM {source}
                ) CROSS JOIN UNNEST({_level_sql("line", "$.resourceMetrics")}) AS R(rm)
            ) CROSS JOIN UNNEST({_level_sql("rm", "$.scopeMetrics")}) AS S(sm)
        ) CROSS JOIN UNNEST({_level_sql("sm", "$.metrics")}) AS M(m)
    ) CROSS JOIN UNNEST(
        CASE WHEN NOT is_otlp THEN ARRAY[{_NO_ROW}] WHEN metric_bad THEN ARRAY[{_BAD}]
        ELSE COALESCE(JSON_QUERY(m, '$.histogram.dataPoints' RETURNING ARRAY<STRING>), ARRAY[{_BAD}]) END
    ) AS P(p)"""


def _parsed_schema(bounds: Sequence[float]) -> list[tuple[str, str]]:
    """Stage one's columns and their types (materialised by the DataStream hop)."""
    columns = [("line", "STRING"), ("is_json", "BOOLEAN"), ("is_object", "BOOLEAN"), ("is_otlp", "BOOLEAN")]
    columns += [("service", "STRING"), ("peer", "STRING"), ("stamp", "STRING"), ("duration_ms", "DOUBLE")]
    columns += [("has_error", "BOOLEAN"), ("error_text", "STRING")]
    columns += [("resource_service", "STRING"), ("metric_bad", "BOOLEAN"), ("metric_name", "STRING")]
    columns += [("metric_unit", "STRING"), ("has_histogram", "BOOLEAN"), ("temporality", "STRING")]
    columns += [("p", "STRING"), ("point_is_object", "BOOLEAN")]
    columns += [(name, "STRING") for name in ("point_service", "point_kind", "point_status", "point_peer")]
    columns += [(name, "STRING") for name in ("point_start", "point_time", "point_count")]
    return [*columns, ("bucket_counts", "ARRAY<STRING>"), ("point_bounds", "ARRAY<STRING>")]


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


def _otlp_validity_sql(bounds: Sequence[float]) -> str:
    """Why an OTLP row is refused (NULL: a usable data point), checks in ``slo_engine.ingest.otlp``'s order."""
    digits19, digits18 = _sql_string("^[0-9]{1,19}$"), _sql_string("^[0-9]{1,18}$")
    n = len(bounds) + 1
    counts_ok = " AND ".join(f"REGEXP(COALESCE(b{i}, ''), {digits18})" for i in range(n))
    counts_sum = " + ".join(f"TRY_CAST(b{i} AS BIGINT)" for i in range(n))
    scale = "CASE WHEN metric_unit = 's' THEN 1000.0E0 ELSE 1.0E0 END"
    bounds_differ = " OR ".join(
        f"COALESCE(ABS(TRY_CAST(e{i} AS DOUBLE) * {scale} - {_number(b)}) > {_number(BOUND_TOLERANCE * b)}, TRUE)"
        for i, b in enumerate(bounds)
    )
    start = f"IF(REGEXP(COALESCE(point_start, ''), {digits19}), TRY_CAST(point_start AS BIGINT), CAST(NULL AS BIGINT))"
    end = f"IF(REGEXP(COALESCE(point_time, ''), {digits19}), TRY_CAST(point_time AS BIGINT), CAST(NULL AS BIGINT))"
    service = "COALESCE(point_service, resource_service)"
    duration = "(metric_name = 'duration' OR metric_name LIKE '%.duration')"
    return f"""CASE
        WHEN metric_bad THEN 'invalid OTLP'
        WHEN NOT COALESCE(has_histogram AND {duration}, FALSE) THEN 'unsupported metric'
        WHEN p IS NULL OR p = '!' OR NOT point_is_object THEN 'invalid OTLP'
        WHEN metric_unit IS NULL OR metric_unit NOT IN {_sql_list(list(UNIT_SCALE))} THEN 'invalid unit'
        WHEN temporality IS NULL OR temporality NOT IN {_sql_list(DELTA_SPELLINGS)} THEN 'invalid temporality'
        WHEN {service} IS NULL OR CHAR_LENGTH({service}) < 1 OR CHAR_LENGTH({service}) > 256 THEN 'invalid service'
        WHEN {start} IS NULL OR {end} IS NULL OR {end} = 0 OR {start} > {end} THEN 'invalid timestamp'
        WHEN point_kind IN {_sql_list(CALLING_KINDS)}
            AND (point_peer IS NULL OR CHAR_LENGTH(point_peer) < 1 OR CHAR_LENGTH(point_peer) > 256)
            THEN 'invalid peer.service'
        WHEN point_kind IS NULL OR point_kind NOT IN {_sql_list(SERVED_KINDS + CALLING_KINDS)}
            THEN 'unsupported span kind'
        WHEN NOT REGEXP(COALESCE(point_count, ''), {digits18}) OR COALESCE(bucket_n, 0) <> {n} OR NOT ({counts_ok})
            OR {counts_sum} <> TRY_CAST(point_count AS BIGINT) THEN 'invalid histogram'
        WHEN COALESCE(bound_n, 0) <> {len(bounds)} OR {bounds_differ} THEN 'histogram bounds differ'
        ELSE CAST(NULL AS STRING) END"""


def weighted_rows_sql(source: str, bounds: Sequence[float]) -> str:
    """Stage two: every parsed row as one weighted row: ``n`` calls at ``ts_ms``, ``e`` of them failed, and for a
    served row its cumulative histogram ``cu0..``; ``malformed`` says why a row is refused (NULL: it is usable).

    A raw event weighs 1; an OTLP data point weighs its ``count``.
    """
    calling = f"point_kind IN {_sql_list(CALLING_KINDS)}"
    raw_cumulative = [f"CASE WHEN peer IS NULL AND duration_ms <= {_number(b)} THEN 1 ELSE 0 END" for b in bounds]
    bucket = [f"COALESCE(TRY_CAST(b{j} AS BIGINT), 0)" for j in range(len(bounds))]
    otlp_cumulative = [f"CASE WHEN {calling} THEN 0 ELSE {' + '.join(bucket[: i + 1])} END" for i in range(len(bounds))]
    cumulative = ",\n        ".join(
        f"CAST(CASE WHEN is_otlp THEN {o} ELSE {r} END AS BIGINT) AS cu{i}"
        for i, (r, o) in enumerate(zip(raw_cumulative, otlp_cumulative, strict=True))
    )
    count = "COALESCE(TRY_CAST(point_count AS BIGINT), 0)"
    otlp_ts = "(TRY_CAST(point_start AS BIGINT) / 1000000 + TRY_CAST(point_time AS BIGINT) / 1000000) / 2"
    n_buckets = len(bounds) + 1
    point_fields = ",\n            ".join(
        [
            *(f"bucket_counts[{i + 1}] AS b{i}" for i in range(n_buckets)),
            "CARDINALITY(bucket_counts) AS bucket_n",
            *(f"point_bounds[{i + 1}] AS e{i}" for i in range(len(bounds))),
            "CARDINALITY(point_bounds) AS bound_n",
        ]
    )
    return f"""
    SELECT
        CASE WHEN is_otlp AND p IS NOT NULL AND p <> '!' THEN p ELSE line END AS record,
        CASE WHEN is_otlp THEN COALESCE(point_service, resource_service) ELSE service END AS subject,
        CASE WHEN is_otlp THEN IF({calling}, point_peer, CAST(NULL AS STRING)) ELSE peer END AS peer,
        CASE WHEN is_otlp THEN {otlp_ts} ELSE {epoch_ms_sql()} END AS ts_ms,
        CAST(CASE WHEN is_otlp THEN {count} ELSE 1 END AS BIGINT) AS n,
        CAST(CASE WHEN is_otlp THEN IF(point_status = 'STATUS_CODE_ERROR', {count}, 0)
            WHEN COALESCE({_ERROR_FLAG_SQL}, FALSE) THEN 1 ELSE 0 END AS BIGINT) AS e,
        {cumulative},
        CASE WHEN is_otlp THEN {_otlp_validity_sql(bounds)} ELSE {validity_sql()} END AS malformed
    FROM (SELECT *, {point_fields} FROM {source})"""


def _weighted_schema(bounds: Sequence[float]) -> list[tuple[str, str]]:
    columns = [("record", "STRING"), ("subject", "STRING"), ("peer", "STRING"), ("ts_ms", "BIGINT")]
    columns += [("n", "BIGINT"), ("e", "BIGINT")]
    columns += [(f"cu{i}", "BIGINT") for i in range(len(bounds))]
    return [*columns, ("malformed", "STRING")]


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
    return "TO_TIMESTAMP_LTZ(COALESCE(ts_ms, 0), 3)"


def classified_view_sql(source: str, settings: JobSettings) -> str:
    """Each weighted row with its verdict: ``accepted``, ``late``, ``future`` or the malformed reason."""
    window_ms = settings.window_seconds * 1000
    window_end = f"TO_TIMESTAMP_LTZ((FLOOR(ts_ms / {window_ms}) + 1) * {window_ms}, 3)"
    future_ms = settings.max_future_seconds * 1000
    return f"""
    CREATE TEMPORARY VIEW classified AS
    SELECT record, ts, subject AS service, peer, n, e, {", ".join(f"cu{i}" for i in range(len(settings.bounds)))},
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
    """cu_i: served calls at or under bounds[i] (the histogram's cumulative counts; the total is ``requests``).
    Rows of calls to a peer carry zeros."""
    return [f"SUM(cu{i}) AS cu{i}" for i in range(len(bounds))]


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
    cumulative_list = ", ".join(cumulative)
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
        SELECT ts, service AS subject, '' AS other, 'self' AS role, n, e, {cumulative_list}
        FROM classified WHERE verdict = 'accepted' AND peer IS NULL
        UNION ALL
        SELECT ts, service AS subject, peer AS other, 'down' AS role, n, e, {cumulative_list}
        FROM classified WHERE verdict = 'accepted' AND peer IS NOT NULL
        UNION ALL
        SELECT ts, peer AS subject, service AS other, 'up' AS role, n, e, {cumulative_list}
        FROM classified WHERE verdict = 'accepted' AND peer IS NOT NULL
    ),
    cells AS (
        SELECT window_time AS cell_time, subject, role, other,
            SUM(n) AS n, SUM(e) AS e, {bucket_cols}
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
    SELECT '{"reason":' || JSON_STRING(verdict) || ',"record":' || JSON_STRING(COALESCE(record, '')) || '}' AS rejected
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

    Stage one parses every line once (SQL; OTLP exports flattened to one row per data point), stage two turns each
    row into a weighted row with its malformed reason, stage three classifies and folds. The DataStream hops between
    the stages materialise each stage's row, so that later expressions read fields instead of parsing the JSON again
    (all in the JVM).
    """
    from pyflink.table import DataTypes, Schema

    types = {"STRING": DataTypes.STRING(), "BOOLEAN": DataTypes.BOOLEAN()}
    types |= {
        "DOUBLE": DataTypes.DOUBLE(),
        "BIGINT": DataTypes.BIGINT(),
        "ARRAY<STRING>": DataTypes.ARRAY(DataTypes.STRING()),
    }

    def materialised(table: Any, columns: list[tuple[str, str]], with_watermark: bool = False) -> Any:
        builder = Schema.new_builder()
        for name, kind in columns:
            builder = builder.column(name, types[kind])
        if with_watermark:
            builder = builder.column_by_expression("ts", event_time_sql()).watermark("ts", watermark_sql(settings))
        return t_env.from_data_stream(t_env.to_data_stream(table), builder.build())

    t_env.execute_sql(_create_table_sql("raw_events", "line STRING", source_options))
    parsed = t_env.sql_query(parse_sql("raw_events", settings.bounds))
    t_env.create_temporary_view("parsed_rows", materialised(parsed, _parsed_schema(settings.bounds)))
    weighted = t_env.sql_query(weighted_rows_sql("parsed_rows", settings.bounds))
    t_env.create_temporary_view("events", materialised(weighted, _weighted_schema(settings.bounds), True))
    t_env.execute_sql(classified_view_sql("events", settings))
    t_env.execute_sql(_create_table_sql("snapshot_sink", "snapshot STRING", snapshot_sink_options))
    t_env.execute_sql(_create_table_sql("side_output", "rejected STRING", side_sink_options))
    statement_set = t_env.create_statement_set()
    statement_set.add_insert_sql(f"INSERT INTO snapshot_sink {snapshot_query_sql(settings)}")
    statement_set.add_insert_sql(f"INSERT INTO side_output {side_output_query_sql()}")
    return statement_set


def stream_table_environment(parallelism: int | None = 1) -> Any:
    """A streaming table environment: UTC, a watermark emitted whenever it moves, ``parallelism`` tasks (None: the
    cluster's default).

    Each source task has its own watermark: lateness is judged per shard, in the shard's own order, and the windows
    add the shards up (the job equals the aggregator run per shard, summed; one shard: the aggregator itself).
    """
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import EnvironmentSettings, StreamTableEnvironment

    configuration = Configuration()
    configuration.set_string("table.local-time-zone", "UTC")
    configuration.set_string("pipeline.auto-watermark-interval", "0 ms")
    configuration.set_string("pipeline.object-reuse", "true")  # SQL operators never hold on to a row they emitted
    env = StreamExecutionEnvironment.get_execution_environment(configuration)
    if parallelism is not None:  # None: the cluster's default (in Managed Flink, its parallelism configuration)
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


def run_local(
    events_path: str | Path, out_dir: str | Path, settings: JobSettings | None = None, parallelism: int = 1
) -> LocalRunReport:
    """Run the job over a JSON Lines file (or a folder of them: one partition each, like the shards of a stream) in
    the mini-cluster; write ``snapshots.jsonl`` and ``rejected.jsonl``."""
    import time

    began = time.perf_counter()
    settings = settings or JobSettings()
    out = Path(out_dir)
    parts_snapshots, parts_side = out / "parts-snapshots", out / "parts-rejected"
    for stale in (parts_snapshots, parts_side):  # part files of an earlier run would be read again
        shutil.rmtree(stale, ignore_errors=True)
    statement_set = build_job(
        stream_table_environment(parallelism),
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
