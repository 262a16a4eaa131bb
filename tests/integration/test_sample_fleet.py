"""The sample fleet's known properties come out of the whole local pipeline."""

from __future__ import annotations

import json

import pytest

from slo_engine.embedded import fleet as fleet_module
from slo_engine.workflow.orchestrator import load_definition

pytestmark = pytest.mark.xdist_group("fleet-pipeline")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from slo_engine.workflow.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out, approve="auto", log=lambda *_: None)
    return out, result


def recs_of(result, service):
    return {r.sli.value: r for r in result.recommendations if r.service == service}


def test_every_service_gets_availability_and_latency(demo):
    _, result = demo
    services = {r.service for r in result.recommendations}
    assert len(services) >= 30
    for service in services:
        assert set(recs_of(result, service)) == {"availability", "latency"}


def test_no_target_exceeds_what_history_attained(demo):
    _, result = demo
    for r in result.recommendations:
        assert r.target <= r.attained + 1e-12, (r.service, r.sli, r.target, r.attained)


def test_the_service_behind_a_weak_hard_dependency_is_capped_and_says_so(demo):
    _, result = demo
    rec = recs_of(result, fleet_module.CAPPED_SERVICE)["availability"]
    assert rec.capped_by == fleet_module.WEAK_DEPENDENCY
    assert f"capped by dependency {fleet_module.WEAK_DEPENDENCY}" in rec.risks
    assert rec.dependency_ceiling is not None and rec.target <= rec.dependency_ceiling
    assert rec.target < rec.attained  # history alone would have promised more
    assert fleet_module.WEAK_DEPENDENCY in rec.rationale


def test_the_cycle_is_reported_for_each_member(demo):
    _, result = demo
    for member in fleet_module.CYCLE:
        risks = recs_of(result, member)["availability"].risks
        assert any(r.startswith("circular dependency") for r in risks), (member, risks)


def test_the_low_traffic_service_gets_low_confidence(demo):
    _, result = demo
    rec = recs_of(result, fleet_module.LOW_TRAFFIC_SERVICE)["availability"]
    assert rec.confidence < 0.5
    assert any("low traffic" in r for r in rec.risks)
    busy = recs_of(result, fleet_module.CAPPED_SERVICE)["availability"]
    assert busy.confidence > rec.confidence
    assert rec.status.value == "pending"  # auto-approval leaves low confidence to a human


def test_tier_zero_waits_for_a_named_approver_even_with_auto_approval(demo):
    _, result = demo
    tier0 = [s.name for s in fleet_module.generate_fleet().graph.services if s.tier == 0]
    assert tier0
    for name in tier0:
        for rec in recs_of(result, name).values():
            assert rec.status.value == "pending"
            assert any(r.startswith("approval:") for r in rec.risks)


def test_the_local_run_takes_the_state_machine_states_in_order(demo):
    _, result = demo
    definition = load_definition()
    top_level = [s for s in result.run.states if s in definition["States"]]
    assert top_level[0] == definition["StartAt"]
    for required in (
        "LoadContext",
        "MasterAgent",
        "Discovery",
        "Reviewer",
        "Safety",
        "PreApproval",
        "HumanApproval",
        "Finalize",
        "RecordFeedback",
    ):
        assert required in top_level
    assert top_level.index("Reviewer") > top_level.index("Discovery") > top_level.index("MasterAgent")
    for branch in ("MetricDiscovery", "RelationshipDiscovery", "RunbookDiscovery"):
        assert branch in result.run.states


def test_results_are_written_under_out(demo):
    out, result = demo
    written = json.loads((out / "recommendations.json").read_text())
    assert len(written) == len(result.recommendations)
    assert (out / "summary.txt").read_text().strip()


def test_blast_radius_names_every_transitive_hard_dependent(demo):
    from slo_engine.graph.analysis import blast_radius

    _, result = demo
    graph = fleet_module.generate_fleet().graph
    finding = next(
        f
        for f in result.run.doc["findings"][1]
        if isinstance(f, dict) and f.get("service") == fleet_module.WEAK_DEPENDENCY
    )
    assert finding["data"]["blast_radius"] == blast_radius(graph, fleet_module.WEAK_DEPENDENCY)
    assert fleet_module.CAPPED_SERVICE in finding["data"]["blast_radius"]
