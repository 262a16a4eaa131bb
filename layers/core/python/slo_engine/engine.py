"""The engine's wiring: which adapter stands behind each port.

``Engine.embedded()`` gives the laptop defaults (SQLite, local index, deterministic reasoner);
Lambda handlers build the same object with AWS adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from slo_engine.config import EngineConfig
from slo_engine.ports import (
    ApprovalStore,
    EventPublisher,
    GraphStore,
    MetricStore,
    Reasoner,
    RunArtifacts,
    RunbookIndex,
    StateStore,
)


@dataclass
class Engine:
    metrics: MetricStore
    graph: GraphStore
    runbooks: RunbookIndex
    state: StateStore
    reasoner: Reasoner
    config: EngineConfig = field(default_factory=EngineConfig)
    approvals: ApprovalStore | None = None
    events: EventPublisher | None = None
    artifacts: RunArtifacts | None = None
    """Where bulky parts of a run's state document are kept (``workflow/claim_check.py``)."""

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> Engine:
        """AWS adapters where their ``SLO_ENGINE_*`` variables are set, embedded defaults otherwise."""
        from slo_engine.entrypoints.wiring import engine_from_env

        return engine_from_env(data_dir)

    @classmethod
    def embedded(
        cls,
        data_dir: Path | None = None,
        *,
        config: EngineConfig | None = None,
        resolution_seconds: int = 60,
        in_memory: bool = False,
    ) -> Engine:
        from slo_engine.approval.store import SqliteApprovalStore
        from slo_engine.embedded.event_log import JsonlEventLog
        from slo_engine.embedded.graph_store import SqliteGraphStore
        from slo_engine.embedded.metric_store import SqliteMetricStore
        from slo_engine.embedded.reasoner import DeterministicReasoner
        from slo_engine.embedded.run_artifacts import LocalRunArtifacts
        from slo_engine.embedded.runbook_index import LocalRunbookIndex
        from slo_engine.embedded.state_store import SqliteStateStore

        config = config or EngineConfig()
        root = data_dir or config.data_dir

        def at(name: str) -> Path | None:
            return None if in_memory else root / name

        graph: GraphStore
        if config.graph_store == "cypher":
            from slo_engine.embedded.cypher_graph_store import CypherGraphStore

            graph = CypherGraphStore(at("graph.lbug"))
        else:
            graph = SqliteGraphStore(at("graph.db"))
        return cls(
            metrics=SqliteMetricStore(at("metrics.db"), resolution_seconds=resolution_seconds),
            graph=graph,
            runbooks=LocalRunbookIndex(at("runbooks.db")),
            state=SqliteStateStore(at("state.db")),
            reasoner=DeterministicReasoner(),
            config=config,
            approvals=SqliteApprovalStore(at("approvals.db")),
            events=JsonlEventLog(at("events.jsonl")),
            artifacts=LocalRunArtifacts(at("artifacts")),
        )
