"""The Context Manager's bound: newest feedback first, then Q&A, within a character and a token budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slo_engine.agents.context import ContextManager, context_tokens, estimate_tokens
from slo_engine.config import EngineConfig
from slo_engine.embedded.state_store import SqliteStateStore
from slo_engine.models import ContextEntry, FeedbackRecord

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def store_with(feedback: int, qa: int, chars: int) -> SqliteStateStore:
    state = SqliteStateStore(None)
    for i in range(feedback):
        state.add_feedback(
            FeedbackRecord(service="s", by=f"p{i}", text=f"f{i} " + "x" * chars, at=T0 + timedelta(minutes=i))
        )
    for i in range(qa):
        state.add_context(ContextEntry(service="s", question=f"q{i}", answer="y" * chars, at=T0 + timedelta(minutes=i)))
    return state


def test_the_token_estimate_is_about_four_characters_per_token():
    assert estimate_tokens("") == 0
    assert estimate_tokens("x" * 4000) == 1000


def test_heavy_memory_is_bounded_to_the_budget_keeping_the_newest_feedback():
    config = EngineConfig(max_context_entries=50, max_context_chars=6000)
    context = ContextManager(store_with(40, 40, 900), config).for_service("s")
    assert context_tokens(context) <= 6000 / 4 * 1.2  # the budget, plus the JSON keys around it
    assert context["feedback"][-1]["by"] == "p39"  # the newest survives the cut
    assert len(context["feedback"]) < 40


def test_one_oversized_item_is_cut_not_dropped():
    context = ContextManager(store_with(1, 0, 3_900), EngineConfig(max_context_chars=6000)).for_service("s")
    (item,) = context["feedback"]
    assert item["text"].endswith("[truncated]") and len(item["text"]) <= 1000


def test_small_memory_is_handed_over_whole():
    context = ContextManager(store_with(2, 2, 50), EngineConfig()).for_service("s")
    assert (len(context["feedback"]), len(context["qa"])) == (2, 2)
