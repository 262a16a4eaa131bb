"""The Context Manager: past Q&A, decisions and feedback for a service, bounded before agents see it."""

from __future__ import annotations

from slo_engine.config import EngineConfig
from slo_engine.ports import StateStore


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
        budget = self._config.max_context_chars
        kept: dict[str, list[dict[str, str]]] = {"feedback": [], "qa": []}
        # Feedback first (it steers targets), newest first, then Q&A, until the character budget is spent.
        for key in ("feedback", "qa"):
            for item in reversed(context[key]):
                size = sum(len(v) for v in item.values())
                if size > budget:
                    continue
                kept[key].insert(0, item)
                budget -= size
        return kept
