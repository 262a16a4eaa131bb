"""Ports: the interfaces the core needs from the outside world.

Each has an embedded default under ``slo_engine.embedded`` (runs on a laptop, used in tests)
and cloud adapters under ``slo_engine.adapters`` (AWS, Neo4j, OpenSearch, Prometheus, Bedrock).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from slo_engine.models import (
    AgentFinding,
    ApprovalDecision,
    ContextEntry,
    Dependency,
    FeedbackRecord,
    Plan,
    Recommendation,
    Resolution,
    RunbookChunk,
    RunbookHit,
    ServiceNode,
    ServiceSnapshot,
)
from slo_engine.models.audit import AuditEvent
from slo_engine.slo.series import CountSeries

if TYPE_CHECKING:
    from slo_engine.approval.messages import ApprovalMessage
    from slo_engine.approval.models import HumanDecision, PendingApproval
    from slo_engine.discovery.events import ExtractedDependency, RegistryEntry, ServiceChange


@dataclass
class WriteReport:
    """What a store did with a batch: nothing is dropped without being counted here."""

    written: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EdgeTotals:
    """Calls from ``service`` to ``peer`` (direction ``downstream``) or from ``peer`` (``upstream``)."""

    service: str
    peer: str
    direction: str
    requests: int
    errors: int
    last_seen: datetime | None = None
    """When calls on this edge were last seen (the store's resolution); None when the store cannot tell."""


@runtime_checkable
class MetricStore(Protocol):
    """Snapshot and metric history (embedded: SQLite columnar blocks; AWS: AMP + the snapshot store)."""

    resolution_seconds: int

    def write_snapshots(self, snapshots: Iterable[ServiceSnapshot]) -> WriteReport: ...

    def services(self) -> list[str]: ...

    def series(self, service: str, start: int | None = None, end: int | None = None) -> CountSeries: ...

    def totals(self, service: str) -> tuple[int, int]:
        """(requests, errors) over the whole history held."""
        ...

    def edges(self, service: str) -> list[EdgeTotals]: ...


@runtime_checkable
class GraphStore(Protocol):
    """The fleet's structure (embedded: SQLite/embedded graph; production: Neo4j).

    Services are never deleted (a deregistered one is upserted inactive, its edges kept as history). Edges are
    keyed by (from, to, source): ``upsert_dependencies`` inserts or updates them, creating unknown endpoints as
    active services; ``remove_dependencies`` deletes the edges with the given keys (an edge a source no longer
    reports would otherwise cap availability ceilings forever) and returns how many it removed, ignoring unknown
    keys and never touching a service nor the same pair's edges from other sources.
    """

    def upsert_services(self, services: Sequence[ServiceNode]) -> None: ...

    def upsert_dependencies(self, dependencies: Sequence[Dependency]) -> None: ...

    def remove_dependencies(self, edges: Sequence[tuple[str, str, str]]) -> int: ...

    def services(self) -> list[ServiceNode]: ...

    def dependencies(self) -> list[Dependency]: ...


@runtime_checkable
class RunbookIndex(Protocol):
    """Runbook chunks with their resolutions (embedded: local vector index; AWS: OpenSearch / S3 Vectors)."""

    def upsert(self, chunks: Sequence[RunbookChunk]) -> int: ...

    def delete_path(self, repository: str, path: str) -> int: ...

    def search(self, text: str, service: str | None = None, k: int = 5) -> list[RunbookHit]: ...


@runtime_checkable
class StateStore(Protocol):
    """Recommendations, approvals, feedback and past Q&A (embedded: SQLite; AWS: DynamoDB)."""

    def save_recommendations(self, recommendations: Sequence[Recommendation]) -> None: ...

    def get_recommendation(self, recommendation_id: str) -> Recommendation | None: ...

    def list_recommendations(self, service: str | None = None, status: str | None = None) -> list[Recommendation]: ...

    def record_decision(self, decision: ApprovalDecision) -> Recommendation: ...

    def add_feedback(self, feedback: FeedbackRecord) -> None: ...

    def feedback_for(self, service: str) -> list[FeedbackRecord]: ...

    def add_context(self, entry: ContextEntry) -> None: ...

    def context_for(self, service: str, limit: int = 20) -> list[ContextEntry]: ...


@runtime_checkable
class Reasoner(Protocol):
    """The language-model seam. It plans, explains and weighs soft evidence; it never sets a number.

    Embedded: a deterministic reasoner (no model). AWS: Bedrock Converse with tool use.
    Every answer is validated against the pydantic models before anything acts on it.
    """

    def plan(self, services: Sequence[ServiceNode], context: dict[str, list[str]], window_days: int) -> Plan: ...

    def explain(self, recommendation: Recommendation, findings: Sequence[AgentFinding]) -> str: ...

    def extract_resolution(self, heading: str, text: str) -> Resolution: ...

    def answer(self, question: str, context: dict[str, Any]) -> str:
        """Answer a question about a service from the context given (memory, findings, recommendations) only."""
        ...

    def extract_dependencies(self, service: str, text: str, known_services: Sequence[str]) -> list[ExtractedDependency]:
        """Dependencies of ``service`` named in its docs or config text; callers still validate the names."""
        ...


@runtime_checkable
class InventoryStore(Protocol):
    """The registry as the discovery poller last saw it (embedded: SQLite; AWS: DynamoDB), keyed by service id."""

    def load(self) -> dict[str, RegistryEntry]: ...

    def save(self, entries: Sequence[RegistryEntry], removed: Sequence[str]) -> None:
        """Store new or changed entries and forget the removed service ids, in one step where possible."""
        ...


@runtime_checkable
class ChangePublisher(Protocol):
    """Where service changes go (embedded: in memory; AWS: the EventBridge service-change bus)."""

    def publish(self, changes: Sequence[ServiceChange]) -> int:
        """Publish every change or raise; returns how many were published."""
        ...


@runtime_checkable
class AuditLog(Protocol):
    """Append-only record of who changed what and when (embedded: SQLite; AWS: DynamoDB, by service and by actor)."""

    def append(self, event: AuditEvent) -> None: ...

    def for_service(self, service: str, limit: int = 100) -> list[AuditEvent]: ...

    def for_actor(self, actor: str, limit: int = 100) -> list[AuditEvent]: ...


# --- Human approval and outputs (issue 6). Models live in slo_engine.approval.models.


@runtime_checkable
class ApprovalStore(Protocol):
    """Pending approvals with their task tokens, server-side (embedded: SQLite; AWS: DynamoDB). Single-use."""

    def save(self, approval: PendingApproval) -> None: ...

    def get(self, approval_id: str) -> PendingApproval | None: ...

    def decide(self, approval_id: str, decision: HumanDecision) -> PendingApproval: ...

    def list_pending(self) -> list[PendingApproval]: ...


@runtime_checkable
class TaskResumer(Protocol):
    """Resumes a workflow waiting on a task token (AWS: SendTaskSuccess / SendTaskFailure)."""

    def succeed(self, task_token: str, output: dict[str, object]) -> None: ...

    def fail(self, task_token: str, error: str, cause: str) -> None: ...

    def heartbeat(self, task_token: str) -> None:
        """Tell the waiting state the approval is still open (its HeartbeatSeconds timer restarts)."""
        ...


@runtime_checkable
class ApprovalNotifier(Protocol):
    """One channel that asks a human to decide (AWS: SNS email; Slack incoming webhook)."""

    channel: str

    def notify(self, message: ApprovalMessage) -> None: ...


@runtime_checkable
class EventPublisher(Protocol):
    """Domain events such as ``SLOApproved`` (embedded: a JSON Lines log; AWS: EventBridge)."""

    def publish(self, detail_type: str, detail: dict[str, object]) -> None: ...


# --- A service's own documents for the structural mapping (issue 4); rules in knowledge.service_documents.


@runtime_checkable
class ServiceDocuments(Protocol):
    """The text of the files the Knowledge pipeline attributed to each service, keyed per file
    (``knowledge.service_documents.document_key``: repository and path). Embedded: a folder under the data dir;
    AWS: an S3 bucket (``service-docs/<service>/<key digest>.txt``). Texts longer than ``MAX_DOCUMENT_CHARS`` are cut.
    """

    def put(self, service: str, key: str, text: str) -> None:
        """Store (or replace) the document ``key`` of ``service``."""
        ...

    def delete(self, service: str, key: str) -> None:
        """Forget the document ``key`` of ``service``; nothing happens if it is not there."""
        ...

    def for_service(self, service: str, limit: int, max_chars: int) -> list[str]:
        """The service's documents, newest first (ties by key), at most ``limit`` of them and ``max_chars`` in total:
        the document that crosses the budget is cut to what remains (``knowledge.service_documents.bounded``)."""
        ...

    def services_holding(self, key: str) -> list[str]:
        """The services that hold document ``key`` (sorted): where a removed or re-attributed file must be deleted."""
        ...


@runtime_checkable
class RunArtifacts(Protocol):
    """Bulky parts of a run's state document, kept beside it (claim check): Step Functions caps a state's input and
    output at 256 KB, and one run over a fleet's findings is megabytes. Content-addressed names make retries
    harmless."""

    def put(self, run_id: str, name: str, body: bytes) -> str:
        """Store ``body``; returns the URI that ``get`` reads it back from."""
        ...

    def get(self, uri: str) -> bytes:
        """The body stored at ``uri``; KeyError when there is none (expired or never written)."""
        ...

    def discard(self, run_id: str) -> None:
        """Forget a finished run's artifacts once nothing will read them again (a local run hands back its document
        resolved). In AWS the API reads runs back, so S3 leaves them to the bucket's lifecycle."""
        ...
