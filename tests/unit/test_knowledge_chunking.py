"""Markdown runbooks are chunked by heading, with the title on every chunk and a size bound on each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slo_engine.knowledge.chunking import chunk_markdown, split_body

CORPUS = Path(
    os.environ.get("SLO_ENGINE_RUNBOOK_CORPUS", "/work/shared/corpus/runbooks-prometheus-operator/content/runbooks")
)
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"public runbook corpus not found at {CORPUS}")

RUNBOOK = """---
title: Checkout Latency High
weight: 20
---

# CheckoutLatencyHigh

Intro before any section.

## Meaning

The checkout service answers slowly.

## Diagnosis

### Database

Look at the payments-db dashboard.

## Mitigation

1. Scale out checkout.
"""


def headings(text: str, path: str = "runbooks/CheckoutLatencyHigh.md") -> list[str]:
    return [chunk.heading for chunk in chunk_markdown(text, path)]


def test_every_heading_starts_with_the_first_h1_as_document_title() -> None:
    assert headings(RUNBOOK) == [
        "CheckoutLatencyHigh",
        "CheckoutLatencyHigh > Meaning",
        "CheckoutLatencyHigh > Diagnosis > Database",
        "CheckoutLatencyHigh > Mitigation",
    ]


def test_front_matter_is_not_chunked_but_its_title_is_used_without_an_h1() -> None:
    text = "---\ntitle: 'Disk Almost Full'\nweight: 3\n---\n\n## Meaning\n\nThe disk fills up.\n"
    chunks = chunk_markdown(text, "node/DiskAlmostFull.md")
    assert [c.heading for c in chunks] == ["Disk Almost Full > Meaning"]
    assert "weight" not in chunks[0].text


def test_file_stem_is_the_title_without_h1_or_front_matter() -> None:
    assert headings("## Impact\n\nUsers see errors.\n", "team/HighErrorRate.md") == ["HighErrorRate > Impact"]


def test_section_without_text_is_dropped_but_named_in_its_subsections() -> None:
    assert "CheckoutLatencyHigh > Diagnosis" not in headings(RUNBOOK)
    assert "CheckoutLatencyHigh > Diagnosis > Database" in headings(RUNBOOK)


def test_hash_lines_inside_fenced_code_are_not_headings() -> None:
    text = "# Title\n\n## Mitigation\n\n```shell\n# TODO: command needed\n$ df -h\n```\n"
    chunks = chunk_markdown(text, "x.md")
    assert [c.heading for c in chunks] == ["Title > Mitigation"]
    assert "# TODO: command needed" in chunks[0].text


def test_deeper_heading_after_a_shallower_one_replaces_the_path() -> None:
    text = "# T\n\n## A\n\n### A1\n\nx\n\n## B\n\ny\n"
    assert headings(text) == ["T > A > A1", "T > B"]


def test_long_section_is_split_on_paragraph_boundaries_within_the_bound() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 40 for i in range(12)]
    text = "# T\n\n## Mitigation\n\n" + "\n\n".join(paragraphs)
    chunks = chunk_markdown(text, "x.md", max_chars=600)
    assert len(chunks) > 1
    assert all(len(c.text) <= 600 for c in chunks)
    assert all(c.heading == "T > Mitigation" for c in chunks)
    rebuilt = [p.strip() for c in chunks for p in c.text.split("\n\n")]
    assert rebuilt == [p.strip() for p in paragraphs]


def test_an_overlong_code_block_is_split_into_closed_fenced_pieces() -> None:
    body = "```shell\n" + "\n".join(f"$ echo line-{i:03d}" for i in range(80)) + "\n```"
    pieces = split_body(body, max_chars=300)
    assert len(pieces) > 1
    assert all(len(p) <= 300 for p in pieces)
    assert all(p.startswith("```shell\n") and p.endswith("\n```") for p in pieces)


def test_a_single_overlong_line_is_cut_by_characters() -> None:
    assert [len(p) for p in split_body("x" * 250, max_chars=100)] == [100, 100, 50]


def test_chunk_indexes_count_chunks_in_document_order_and_are_stable() -> None:
    first = chunk_markdown(RUNBOOK, "a.md", max_chars=40)
    second = chunk_markdown(RUNBOOK, "a.md", max_chars=40)
    assert [c.chunk_index for c in first] == list(range(len(first)))
    assert [(c.key, c.text) for c in first] == [(c.key, c.text) for c in second]


def test_chunks_carry_repository_and_path_in_their_key() -> None:
    chunk = chunk_markdown(RUNBOOK, "runbooks/a.md", repository="acme/ops")[0]
    assert chunk.key == "acme/ops:runbooks/a.md#0"


def test_known_services_mentioned_are_detected_as_whole_words() -> None:
    chunks = chunk_markdown(RUNBOOK, "a.md", known_services=["checkout", "payments-db", "payments", "cart"])
    by_heading = {c.heading: c.services for c in chunks}
    assert by_heading["CheckoutLatencyHigh > Meaning"] == ["checkout"]
    assert by_heading["CheckoutLatencyHigh > Diagnosis > Database"] == ["payments-db"]


def test_document_with_only_front_matter_has_no_chunks() -> None:
    assert chunk_markdown("---\ntitle: Index\n---\n", "_index.md") == []


def test_windows_line_endings_give_the_same_chunks() -> None:
    assert headings(RUNBOOK.replace("\n", "\r\n")) == headings(RUNBOOK)


@needs_corpus
def test_every_public_runbook_chunks_within_the_bound_under_one_title() -> None:
    files = [p for p in sorted(CORPUS.rglob("*.md")) if not p.name.startswith("_")]
    assert len(files) >= 100
    titled_by_alert_name = 0
    for file in files:
        chunks = chunk_markdown(file.read_text(encoding="utf-8"), file.name, max_chars=1200)
        assert chunks, file
        assert all(len(c.text) <= 1200 for c in chunks), file
        assert len({c.heading.split(" > ")[0] for c in chunks}) == 1, file
        titled_by_alert_name += chunks[0].heading.split(" > ")[0] == file.stem
    assert titled_by_alert_name >= 0.95 * len(files)
