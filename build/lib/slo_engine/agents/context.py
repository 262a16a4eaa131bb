"""The Context Manager: past Q&A, decisions and feedback for a service, bounded before agents see it.

The bound is both a character budget and an input-token estimate (``estimate_tokens``, the same estimate the
Bedrock adapter and the benchmark use), newest feedback first, then the newest Q&A.
"""

from __future__ import annotations

import json
import math

from slo_engine.config import EngineConfig
from slo_engine.ports import StateStore

CHARS_PER_TOKEN = 4.0
MAX_ITEM_CHARS = 1000
"""One remembered item longer than this is cut (with a marker), not dropped whole."""


def estimate_tokens(text: str) -> int:
    """A conservative input-token estimate: about four characters per token for English and JSON."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def context_tokens(context: dict[str, list[dict[str, str]]]) -> int:
    """Estimated tokens of a bounded context as it is serialised into a prompt."""
    return estimate_tokens(json.dumps(context, separators=(",", ":")))


def _cut(item: dict[str, str]) -> dict[str, str]:
    return {k: (v if len(v) <= MAX_ITEM_CHARS else v[: MAX_ITEM_CHARS - 12] + " [truncated]") for k, v in item.items()}


class ContextManager:
    def __init__(self, state: StateStore, config: EngineConfig) -> None:
        self._state = state
        self._config = config

    def for_service(self, service: str) -> dict[str, list[dict[str, str]]]:
        """The newest feedback and Q&A, newest kept first when the size bound cuts."""
        limit = self._config.max_context_entries
        feedback = [
            {"kind": f.kind, "by": f.by, "text": f.text, "at": f.at.isoformat()}
            for f in self._state.feedback_for(service)[-limit:]
        ]
        qa = [
            {"question": e.question, "answer": e.answer, "at": e.at.isoformat()}
            for e in self._state.context_for(service, limit=limit)
        ]
        return self._bounded({"feedback": feedback, "qa": qa})

    def _bounded(self, context: dict[str, list[dict[str, str]]]) -> dict[str, list[dict[str, str]]]:
        char_budget = self._config.max_context_chars
        token_budget = int(char_budget / CHARS_PER_TOKEN)
        kept: dict[str, list[dict[str, str]]] = {"feedback": [], "qa": []}
        # Feedback first (it steers targets), newest first, then Q&A, until either budget is spent.
        for key in ("feedback", "qa"):
            for item in reversed(context[key]):
                item = _cut(item)
                size = sum(len(v) for v in item.values())
                tokens = estimate_tokens(json.dumps(item, separators=(",", ":")))
                if size > char_budget or tokens > token_budget:
                    continue
                kept[key].insert(0, item)
                char_budget -= size
                token_budget -= tokens
        return kept
