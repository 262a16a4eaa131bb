"""The synthetic fleet: deterministic, with the known properties the demo and the recommender rely on."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from slo_engine.embedded.fleet import (
    CAPPED_SERVICE,
    CYCLE,
    DEFAULT_END_EPOCH,
    LOW_TRAFFIC_SERVICE,
    PROPAGATION_HARD_CALLER,
    PROPAGATION_SOFT_CALLER,
    PROPAGATION_SOURCE,
    RETRY_MASKING,
    WEAK_DEPENDENCY,
    Fleet,
    generate_fleet,
)
from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS, RawEvent, ServiceSnapshot
from slo_engine.slo.sli import histogram_quantile


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet()


@pytest.fixture(scope="module")
def short_fleet() -> Fleet:
    return generate_fleet(seed=11, days=2)


def _ratio(errors: np.ndarray, requests: np.ndarray) -> float:
    return float(errors.sum()) / float(requests.sum())


# ---- determinism and speed --------------------------------------------------------------------------------------


def test_same_seed_gives_identical_arrays() -> None:
    first, second = generate_fleet(seed=3, days=2), generate_fleet(seed=3, days=2)
    for name in first.services:
        a, b = first.series[name], second.series[name]
        assert np.array_equal(a.requests, b.requests)
        assert np.array_equal(a.errors, b.errors)
        assert np.array_equal(a.latency_counts, b.latency_counts)
    for key, edge in first.edges.items():
        assert np.array_equal(edge.calls, second.edges[key].calls)
        assert np.array_equal(edge.errors, second.edges[key].errors)
    assert first.incidents == second.incidents


def test_different_seeds_give_different_traffic() -> None:
    a, b = generate_fleet(seed=1, days=1), generate_fleet(seed=2, days=1)
    assert not np.array_equal(a.series["edge-gateway"].requests, b.series["edge-gateway"].requests)


def test_history_covers_the_days_before_a_day_aligned_end(fleet: Fleet) -> None:
    assert fleet.end == DEFAULT_END_EPOCH == int(datetime.fromisoformat("2026-11-01T00:00:00Z").timestamp())
    assert fleet.end - fleet.start == 28 * 86400
    for series in fleet.series.values():
        assert (series.start, series.step, len(series)) == (fleet.start, 60, 28 * 1440)


# ---- graph ------------------------------------------------------------------------------------------------------


def test_graph_has_about_three_dozen_services_in_tiers_zero_to_three(fleet: Fleet) -> None:
    tiers = fleet.graph.tiers()
    assert 30 <= len(tiers) <= 40
    assert set(tiers.values()) == {0, 1, 2, 3}
    assert tiers["edge-gateway"] == 0
    assert {"checkout", "payments", WEAK_DEPENDENCY, LOW_TRAFFIC_SERVICE, *CYCLE} <= set(tiers)


def test_hard_edges_contain_exactly_one_cycle_inventory_warehouse_sync(fleet: Fleet) -> None:
    hard = nx.DiGraph([(d.from_, d.to) for d in fleet.graph.dependencies if d.kind == "hard"])
    cycles = list(nx.simple_cycles(hard))
    assert len(cycles) == 1
    assert sorted(cycles[0]) == sorted(CYCLE)


def test_graph_has_hard_and_soft_edges(fleet: Fleet) -> None:
    kinds = [d.kind for d in fleet.graph.dependencies]
    assert kinds.count("hard") >= 20
    assert kinds.count("soft") >= 10


def test_graph_document_round_trips_through_the_graph_model(fleet: Fleet, tmp_path: Path) -> None:
    from slo_engine.models.graph import ServiceGraph

    path = fleet.write_graph_json(tmp_path / "graph.json")
    loaded = ServiceGraph.model_validate_json(path.read_text())
    assert loaded.tiers() == fleet.graph.tiers()
    assert len(loaded.dependencies) == len(fleet.graph.dependencies)


# ---- counts -----------------------------------------------------------------------------------------------------


def test_histogram_counts_sum_to_requests_in_every_step(fleet: Fleet) -> None:
    for name, series in fleet.series.items():
        assert series.bounds == DEFAULT_LATENCY_BOUNDS_MS
        assert np.array_equal(series.latency_counts.sum(axis=1), series.requests), name


def test_errors_never_exceed_requests_and_counts_are_non_negative_ints(fleet: Fleet) -> None:
    for series in fleet.series.values():
        assert series.requests.dtype == np.int64 and series.errors.dtype == np.int64
        assert (series.errors >= 0).all() and (series.errors <= series.requests).all()
    for edge in fleet.edges.values():
        assert (edge.errors >= 0).all() and (edge.errors <= edge.calls).all()


def test_a_service_receives_at_least_the_calls_its_callers_make(fleet: Fleet) -> None:
    for name, series in fleet.series.items():
        incoming_calls = sum((e.calls for e in fleet.edges.values() if e.callee == name), np.zeros(len(series)))
        incoming_errors = sum((e.errors for e in fleet.edges.values() if e.callee == name), np.zeros(len(series)))
        assert (incoming_calls <= series.requests).all(), name
        assert (incoming_errors <= series.errors).all(), name


def test_base_rates_range_from_a_few_to_about_two_thousand_per_second(fleet: Fleet) -> None:
    seconds = 28 * 86400
    rates = {n: s.total_requests / seconds for n, s in fleet.series.items() if n != LOW_TRAFFIC_SERVICE}
    assert 1.0 <= min(rates.values()) <= 20.0
    assert 1500.0 <= max(rates.values()) <= 2500.0


def test_low_traffic_service_sees_fewer_than_twenty_thousand_requests(fleet: Fleet) -> None:
    total = fleet.series[LOW_TRAFFIC_SERVICE].total_requests
    assert 28 * 100 < total < 20_000


def test_traffic_peaks_in_the_evening_and_dips_at_the_weekend(fleet: Fleet) -> None:
    requests = fleet.series["edge-gateway"].requests.reshape(28, 24, 60).sum(axis=2)  # day x hour
    assert requests[:, 18].mean() > 1.8 * requests[:, 6].mean()
    weekday = ((fleet.start // 86400 + np.arange(28)) + 3) % 7
    daily = requests.sum(axis=1)
    assert daily[weekday >= 5].mean() < 0.85 * daily[weekday < 5].mean()


# ---- the weak dependency ----------------------------------------------------------------------------------------


def test_payments_history_looks_better_than_its_weak_dependency_allows(fleet: Fleet) -> None:
    assert fleet.history_availability(CAPPED_SERVICE) > 0.998
    assert fleet.history_availability(WEAK_DEPENDENCY) < 0.995


def test_weak_dependency_attains_about_ninety_nine_point_three(fleet: Fleet) -> None:
    assert 0.990 < fleet.history_availability(WEAK_DEPENDENCY) < 0.995


def test_payments_calls_the_ledger_on_every_request_over_a_hard_masked_edge(fleet: Fleet) -> None:
    edge = fleet.edges[(CAPPED_SERVICE, WEAK_DEPENDENCY)]
    assert edge.kind == "hard"
    assert edge.retry_masking == RETRY_MASKING == 0.8
    assert np.array_equal(edge.calls, fleet.series[CAPPED_SERVICE].requests)
    assert _ratio(edge.errors, edge.calls) > 0.005  # the caller saw the ledger's failures on the edge


def test_only_the_ledger_edge_masks_failures(fleet: Fleet) -> None:
    masked = [key for key, edge in fleet.edges.items() if edge.retry_masking > 0]
    assert masked == [(CAPPED_SERVICE, WEAK_DEPENDENCY)]


# ---- incidents --------------------------------------------------------------------------------------------------


def test_every_service_has_incidents_of_five_to_ninety_minutes(fleet: Fleet) -> None:
    assert {i.service for i in fleet.incidents} == set(fleet.services)
    for incident in fleet.incidents:
        assert 5 * 60 <= incident.end - incident.start <= 90 * 60
        assert 0.02 <= incident.error_ratio <= 0.40
        assert fleet.start <= incident.start < incident.end <= fleet.end


def _quiet_incident_on_source(fleet: Fleet) -> tuple[int, int, float]:
    """The largest incident on the propagation source while neither caller has an incident of its own."""
    callers = {PROPAGATION_HARD_CALLER, PROPAGATION_SOFT_CALLER}
    candidates = [
        i
        for i in fleet.incidents
        if i.service == PROPAGATION_SOURCE
        and not any(o.service in callers and o.start < i.end and i.start < o.end for o in fleet.incidents)
    ]
    chosen = max(candidates, key=lambda i: (i.end - i.start) * i.error_ratio)
    step = fleet.step_seconds
    return (chosen.start - fleet.start) // step, (chosen.end - fleet.start) // step, chosen.error_ratio


def test_incident_propagates_to_a_hard_caller(fleet: Fleet) -> None:
    assert PROPAGATION_HARD_CALLER in fleet.callers(PROPAGATION_SOURCE, kind="hard")
    first, last, ratio = _quiet_incident_on_source(fleet)
    caller = fleet.series[PROPAGATION_HARD_CALLER]
    during = _ratio(caller.errors[first:last], caller.requests[first:last])
    share = fleet.edges[(PROPAGATION_HARD_CALLER, PROPAGATION_SOURCE)].share
    assert during > 0.5 * share * ratio
    assert during > 10 * fleet.specs[PROPAGATION_HARD_CALLER].baseline_error


def test_incident_does_not_propagate_to_a_soft_caller(fleet: Fleet) -> None:
    assert PROPAGATION_SOFT_CALLER in fleet.callers(PROPAGATION_SOURCE, kind="soft")
    first, last, ratio = _quiet_incident_on_source(fleet)
    edge = fleet.edges[(PROPAGATION_SOFT_CALLER, PROPAGATION_SOURCE)]
    assert _ratio(edge.errors[first:last], edge.calls[first:last]) > 0.5 * ratio  # the calls did fail
    caller = fleet.series[PROPAGATION_SOFT_CALLER]
    assert _ratio(caller.errors[first:last], caller.requests[first:last]) < 0.05 * edge.share * ratio


def test_latency_rises_during_an_incident(fleet: Fleet) -> None:
    first, last, _ = _quiet_incident_on_source(fleet)
    counts = fleet.series[PROPAGATION_SOURCE].latency_counts
    bounds = fleet.series[PROPAGATION_SOURCE].bounds
    before = histogram_quantile(counts[first - 120 : first].sum(axis=0), bounds, 0.5)
    during = histogram_quantile(counts[first:last].sum(axis=0), bounds, 0.5)
    assert during is not None and before is not None
    assert during > 1.2 * before


def test_latency_median_grows_with_hard_dependencies(fleet: Fleet) -> None:
    def p50(name: str) -> float:
        series = fleet.series[name]
        value = histogram_quantile(series.latency_counts.sum(axis=0), series.bounds, 0.5)
        assert value is not None
        return value

    assert p50(CAPPED_SERVICE) > p50(WEAK_DEPENDENCY)  # payments waits for the ledger on every request
    assert p50("checkout") > p50(CAPPED_SERVICE)


# ---- edges ------------------------------------------------------------------------------------------------------


def test_edge_totals_come_in_both_directions_with_equal_counts(fleet: Fleet) -> None:
    totals = fleet.edge_totals()
    assert len(totals) == 2 * len(fleet.edges)
    down = {(t.service, t.peer): (t.requests, t.errors) for t in totals if t.direction == "downstream"}
    up = {(t.peer, t.service): (t.requests, t.errors) for t in totals if t.direction == "upstream"}
    assert down == up
    edge = fleet.edges[(CAPPED_SERVICE, WEAK_DEPENDENCY)]
    assert down[(CAPPED_SERVICE, WEAK_DEPENDENCY)] == (edge.total_calls, edge.total_errors)


def test_edge_daily_sums_to_the_edge_totals(fleet: Fleet) -> None:
    daily = fleet.edge_daily()
    calls, errors = daily[(CAPPED_SERVICE, WEAK_DEPENDENCY)]
    assert calls.shape == (28,)
    edge = fleet.edges[(CAPPED_SERVICE, WEAK_DEPENDENCY)]
    assert (int(calls.sum()), int(errors.sum())) == (edge.total_calls, edge.total_errors)


# ---- snapshots --------------------------------------------------------------------------------------------------


def test_snapshot_records_validate_against_the_snapshot_contract(short_fleet: Fleet) -> None:
    records = list(short_fleet.snapshot_records(days=1))
    assert len(records) > 1000
    for record in records[:2000]:
        snapshot = ServiceSnapshot.model_validate(record)
        assert snapshot.latency_ms is not None and snapshot.latency_ms.total == snapshot.requests
    assert records[0]["window_start"].endswith("Z")


def test_snapshot_records_carry_every_count_of_the_series(short_fleet: Fleet) -> None:
    records = list(short_fleet.snapshot_records())
    for name, series in short_fleet.series.items():
        mine = [r for r in records if r["service"] == name]
        assert sum(r["requests"] for r in mine) == series.total_requests
        assert sum(r["errors"] for r in mine) == series.total_errors
    edge = short_fleet.edges[(CAPPED_SERVICE, WEAK_DEPENDENCY)]
    down = sum(
        r["downstream"].get(WEAK_DEPENDENCY, {}).get("errors", 0) for r in records if r["service"] == CAPPED_SERVICE
    )
    up = sum(r["upstream"].get(CAPPED_SERVICE, {}).get("errors", 0) for r in records if r["service"] == WEAK_DEPENDENCY)
    assert down == up == edge.total_errors


def test_snapshot_records_roll_up_to_coarser_windows_without_changing_counts(short_fleet: Fleet) -> None:
    rolled = list(short_fleet.snapshot_records(step_seconds=300))
    assert {r["window_seconds"] for r in rolled} == {300}
    total = sum(r["requests"] for r in rolled if r["service"] == "checkout")
    assert total == short_fleet.series["checkout"].total_requests


def test_snapshot_records_refuse_a_step_that_is_not_a_multiple(short_fleet: Fleet) -> None:
    with pytest.raises(ValueError, match="multiple"):
        next(short_fleet.snapshot_records(step_seconds=90))


def test_write_snapshots_jsonl_writes_one_line_per_record(short_fleet: Fleet, tmp_path: Path) -> None:
    path = tmp_path / "snapshots.jsonl"
    written = short_fleet.write_snapshots_jsonl(path, days=1)
    lines = path.read_text().splitlines()
    assert written == len(lines) == sum(1 for _ in short_fleet.snapshot_records(days=1))
    assert json.loads(lines[0]) == next(short_fleet.snapshot_records(days=1))


# ---- raw events -------------------------------------------------------------------------------------------------


def test_raw_events_validate_as_raw_events_within_the_last_minutes(fleet: Fleet) -> None:
    events = list(fleet.raw_events(minutes=5, rate_scale=0.01))
    assert len(events) > 10_000
    for event in events[:3000]:
        parsed = RawEvent.model_validate(event)
        assert fleet.end - 300 <= parsed.timestamp.timestamp() < fleet.end
    assert all(len(e["timestamp"]) == len("2026-10-31T23:55:00.000Z") for e in events)


def test_raw_events_are_time_ordered_up_to_a_small_jitter(fleet: Fleet) -> None:
    stamps = np.array(
        [datetime.fromisoformat(e["timestamp"]).timestamp() for e in fleet.raw_events(minutes=2)], dtype=float
    )
    high_water = np.maximum.accumulate(stamps)
    assert (high_water - stamps).max() <= 2.0
    assert (stamps < high_water).mean() < 0.05
    assert (stamps < high_water).any()


def test_raw_events_follow_the_series_rates_and_error_regime(fleet: Fleet) -> None:
    events = list(fleet.raw_events(minutes=5, rate_scale=0.01))
    served = [e for e in events if e["service"] == "edge-gateway" and e["peer"] is None]
    expected = fleet.series["edge-gateway"].requests[-5:].sum() * 0.01
    assert abs(len(served) - expected) < 5 * np.sqrt(expected)
    ledger_calls = [e for e in events if e["service"] == CAPPED_SERVICE and e["peer"] == WEAK_DEPENDENCY]
    assert ledger_calls, "payments makes client calls to the ledger"


def test_raw_events_end_where_asked(fleet: Fleet) -> None:
    end = 1_900_000_000
    events = list(fleet.raw_events(minutes=1, end_epoch=end))
    stamps = [datetime.fromisoformat(e["timestamp"]).timestamp() for e in events]
    assert end - 60 <= min(stamps) and max(stamps) < end


# ---- runbooks ---------------------------------------------------------------------------------------------------


def test_there_are_a_dozen_runbooks_for_fleet_services(fleet: Fleet) -> None:
    assert len(fleet.runbooks) >= 12
    for path, text in fleet.runbooks.items():
        service = path.split("/")[1]
        assert path.startswith("runbooks/") and path.endswith(".md")
        assert service in fleet.services, path
        assert f"Service: {service}" in text


def test_every_runbook_has_symptoms_cause_steps_a_command_and_a_time(fleet: Fleet) -> None:
    for path, text in fleet.runbooks.items():
        for heading in ("## Symptoms", "## Likely cause", "## Mitigation"):
            assert heading in text, (path, heading)
        assert "\n1. " in text and "\n2. " in text, path
        assert "```shell\n" in text, path
        assert "Expected time to mitigate: " in text and " minutes" in text, path


def test_write_runbooks_writes_every_file(fleet: Fleet, tmp_path: Path) -> None:
    written = fleet.write_runbooks(tmp_path)
    assert len(written) == len(fleet.runbooks)
    assert (tmp_path / "runbooks/payments/LegacyLedgerTimeouts.md").read_text() == fleet.runbooks[
        "runbooks/payments/LegacyLedgerTimeouts.md"
    ]
