"""The Rego guardrails, evaluated by regopy, and the Safety layer acting on their verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from slo_engine.agents.guardrails import GuardrailFacts, RegoGuardrails, default_guardrails, policy_dir
from slo_engine.agents.safety import GuardrailInput, SafetyLayer
from slo_engine.embedded.metric_store import SqliteMetricStore
from slo_engine.models import SLIKind

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def metrics():
    from slo_engine.embedded.fleet import generate_fleet

    fleet = generate_fleet(seed=3, days=3)
    store = SqliteMetricStore(None, resolution_seconds=fleet.step_seconds)
    store.write_series("payments", fleet.series["payments"])
    return store


def facts(**overrides):
    base = {"service": "payments", "sli": "availability", "target": 0.999, "history_days": 28.0}
    return GuardrailFacts(**{**base, **overrides})


def rules(found):
    return [v.rule for v in found]


def test_a_target_within_every_rule_has_no_violation():
    assert default_guardrails().evaluate(facts(dependency_ceiling=0.9995, attained=0.9993, approved_target=0.995)) == []


def test_a_target_above_the_dependency_ceiling_is_revised_with_the_policy_message():
    (found,) = default_guardrails().evaluate(facts(dependency_ceiling=0.995))
    assert (found.rule, found.action) == ("ceiling", "revise")
    assert found.message == "ceiling: target 99.9000% is above the dependency ceiling 99.5000%"


def test_a_target_above_what_history_attained_is_revised():
    assert rules(default_guardrails().evaluate(facts(attained=0.998))) == ["history"]


def test_above_99_99_percent_needs_28_days_of_data():
    (found,) = default_guardrails().evaluate(facts(target=0.9999, history_days=7))
    assert found.message == "evidence: a target of 99.9900% needs 28 days of data, 7.0 given"
    assert default_guardrails().evaluate(facts(target=0.9999, history_days=28)) == []


def test_tightening_by_two_ladder_steps_is_held_but_one_step_is_allowed():
    (held,) = default_guardrails().evaluate(facts(target=0.999, approved_target=0.99))
    assert (held.rule, held.action) == ("change", "hold")
    assert default_guardrails().evaluate(facts(target=0.999, approved_target=0.995)) == []
    assert default_guardrails().evaluate(facts(target=0.99, approved_target=0.9999)) == []  # loosening is fine


def test_tier_0_needs_a_named_approver_and_automatic_approvers_do_not_count():
    assert rules(default_guardrails().evaluate(facts(tier=0))) == ["approval"]
    assert rules(default_guardrails().evaluate(facts(tier=0, approver="auto-approval"))) == ["approval"]
    assert default_guardrails().evaluate(facts(tier=0, approver="alice")) == []
    assert default_guardrails().evaluate(facts(tier=1)) == []


def test_the_policies_ship_inside_the_package_and_the_repo_links_to_the_same_files():
    packaged = sorted(p.name for p in policy_dir().glob("*.rego"))
    assert packaged == ["approval.rego", "ceiling.rego", "change.rego", "evidence.rego"]
    for name in packaged:
        assert (ROOT / "policies" / name).resolve() == (policy_dir() / name).resolve()


def test_a_broken_policy_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.rego"
    broken.write_text("package slo.guardrails\nviolation contains v if {\n")
    with pytest.raises(Exception, match=r"(?i)rego|parse|syntax|error|guardrail"):
        RegoGuardrails([broken])


def test_safety_revises_a_target_down_to_the_ceiling_with_the_policy_message(metrics):
    name = "payments"
    layer = SafetyLayer(metrics, 3)
    verdict = layer.check(
        GuardrailInput(
            service=name,
            sli=SLIKind.AVAILABILITY,
            target=0.9,
            tier=2,
            history_days=28,
            dependency_ceiling=0.82,
            attained=0.99,
        )
    )
    assert verdict.target == 0.8
    assert "guardrail ceiling: target 90.0000% is above the dependency ceiling 82.0000%; revised to 80.0000%" in (
        verdict.revisions
    )


def test_safety_holds_a_tier_0_target_for_a_named_approver(metrics):
    verdict = SafetyLayer(metrics, 3).check(GuardrailInput("payments", SLIKind.AVAILABILITY, 0.5, 0, 28, None, 0.99))
    assert verdict.needs_named_approver
    assert "approval: tier-0 services need a named human approver" in verdict.violations
