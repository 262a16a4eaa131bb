"""Exports of approved SLOs: Prometheus rules checked by promtool, OpenSLO v1 documents, the CLI command."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

from slo_engine.cli import app
from slo_engine.embedded.state_store import SqliteStateStore
from slo_engine.exports.openslo import openslo_documents, openslo_yaml
from slo_engine.exports.prometheus_rules import prometheus_rules, prometheus_rules_yaml, window_label
from slo_engine.models import ApprovalDecision, Recommendation
from slo_engine.slo.burn_rate import alert_rules

PROMTOOL = shutil.which("promtool")


def recs():
    return [
        Recommendation(
            id="rec-a",
            service="payments",
            sli="availability",
            target=0.999,
            window_days=28,
            attained=0.9995,
            events=10**6,
            history_days=28,
            confidence=0.9,
        ),
        Recommendation(
            id="rec-l",
            service="payments",
            sli="latency",
            threshold_ms=250,
            target=0.99,
            window_days=30,
            attained=0.995,
            events=10**6,
            history_days=28,
            confidence=0.8,
        ),
    ]


@pytest.mark.skipif(
    PROMTOOL is None, reason="promtool (Debian package prometheus) is not installed: make test installs it"
)
def test_promtool_accepts_the_generated_rules(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(prometheus_rules_yaml(recs()))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 22 rules found" in checked.stdout


def test_alert_thresholds_come_from_the_burn_rate_table_for_the_slo_period():
    group = prometheus_rules(recs()[:1])["groups"][0]
    page = next(r for r in group["rules"] if r.get("alert") == "SLOErrorBudgetBurnPage")
    factors = [r.factor for r in alert_rules(28) if r.severity == "page"]
    assert [f"({f:.6g} * 0.001)" in page["expr"] for f in factors] == [True, True]
    assert "13.44" in page["expr"] and page["labels"]["severity"] == "page"


def test_every_window_of_the_table_has_a_recording_rule():
    records = {r["record"] for r in prometheus_rules(recs()[:1])["groups"][0]["rules"] if "record" in r}
    windows = {window_label(m) for r in alert_rules(28) for m in (r.long_window_minutes, r.short_window_minutes)}
    assert {f"slo:sli_error:ratio_rate{w}" for w in windows} <= records
    assert windows == {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}


def test_the_latency_sli_reads_the_histogram_bucket_at_the_threshold():
    rules = prometheus_rules(recs()[1:])["groups"][0]["rules"]
    assert 'le="250"' in rules[0]["expr"] and 'le="+Inf"' in rules[0]["expr"]


def test_openslo_has_one_service_and_one_slo_per_recommendation_in_v1_shape():
    docs = openslo_documents(recs())
    assert [d["kind"] for d in docs] == ["Service", "SLO", "SLO"]
    slo = docs[1]
    assert slo["apiVersion"] == "openslo/v1"
    assert slo["spec"]["objectives"] == [{"displayName": slo["spec"]["objectives"][0]["displayName"], "target": 0.999}]
    assert slo["spec"]["timeWindow"] == [{"duration": "28d", "isRolling": True}]
    assert set(slo["spec"]["indicator"]["spec"]["ratioMetric"]) == {"counter", "good", "total"}
    assert list(yaml.safe_load_all(openslo_yaml(recs())))[2]["metadata"]["name"] == "payments-latency-250ms"


def test_cli_export_writes_the_approved_slos_only(tmp_path):
    data = tmp_path / "data"
    state = SqliteStateStore(data / "state.db")
    state.save_recommendations(recs())
    state.record_decision(ApprovalDecision(recommendation_id="rec-a", approved=True, by="alice"))
    state.close()
    runner = CliRunner()
    result = runner.invoke(
        app, ["export", "--format", "openslo", "--out", str(tmp_path / "out"), "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all((tmp_path / "out" / "openslo.yaml").read_text()))
    assert [d["metadata"]["annotations"]["slo-engine/recommendation-id"] for d in docs if d["kind"] == "SLO"] == [
        "rec-a"
    ]
    result = runner.invoke(
        app, ["export", "--format", "prometheus-rules", "--out", str(tmp_path / "out"), "--data-dir", str(data)]
    )
    assert result.exit_code == 0 and (tmp_path / "out" / "prometheus-rules.yaml").exists()


def test_cli_export_with_nothing_approved_says_so_and_fails(tmp_path):
    result = CliRunner().invoke(
        app, ["export", "--format", "openslo", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()
