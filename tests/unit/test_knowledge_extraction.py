"""The rule-based extractor reads symptoms, cause, fix steps, commands and time to mitigate from runbooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slo_engine.knowledge.chunking import chunk_markdown
from slo_engine.knowledge.extraction import (
    SectionKind,
    alert_names,
    classify_heading,
    extract_document_resolution,
    extract_resolution,
    parse_duration_minutes,
)
from slo_engine.models import Resolution, RunbookChunk

CORPUS = Path(
    os.environ.get("SLO_ENGINE_RUNBOOK_CORPUS", "/work/shared/corpus/runbooks-prometheus-operator/content/runbooks")
)
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"public runbook corpus not found at {CORPUS}")

RUNBOOK = """# CheckoutErrorBudgetBurn

## Meaning

The checkout service returns too many errors; it often follows PaymentsLatencyHigh.
This alert fires when errors stay above 1% for more than 15 minutes.

## Diagnosis

Most often a bad deploy of checkout or an exhausted database connection pool.

## Mitigation

Expected time to mitigate: 20 minutes.

1. Roll back the last deploy:
   `kubectl -n shop rollout undo deployment/checkout`
2. Raise the connection pool size.
   - check `max_connections` first
3. See [the pool docs](https://example.org/pool_(db)#size).

```console
$ kubectl -n shop get pods -l app=checkout
NAME            READY   STATUS
checkout-abc    1/1     Running
```

```promql
sum(rate(http_requests_total{job="checkout",code=~"5.."}[5m]))
```

```yaml
replicas: 3
```

- [pool docs](https://example.org/pool_(db)#size)
"""


@pytest.fixture(scope="module")
def whole() -> Resolution:
    return extract_resolution("CheckoutErrorBudgetBurn", RUNBOOK)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("15 minutes", 15.0),
        ("~1h", 60.0),
        ("30 min", 30.0),
        ("2 hours", 120.0),
        ("1h30m", 90.0),
        ("1 hour and 15 minutes", 75.0),
        ("10-20 minutes", 20.0),
        ("90s", 1.5),
        ("1.5 hrs", 90.0),
        ("two days", None),
        ("no duration here", None),
    ],
)
def test_durations_parse_to_minutes_with_ranges_taking_the_upper_bound(text: str, minutes: float | None) -> None:
    assert parse_duration_minutes(text) == minutes


def test_explicit_time_to_mitigate_is_read(whole: Resolution) -> None:
    assert whole.minutes_to_mitigate == 20.0


def test_alert_duration_in_a_meaning_section_is_not_a_time_to_mitigate() -> None:
    text = "## Meaning\n\nThe pod has not been ready for more than 15 minutes.\n\n## Mitigation\n\nRestart it.\n"
    assert extract_resolution("KubePodNotReady", text).minutes_to_mitigate is None


def test_an_estimate_in_a_mitigation_section_is_a_time_to_mitigate() -> None:
    resolution = extract_resolution("DiskFull > Mitigation", "Resizing the volume usually takes ~1h.")
    assert resolution.minutes_to_mitigate == 60.0


def test_symptoms_start_with_the_title_then_alert_names_then_the_meaning(whole: Resolution) -> None:
    assert whole.symptoms[:2] == ["CheckoutErrorBudgetBurn", "PaymentsLatencyHigh"]
    assert any(s.startswith("The checkout service returns too many errors") for s in whole.symptoms)


def test_product_names_kinds_and_field_names_are_not_alert_names() -> None:
    text = "Page via PagerDuty, check the StatefulSet and its securityContext; etcdNoLeader may follow."
    assert alert_names(text) == ["etcdNoLeader"]


def test_likely_cause_comes_from_the_diagnosis_prose(whole: Resolution) -> None:
    assert whole.likely_cause == "Most often a bad deploy of checkout or an exhausted database connection pool."


def test_fix_steps_are_the_mitigation_list_items_with_nested_items_flattened(whole: Resolution) -> None:
    assert whole.fix_steps[0] == "Roll back the last deploy: kubectl -n shop rollout undo deployment/checkout"
    assert whole.fix_steps[1] == "Raise the connection pool size."
    assert "check max_connections first" in whole.fix_steps


def test_link_only_items_are_not_fix_steps_even_with_parentheses_in_the_url(whole: Resolution) -> None:
    assert not any("example.org" in step or "#size" in step for step in whole.fix_steps)
    assert "See the pool docs." in whole.fix_steps


def test_prose_becomes_the_fix_steps_when_a_mitigation_has_no_list() -> None:
    resolution = extract_resolution("X > Mitigation", "Talk to the owners.\n\nThen restart the app.\n")
    assert resolution.fix_steps == ["Talk to the owners.", "Then restart the app."]


def test_prompted_shell_lines_are_commands_and_their_output_is_not(whole: Resolution) -> None:
    assert "kubectl -n shop get pods -l app=checkout" in whole.commands
    assert not any(c.startswith(("NAME", "checkout-abc")) for c in whole.commands)


def test_query_blocks_and_inline_cli_spans_are_commands_but_yaml_is_not(whole: Resolution) -> None:
    assert 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[5m]))' in whole.commands
    assert "kubectl -n shop rollout undo deployment/checkout" in whole.commands
    assert not any("replicas" in c for c in whole.commands)


def test_unprompted_shell_block_lines_are_commands_without_comments() -> None:
    text = "```bash\n# free space\ndf -h /var\n```\n\nOr run\n$ du -sh /var/log\n"
    assert extract_resolution("X > Diagnosis", text).commands == ["df -h /var", "du -sh /var/log"]


def test_the_deepest_named_section_decides_and_the_title_is_ignored() -> None:
    assert classify_heading("Runbook for checkout > Mitigation > Fragmented state") == {SectionKind.FIX}
    assert classify_heading("Runbook for checkout > Meaning") == {SectionKind.SYMPTOM}
    assert classify_heading("Runbook for checkout > Dashboards") == frozenset()
    assert classify_heading("Likely cause") == {SectionKind.CAUSE}


def test_a_chunk_is_read_according_to_its_heading_path() -> None:
    resolution = extract_resolution("KubeJobFailed > Mitigation", "- Delete the failed job.\n- Re-run it.\n")
    assert resolution.fix_steps == ["Delete the failed job.", "Re-run it."]
    assert resolution.symptoms == ["KubeJobFailed"]
    assert resolution.likely_cause == ""


def test_document_resolution_merges_its_chunks_and_services() -> None:
    chunks = chunk_markdown(RUNBOOK, "checkout.md", known_services=["checkout", "payments"])
    merged = extract_document_resolution(chunks)
    assert merged == extract_resolution("CheckoutErrorBudgetBurn", RUNBOOK).model_copy(
        update={"services": ["checkout"]}
    )


def test_document_resolution_keeps_the_longest_time_to_mitigate() -> None:
    chunks = [
        RunbookChunk(path="a.md", heading="A > Mitigation", text="x", resolution=Resolution(minutes_to_mitigate=10)),
        RunbookChunk(path="a.md", heading="A > Other", text="y", chunk_index=1),
        RunbookChunk(
            path="a.md", heading="A > Fix", text="z", chunk_index=2, resolution=Resolution(minutes_to_mitigate=45)
        ),
    ]
    assert extract_document_resolution(chunks).minutes_to_mitigate == 45


def test_odd_markdown_never_raises() -> None:
    text = "```\nunclosed fence\n# not a heading\n\n1)\n-\n#\n######## too deep\n[x](y\n"
    assert isinstance(extract_resolution("", text), Resolution)


@needs_corpus
def test_public_crash_looping_runbook_yields_its_symptoms_and_kubectl_commands() -> None:
    text = (CORPUS / "kubernetes" / "KubePodCrashLooping.md").read_text(encoding="utf-8")
    resolution = extract_document_resolution(chunk_markdown(text, "KubePodCrashLooping.md"))
    assert resolution.symptoms[0] == "KubePodCrashLooping"
    assert any(c.startswith("kubectl") and "describe pod" in c for c in resolution.commands)
    assert resolution.fix_steps


@needs_corpus
def test_public_etcd_fsync_runbook_yields_the_defrag_command_and_no_link_steps() -> None:
    text = (CORPUS / "etcd" / "etcdHighFsyncDurations.md").read_text(encoding="utf-8")
    resolution = extract_document_resolution(chunk_markdown(text, "etcdHighFsyncDurations.md"))
    assert "etcdctl defrag" in resolution.commands
    assert "slow disk" in resolution.likely_cause
    assert not any("wikipedia" in step or "Log_replication" in step for step in resolution.fix_steps)


@needs_corpus
def test_every_public_runbook_yields_its_title_as_a_symptom_and_some_fix_or_cause() -> None:
    files = [p for p in sorted(CORPUS.rglob("*.md")) if not p.name.startswith("_")]
    assert len(files) >= 100
    informative = 0
    for file in files:
        chunks = chunk_markdown(file.read_text(encoding="utf-8"), file.name)
        resolution = extract_document_resolution(chunks)
        assert resolution.symptoms and resolution.symptoms[0] == chunks[0].heading.split(" > ")[0], file
        informative += bool(resolution.fix_steps or resolution.likely_cause)
    assert informative >= 0.9 * len(files)
