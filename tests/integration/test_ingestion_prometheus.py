"""A real Prometheus (Debian package, 127.0.0.1, temp data dir, remote-write receiver): snapshots written through
the sink read back exactly with PromQL, replays change nothing, and the recommender agrees with the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ingestion_support import PrometheusServer, start_prometheus

from slo_engine.adapters.prometheus import (
    PrometheusError,
    PrometheusMetricStore,
    PromQLClient,
    RemoteWriteClient,
    TimeSeries,
)
from slo_engine.ingest.sink import SnapshotSink
from slo_engine.models.snapshot import ServiceSnapshot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("prometheus")]

END = 1_793_491_200  # 2026-11-01T00:00:00Z
SERVICES = ("checkout", "payments")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    yield from start_prometheus(tmp_path_factory.mktemp("prometheus"))


@pytest.fixture(scope="module")
def history() -> list[ServiceSnapshot]:
    """One day of 5-minute snapshots of two services of the sample fleet, their edges kept between them."""
    from slo_engine.embedded.fleet import generate_fleet

    fleet = generate_fleet(seed=7, days=1, step_seconds=300, end_epoch=END)
    snapshots = []
    for record in fleet.snapshot_records(step_seconds=300):
        if record["service"] in SERVICES:
            record["upstream"] = {k: v for k, v in record["upstream"].items() if k in SERVICES}
            record["downstream"] = {k: v for k, v in record["downstream"].items() if k in SERVICES}
            snapshots.append(ServiceSnapshot.model_validate(record))
    return snapshots


@pytest.fixture(scope="module")
def loaded(prometheus: PrometheusServer, history: list[ServiceSnapshot]) -> PromQLClient:
    sink = SnapshotSink(RemoteWriteClient(f"{prometheus.url}/api/v1/write"), archive=None, edges=None)
    report = sink.write(history)
    assert report.written == len(history)
    return PromQLClient(prometheus.url)


def last_ms(history: list[ServiceSnapshot]) -> float:
    return max(s.epoch_seconds + s.window_seconds for s in history) - 0.001


def span(history: list[ServiceSnapshot]) -> int:
    return round(last_ms(history) + 0.001 - min(s.epoch_seconds for s in history))


def test_increase_over_the_history_equals_the_written_request_and_error_counts(
    loaded: PromQLClient, history: list[ServiceSnapshot]
) -> None:
    at, window = last_ms(history), span(history)
    for service in SERVICES:
        mine = [s for s in history if s.service == service]
        requests = loaded.scalar(f'sum(increase(slo_requests_total{{service="{service}"}}[{window}s]))', at)
        errors = loaded.scalar(f'sum(increase(slo_errors_total{{service="{service}"}}[{window}s]))', at)
        assert (requests, errors) == (sum(s.requests for s in mine), sum(s.errors for s in mine))


def test_rate_is_the_increase_per_second(loaded: PromQLClient, history: list[ServiceSnapshot]) -> None:
    at, window = last_ms(history), span(history)
    rate = loaded.scalar(f'sum(rate(slo_requests_total{{service="checkout"}}[{window}s]))', at)
    total = sum(s.requests for s in history if s.service == "checkout")
    assert rate == pytest.approx(total / window, rel=1e-12)


def test_histogram_quantile_of_the_written_buckets_matches_the_merged_histogram(
    loaded: PromQLClient, history: list[ServiceSnapshot]
) -> None:
    from slo_engine.slo.sli import histogram_quantile

    at, window = last_ms(history), span(history)
    mine = [s for s in history if s.service == "payments" and s.latency_ms is not None]
    merged = [sum(column) for column in zip(*(s.latency_ms.counts for s in mine), strict=True)]  # type: ignore[union-attr]
    expected = histogram_quantile(merged, mine[0].latency_ms.bounds, 0.99)  # type: ignore[union-attr]
    p99 = loaded.scalar(
        "histogram_quantile(0.99, sum by (le) "
        f'(increase(slo_request_duration_ms_bucket{{service="payments"}}[{window}s])))',
        at,
    )
    assert p99 == pytest.approx(expected, rel=1e-9)


def test_replaying_the_same_snapshots_changes_no_count(
    prometheus: PrometheusServer, loaded: PromQLClient, history: list[ServiceSnapshot]
) -> None:
    at, window = last_ms(history), span(history)
    query = f'sum(increase(slo_requests_total{{service="checkout"}}[{window}s]))'
    before = loaded.scalar(query, at)
    RemoteWriteClient(f"{prometheus.url}/api/v1/write").write_snapshots(history[: len(history) // 2])
    assert loaded.scalar(query, at) == before


def test_a_refused_remote_write_raises_with_the_status(prometheus: PrometheusServer) -> None:
    with pytest.raises(PrometheusError, match="404"):
        RemoteWriteClient(f"{prometheus.url}/api/v1/nowhere").write([TimeSeries((("__name__", "x"),), ((1, 1.0),))])


def test_the_prometheus_store_reads_back_the_series_the_embedded_store_holds(
    loaded: PromQLClient, history: list[ServiceSnapshot]
) -> None:
    from slo_engine.embedded.metric_store import SqliteMetricStore

    embedded = SqliteMetricStore(resolution_seconds=300)
    embedded.write_snapshots(history)
    remote = PrometheusMetricStore(loaded, resolution_seconds=300, now=lambda: END)
    assert remote.services() == sorted(SERVICES)
    for service in SERVICES:
        mine, theirs = remote.series(service), embedded.series(service)
        first = (mine.start - theirs.start) // 300
        assert (theirs.requests[first : first + len(mine)] == mine.requests).all()
        assert (theirs.latency_counts[first : first + len(mine)] == mine.latency_counts).all()
        assert remote.totals(service) == embedded.totals(service)
        assert remote.edges(service) == embedded.edges(service)


def test_the_recommender_gives_the_same_slos_from_prometheus_as_from_the_embedded_store(
    loaded: PromQLClient, history: list[ServiceSnapshot]
) -> None:
    from slo_engine.engine import Engine
    from slo_engine.models import Dependency, ServiceNode
    from slo_engine.workflow.pipeline import run_workflow

    def recommend(engine: Engine) -> list[dict[str, Any]]:
        engine.graph.upsert_services([ServiceNode(name=name, tier=2) for name in SERVICES])
        engine.graph.upsert_dependencies(
            [Dependency.model_validate({"from": "checkout", "to": "payments", "kind": "hard"})]
        )
        result = run_workflow(engine, approve="auto", window_days=1)
        keep = ("service", "sli", "target", "attained", "events", "dependency_ceiling", "threshold_ms")
        return sorted(({k: r.public().get(k) for k in keep} for r in result.recommendations), key=str)

    embedded = Engine.embedded(in_memory=True, resolution_seconds=300)
    embedded.metrics.write_snapshots(history)
    remote = Engine.embedded(in_memory=True, resolution_seconds=300)
    remote.metrics = PrometheusMetricStore(loaded, resolution_seconds=300, now=lambda: END)
    from_embedded, from_prometheus = recommend(embedded), recommend(remote)
    assert from_embedded and from_prometheus == from_embedded


def test_the_store_is_built_from_the_environment_when_a_query_url_is_set(
    prometheus: PrometheusServer, loaded: PromQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLO_ENGINE_PROMETHEUS_QUERY_URL", prometheus.url)
    monkeypatch.delenv("SLO_ENGINE_PROMETHEUS_REMOTE_WRITE_URL", raising=False)
    store = PrometheusMetricStore.from_env(resolution_seconds=300)
    assert store is not None and store.services() == sorted(SERVICES)
    monkeypatch.delenv("SLO_ENGINE_PROMETHEUS_QUERY_URL")
    assert PrometheusMetricStore.from_env() is None


def test_amp_urls_are_signed_and_other_urls_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from slo_engine.adapters import prometheus as adapter

    signed: list[str] = []
    monkeypatch.setattr(adapter, "sigv4_transport", lambda region, **_: signed.append(region) or "signed")
    assert adapter.transport_for("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/") == "signed"
    assert signed == ["eu-west-1"]
    assert adapter.transport_for("http://127.0.0.1:9090") != "signed"


def test_sigv4_transport_signs_for_the_aps_service_in_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    from slo_engine.adapters import prometheus as adapter

    sent: list[dict[str, str]] = []
    monkeypatch.setattr(
        adapter, "urllib_transport", lambda timeout=30.0: lambda m, u, b, h: sent.append(h) or (204, b"")
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    url = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"
    RemoteWriteClient(url, adapter.sigv4_transport("eu-west-1")).write([TimeSeries((("__name__", "x"),), ((1, 1.0),))])
    (headers,) = sent
    assert "/eu-west-1/aps/aws4_request" in headers["Authorization"]
    assert headers["Content-Encoding"] == "snappy" and "X-Amz-Date" in headers
