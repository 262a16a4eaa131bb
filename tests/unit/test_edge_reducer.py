"""The Python edge reducer: log levels of real-world formats, the keep/drop rule, spans to RawEvent records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slo_engine.ingest.edge_reducer import SpanReduction, classify_line, reduce_log_lines, reduce_spans
from slo_engine.models.snapshot import RawEvent

REAL_WORLD_LINES = [
    ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties", "INFO"),
    ("[Sun Dec 04 04:51:18 2005] [error] mod_jk child workerEnv in error state 6", "ERROR"),
    ("[Wed Oct 11 14:32:52.123456 2000] [core:warn] [pid 35708:tid 4328636416] AH00111: Config variable", "WARN"),
    ("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster", "INFO"),
    ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_388 terminating", "INFO"),
    ("081109 204005 35 WARN dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated", "WARN"),
    (
        "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server "
        '[req-38101a0b] 10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1"',
        "INFO",
    ),
    ("17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers", "INFO"),
    ("2015-10-18 18:01:47,978 error [main] lowercase level after the timestamp", "ERROR"),
    ("2024-01-01 12:00:00,123 - app - CRITICAL - database down", "FATAL"),
    ("WARNING:root:disk almost full", "WARN"),
    ('level=debug msg="cache miss" key=42', "DEBUG"),
    ('{"level": "Warn", "msg": "slow"}', "WARN"),
    ('{"severity": "TRACE", "msg": "enter"}', "TRACE"),
    ("E1109 20:36:15.123456  1234 main.cc:12] check failed", "ERROR"),
]


@pytest.mark.parametrize(("line", "level"), REAL_WORLD_LINES)
def test_the_level_of_common_log_formats_is_recognised(line: str, level: str) -> None:
    assert classify_line(line) == level


def test_a_level_word_inside_the_message_is_not_taken_for_the_level() -> None:
    assert classify_line("Connection reset while reading the info page") is None


def test_info_and_below_are_dropped_warn_and_above_kept_and_unparsed_lines_kept() -> None:
    report, kept = reduce_log_lines(["x INFO a", "x DEBUG b", "x WARN c", "x ERROR d", "no level here", ""])
    assert report.as_dict() == {
        "lines": 5,
        "kept": 3,
        "dropped": 2,
        "by_level": {"DEBUG": 1, "INFO": 1, "WARN": 1, "ERROR": 1},
        "unparsed": 1,
    }
    assert kept == ["x WARN c", "x ERROR d", "no level here"]


def test_edge_reduce_cli_prints_the_contract_fields(tmp_path: Path) -> None:
    logs = tmp_path / "app.log"
    logs.write_text("\n".join(line for line, _ in REAL_WORLD_LINES) + "\nplain text\n\xff\xfe broken bytes\n")
    done = subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", "edge-reduce", "--logs", str(logs), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(done.stdout)
    assert set(answer) == {"lines", "kept", "dropped", "by_level", "unparsed"}
    assert answer["lines"] == len(REAL_WORLD_LINES) + 2
    assert answer["kept"] + answer["dropped"] == answer["lines"]
    assert answer["unparsed"] == 2


def test_edge_reduce_cli_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", "edge-reduce", "--logs", str(tmp_path / "missing.log")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no such file" in done.stderr


def test_server_and_client_spans_become_raw_events() -> None:
    spans = [
        {"service.name": "cart", "kind": "SPAN_KIND_SERVER", "start_time_unix_nano": 1_793_491_200_123_456_789,
         "end_time_unix_nano": 1_793_491_200_173_456_789, "status": {"code": "STATUS_CODE_ERROR"}},
        {"service": "cart", "kind": "client", "peer": "payments", "timestamp": "2026-11-01T00:00:01Z",
         "duration_ms": 12.5},
    ]  # fmt: skip
    events = list(reduce_spans(spans))
    assert events[0] == {
        "service": "cart",
        "timestamp": "2026-11-01T00:00:00.123Z",
        "duration_ms": pytest.approx(50.0),
        "error": True,
        "peer": None,
    }
    assert events[1]["peer"] == "payments" and events[1]["error"] is False
    for event in events:
        RawEvent.model_validate(event)


def test_otlp_attribute_lists_are_read() -> None:
    span = {
        "kind": 3,
        "attributes": [
            {"key": "service.name", "value": {"stringValue": "web"}},
            {"key": "peer.service", "value": {"stringValue": "auth"}},
        ],
        "start_time_unix_nano": "1793491200000000000",
        "end_time_unix_nano": "1793491200004000000",
    }
    (event,) = reduce_spans([span])
    assert (event["service"], event["peer"], event["duration_ms"]) == ("web", "auth", 4.0)


def test_spans_that_are_not_requests_are_counted_with_their_reason() -> None:
    report = SpanReduction()
    spans = [
        {"service": "cart", "kind": "internal", "timestamp": "2026-11-01T00:00:00Z", "duration_ms": 1},
        {"service": "cart", "kind": "client", "timestamp": "2026-11-01T00:00:00Z", "duration_ms": 1},
        {"kind": "server", "timestamp": "2026-11-01T00:00:00Z", "duration_ms": 1},
        {"service": "cart", "kind": "server", "timestamp": "2026-11-01T00:00:00Z", "duration_ms": -3},
        "not a span",
    ]
    assert list(reduce_spans(spans, report)) == []  # type: ignore[arg-type]
    assert report.spans == 5 and report.events == 0
    assert report.skipped == {
        "internal span (not a request)": 1,
        "client span without peer.service": 1,
        "no service name": 1,
        "invalid duration_ms": 1,
        "not an object": 1,
    }


# ---- the collector sidecar configuration (otel/collector.yaml) --------------------------------------------------

COLLECTOR = Path(__file__).resolve().parents[2] / "otel" / "collector.yaml"


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(COLLECTOR.read_text(encoding="utf-8"))


def test_every_pipeline_component_is_defined_in_its_section(collector: dict[str, Any]) -> None:
    connectors = set(collector.get("connectors", {}))
    for name, pipeline in collector["service"]["pipelines"].items():
        for role, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")):
            defined = set(collector.get(section, {})) | (connectors if role != "processors" else set())
            missing = set(pipeline.get(role, [])) - defined
            assert not missing, f"pipeline {name} uses undefined {role}: {sorted(missing)}"


def test_every_connector_is_an_exporter_of_one_pipeline_and_a_receiver_of_another(collector: dict[str, Any]) -> None:
    pipelines = collector["service"]["pipelines"].values()
    for connector in collector["connectors"]:
        assert any(connector in p.get("exporters", []) for p in pipelines), connector
        assert any(connector in p.get("receivers", []) for p in pipelines), connector


def test_the_log_filter_drops_below_warn_but_keeps_logs_without_a_severity(collector: dict[str, Any]) -> None:
    (condition,) = collector["processors"]["filter/drop_below_warn"]["logs"]["log_record"]
    assert "severity_number < SEVERITY_NUMBER_WARN" in condition
    assert "severity_number != SEVERITY_NUMBER_UNSPECIFIED" in condition


def test_span_histograms_use_the_snapshot_bucket_bounds(collector: dict[str, Any]) -> None:
    from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS

    def milliseconds(text: str) -> float:
        return float(text[:-2]) if text.endswith("ms") else float(text[:-1]) * 1000

    buckets = collector["connectors"]["spanmetrics"]["histogram"]["explicit"]["buckets"]
    assert [milliseconds(b) for b in buckets] == list(DEFAULT_LATENCY_BOUNDS_MS)
    assert collector["connectors"]["spanmetrics"]["histogram"]["unit"] == "ms"


def test_the_stream_gets_exactly_what_the_snapshot_job_reads(collector: dict[str, Any]) -> None:
    """The sidecar and the job meet on the stream: the delta duration histogram, flushed once per window, named as
    ``slo_engine.ingest.otlp`` expects, with the caller's peer.service, and nothing else."""
    from slo_engine.ingest.otlp import DURATION_METRIC
    from slo_engine.models.snapshot import SNAPSHOT_WINDOW_SECONDS

    spanmetrics = collector["connectors"]["spanmetrics"]
    assert f"{spanmetrics['namespace']}.duration" == DURATION_METRIC
    assert spanmetrics["aggregation_temporality"] == "AGGREGATION_TEMPORALITY_DELTA"
    assert spanmetrics["metrics_flush_interval"] == f"{SNAPSHOT_WINDOW_SECONDS}s"
    assert {"name": "peer.service"} in spanmetrics["dimensions"]
    streams = [p for p in collector["service"]["pipelines"].values() if "awskinesis" in p["exporters"]]
    assert streams == [collector["service"]["pipelines"]["metrics/aggregates"]]
    assert streams[0]["receivers"] == ["spanmetrics"] and "filter/snapshot_inputs" in streams[0]["processors"]
    kept = collector["processors"]["filter/snapshot_inputs"]["metrics"]
    assert kept["metric"] == [f'name != "{DURATION_METRIC}"']
    assert collector["exporters"]["awskinesis"]["encoding"]["name"] == "otlp_json"


def test_tail_sampling_keeps_errors_and_slow_traces(collector: dict[str, Any]) -> None:
    policies = {p["type"]: p for p in collector["processors"]["tail_sampling"]["policies"]}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    assert policies["latency"]["latency"]["threshold_ms"] > 0
