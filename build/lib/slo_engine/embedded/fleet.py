"""The synthetic fleet: a seeded, deterministic online shop of 36 services with realistic telemetry.

It stands in for a customer's fleet in the demo, the tests and the benchmarks: dependency graph (hard and
soft edges, one cycle), diurnal traffic, incidents that propagate along hard edges, latency histograms, runbooks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import numpy.typing as npt

from slo_engine.models.graph import Dependency, DependencyKind, ServiceGraph, ServiceNode
from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS
from slo_engine.ports import EdgeTotals
from slo_engine.slo.series import CountSeries

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DAY_SECONDS = 86400
DEFAULT_END_EPOCH = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
"""2026-11-01T00:00:00Z: a fixed, day-aligned end so that the same seed gives the same fleet on any day."""

# Known properties of the fleet that the tests and the demo rely on.
WEAK_DEPENDENCY = "legacy-ledger"
"""Attains about 99.3 %: the weakest hard dependency in the fleet."""
CAPPED_SERVICE = "payments"
"""Calls ``legacy-ledger`` on every request; retries mask most ledger failures, so its own history looks
better (about 99.85 %) than the ledger allows. The dependency ceiling must cap it."""
RETRY_MASKING = 0.8
"""Share of ``legacy-ledger`` failures that payments' retries hide from payments' own error count."""
CYCLE = ("inventory", "warehouse-sync")
"""The one cycle of hard edges: inventory -> warehouse-sync -> inventory."""
LOW_TRAFFIC_SERVICE = "report-builder"
"""A few hundred requests a day in total."""
PROPAGATION_SOURCE = "user-profile"
"""A dependency with both a hard caller (``PROPAGATION_HARD_CALLER``) and a soft one (``PROPAGATION_SOFT_CALLER``)."""
PROPAGATION_HARD_CALLER = "loyalty"
PROPAGATION_SOFT_CALLER = "reviews"


@dataclass(frozen=True)
class ServiceSpec:
    """How one synthetic service behaves: traffic from outside the fleet, errors and own latency."""

    name: str
    tier: int
    team: str
    external_rps: float
    """Requests per second from outside the fleet (users, schedulers); callers add to it."""
    baseline_error: float
    own_median_ms: float
    """Median latency of the service's own work; the medians of its hard dependencies add to it."""
    latency_sigma: float = 0.6
    incident_count: int | None = None
    """None: one to four incidents drawn at random."""
    max_incident_ratio: float = 0.4


@dataclass(frozen=True)
class EdgeSpec:
    """``caller`` calls ``callee`` on ``share`` of its requests (hard: synchronous and critical)."""

    caller: str
    callee: str
    kind: DependencyKind
    share: float
    retry_masking: float = 0.0
    """Share of the callee's failures the caller's retries hide (the caller still saw them on the edge)."""


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("edge-gateway", 0, "platform", 2000.0, 2e-5, 3.0, 0.4),
    ServiceSpec("web-frontend", 1, "storefront", 0.0, 5e-5, 25.0, 0.6),
    ServiceSpec("mobile-bff", 1, "mobile", 0.0, 6e-5, 15.0, 0.6),
    ServiceSpec("auth", 1, "identity", 0.0, 2e-5, 4.0, 0.5),
    ServiceSpec("session-store", 1, "identity", 0.0, 1e-5, 1.5, 0.4),
    ServiceSpec("catalog", 1, "catalog", 0.0, 8e-5, 12.0, 0.6),
    ServiceSpec("search", 1, "search", 0.0, 2e-4, 40.0, 0.7),
    ServiceSpec("cart", 1, "checkout", 0.0, 1e-4, 8.0, 0.5),
    ServiceSpec("checkout", 1, "checkout", 0.0, 1e-4, 30.0, 0.6),
    ServiceSpec("payments", 1, "payments", 0.0, 3e-5, 60.0, 0.5, incident_count=1, max_incident_ratio=0.08),
    ServiceSpec("orders", 1, "checkout", 0.0, 1e-4, 20.0, 0.5),
    ServiceSpec("user-profile", 2, "identity", 0.0, 5e-5, 6.0, 0.5, incident_count=3),
    ServiceSpec("pricing", 2, "catalog", 0.0, 5e-5, 5.0, 0.5),
    ServiceSpec("inventory", 2, "fulfilment", 0.0, 2e-4, 8.0, 0.6),
    ServiceSpec("warehouse-sync", 2, "fulfilment", 15.0, 6e-4, 120.0, 0.8),
    ServiceSpec("legacy-ledger", 2, "payments", 0.0, 6.2e-3, 180.0, 0.7, incident_count=3),
    ServiceSpec("fraud-check", 2, "payments", 0.0, 3e-4, 35.0, 0.6),
    ServiceSpec("tax-calculator", 2, "checkout", 0.0, 1e-4, 10.0, 0.5),
    ServiceSpec("currency-rates", 2, "payments", 0.0, 3e-5, 2.0, 0.4),
    ServiceSpec("shipping", 2, "fulfilment", 0.0, 4e-4, 25.0, 0.6),
    ServiceSpec("order-history", 2, "checkout", 0.0, 2e-4, 15.0, 0.6),
    ServiceSpec("feature-flags", 2, "platform", 0.0, 1e-5, 1.0, 0.3),
    ServiceSpec("coupon", 2, "growth", 0.0, 3e-4, 4.0, 0.5),
    ServiceSpec("loyalty", 3, "growth", 0.0, 4e-4, 10.0, 0.6),
    ServiceSpec("recommendations", 2, "discovery", 0.0, 6e-4, 45.0, 0.7),
    ServiceSpec("reviews", 3, "discovery", 0.0, 3e-4, 12.0, 0.6),
    ServiceSpec("ads", 3, "growth", 0.0, 8e-4, 20.0, 0.7),
    ServiceSpec("notifications", 2, "messaging", 0.0, 2e-4, 8.0, 0.5),
    ServiceSpec("email-sender", 3, "messaging", 0.0, 9e-4, 150.0, 0.7),
    ServiceSpec("sms-sender", 3, "messaging", 0.0, 1e-3, 300.0, 0.8),
    ServiceSpec("audit-log", 3, "platform", 0.0, 1e-5, 5.0, 0.4),
    ServiceSpec("report-builder", 3, "finance", 0.004, 5e-4, 2500.0, 0.6),
    ServiceSpec("image-service", 2, "catalog", 0.0, 1e-4, 15.0, 0.6),
    ServiceSpec("search-indexer", 3, "search", 10.0, 5e-4, 200.0, 0.7),
    ServiceSpec("address-validation", 3, "fulfilment", 0.0, 6e-4, 40.0, 0.6),
    ServiceSpec("wishlist", 3, "growth", 0.0, 3e-4, 8.0, 0.5),
)

DEPENDENCIES: tuple[EdgeSpec, ...] = (
    EdgeSpec("edge-gateway", "auth", "hard", 0.95),
    EdgeSpec("edge-gateway", "web-frontend", "hard", 0.55),
    EdgeSpec("edge-gateway", "mobile-bff", "hard", 0.45),
    EdgeSpec("web-frontend", "session-store", "hard", 0.9),
    EdgeSpec("web-frontend", "catalog", "hard", 0.5),
    EdgeSpec("web-frontend", "search", "hard", 0.15),
    EdgeSpec("web-frontend", "cart", "hard", 0.12),
    EdgeSpec("web-frontend", "checkout", "hard", 0.02),
    EdgeSpec("web-frontend", "user-profile", "hard", 0.2),
    EdgeSpec("web-frontend", "recommendations", "soft", 0.4),
    EdgeSpec("web-frontend", "reviews", "soft", 0.25),
    EdgeSpec("web-frontend", "ads", "soft", 0.6),
    EdgeSpec("web-frontend", "feature-flags", "soft", 0.8),
    EdgeSpec("web-frontend", "image-service", "soft", 0.5),
    EdgeSpec("mobile-bff", "session-store", "hard", 0.6),
    EdgeSpec("mobile-bff", "catalog", "hard", 0.5),
    EdgeSpec("mobile-bff", "search", "hard", 0.2),
    EdgeSpec("mobile-bff", "cart", "hard", 0.15),
    EdgeSpec("mobile-bff", "checkout", "hard", 0.025),
    EdgeSpec("mobile-bff", "user-profile", "hard", 0.15),
    EdgeSpec("mobile-bff", "order-history", "hard", 0.05),
    EdgeSpec("mobile-bff", "recommendations", "soft", 0.3),
    EdgeSpec("mobile-bff", "feature-flags", "soft", 0.5),
    EdgeSpec("mobile-bff", "wishlist", "soft", 0.04),
    EdgeSpec("auth", "session-store", "hard", 0.3),
    EdgeSpec("auth", "user-profile", "hard", 0.05),
    EdgeSpec("auth", "audit-log", "soft", 0.02),
    EdgeSpec("catalog", "pricing", "hard", 0.6),
    EdgeSpec("catalog", "inventory", "hard", 0.2),
    EdgeSpec("catalog", "image-service", "soft", 0.3),
    EdgeSpec("catalog", "reviews", "soft", 0.1),
    EdgeSpec("search", "catalog", "hard", 0.3),
    EdgeSpec("search", "pricing", "hard", 0.2),
    EdgeSpec("search", "ads", "soft", 0.3),
    EdgeSpec("cart", "pricing", "hard", 1.0),
    EdgeSpec("cart", "inventory", "hard", 0.5),
    EdgeSpec("cart", "session-store", "hard", 0.5),
    EdgeSpec("cart", "coupon", "soft", 0.1),
    EdgeSpec("checkout", "cart", "hard", 1.0),
    EdgeSpec("checkout", "payments", "hard", 0.9),
    EdgeSpec("checkout", "tax-calculator", "hard", 1.0),
    EdgeSpec("checkout", "shipping", "hard", 1.0),
    EdgeSpec("checkout", "inventory", "hard", 0.9),
    EdgeSpec("checkout", "orders", "hard", 0.9),
    EdgeSpec("checkout", "coupon", "hard", 0.2),
    EdgeSpec("checkout", "loyalty", "soft", 0.9),
    EdgeSpec("checkout", "address-validation", "soft", 0.5),
    EdgeSpec("checkout", "notifications", "soft", 0.9),
    EdgeSpec("payments", "legacy-ledger", "hard", 1.0, retry_masking=RETRY_MASKING),
    EdgeSpec("payments", "fraud-check", "soft", 1.0),
    EdgeSpec("payments", "currency-rates", "soft", 0.3),
    EdgeSpec("payments", "audit-log", "soft", 1.0),
    EdgeSpec("orders", "notifications", "soft", 1.0),
    EdgeSpec("orders", "audit-log", "soft", 1.0),
    EdgeSpec("orders", "warehouse-sync", "soft", 1.0),
    EdgeSpec("order-history", "user-profile", "hard", 0.5),
    EdgeSpec("pricing", "currency-rates", "hard", 0.1),
    EdgeSpec("inventory", "warehouse-sync", "hard", 0.1),
    EdgeSpec("warehouse-sync", "inventory", "hard", 0.6),
    EdgeSpec("fraud-check", "user-profile", "hard", 1.0),
    EdgeSpec("tax-calculator", "currency-rates", "hard", 0.3),
    EdgeSpec("shipping", "address-validation", "hard", 1.0),
    EdgeSpec("shipping", "currency-rates", "hard", 0.2),
    EdgeSpec("notifications", "email-sender", "hard", 0.7),
    EdgeSpec("notifications", "sms-sender", "hard", 0.1),
    EdgeSpec("loyalty", "user-profile", "hard", 1.0),
    EdgeSpec("recommendations", "catalog", "hard", 0.3),
    EdgeSpec("recommendations", "user-profile", "soft", 0.5),
    EdgeSpec("recommendations", "feature-flags", "soft", 0.5),
    EdgeSpec("reviews", "user-profile", "soft", 0.3),
    EdgeSpec("ads", "feature-flags", "soft", 0.3),
    EdgeSpec("report-builder", "order-history", "hard", 1.0),
    EdgeSpec("report-builder", "audit-log", "soft", 1.0),
    EdgeSpec("search-indexer", "catalog", "hard", 1.0),
    EdgeSpec("wishlist", "catalog", "hard", 0.5),
    EdgeSpec("wishlist", "pricing", "soft", 0.5),
)


@dataclass(frozen=True)
class Incident:
    """A root-cause incident on ``service``: ``error_ratio`` of its own requests fail in [start, end)."""

    service: str
    start: int
    """Epoch seconds."""
    end: int
    error_ratio: float


@dataclass(frozen=True)
class EdgeSeries:
    """Calls from ``caller`` to ``callee`` per step, and how many of them failed at the callee."""

    caller: str
    callee: str
    kind: DependencyKind
    share: float
    retry_masking: float
    start: int
    step: int
    calls: IntArray
    errors: IntArray

    @property
    def total_calls(self) -> int:
        return int(self.calls.sum())

    @property
    def total_errors(self) -> int:
        return int(self.errors.sum())


def _rfc3339_seconds(epochs: npt.ArrayLike) -> list[str]:
    stamps = np.datetime_as_string(np.asarray(epochs, dtype=np.int64).astype("datetime64[s]"), unit="s")
    return [f"{s}Z" for s in stamps.tolist()]


def _rollup_1d(values: IntArray, start: int, step: int, new_step: int) -> tuple[int, IntArray]:
    """Sum a per-step array into ``new_step`` buckets aligned to multiples of ``new_step`` (as CountSeries does)."""
    if new_step == step:
        return start, values
    factor = new_step // step
    pad_front = (start % new_step) // step
    pad_back = (-(values.shape[0] + pad_front)) % factor
    padded = np.concatenate([np.zeros(pad_front, np.int64), values, np.zeros(pad_back, np.int64)])
    return start - pad_front * step, padded.reshape(-1, factor).sum(axis=1)


@dataclass
class Fleet:
    """A generated fleet: graph, per-service count series, per-edge calls, runbooks and root incidents."""

    seed: int
    start: int
    end: int
    step_seconds: int
    graph: ServiceGraph
    series: dict[str, CountSeries]
    edges: dict[tuple[str, str], EdgeSeries]
    runbooks: dict[str, str]
    incidents: list[Incident]
    specs: dict[str, ServiceSpec] = field(default_factory=dict)
    error_ratio: dict[str, FloatArray] = field(default_factory=dict, repr=False)
    """The expected error ratio per step of each service (own failures plus those propagated along hard edges)."""

    @property
    def services(self) -> list[str]:
        return [node.name for node in self.graph.services]

    @property
    def bounds(self) -> tuple[float, ...]:
        return next(iter(self.series.values())).bounds

    def history_availability(self, service: str) -> float:
        """Good over total requests of ``service`` over the whole history (never an average of ratios)."""
        s = self.series[service]
        return 1.0 - s.total_errors / s.total_requests if s.total_requests else 1.0

    def hard_dependencies(self, service: str) -> list[str]:
        return [d.to for d in self.graph.dependencies if d.from_ == service and d.kind == "hard"]

    def callers(self, service: str, kind: DependencyKind | None = None) -> list[str]:
        return [d.from_ for d in self.graph.dependencies if d.to == service and (kind is None or d.kind == kind)]

    # ---- edges --------------------------------------------------------------------------------------------

    def edge_totals(self) -> list[EdgeTotals]:
        """Whole-history calls per edge, once as the caller's downstream and once as the callee's upstream."""
        totals: list[EdgeTotals] = []
        for (caller, callee), edge in self.edges.items():
            calls, errors = edge.total_calls, edge.total_errors
            totals.append(
                EdgeTotals(service=caller, peer=callee, direction="downstream", requests=calls, errors=errors)
            )
            totals.append(EdgeTotals(service=callee, peer=caller, direction="upstream", requests=calls, errors=errors))
        return totals

    def edge_daily(self) -> dict[tuple[str, str], tuple[IntArray, IntArray]]:
        """Calls and errors per edge per UTC day of the history."""
        return {
            key: (
                _rollup_1d(edge.calls, self.start, self.step_seconds, DAY_SECONDS)[1],
                _rollup_1d(edge.errors, self.start, self.step_seconds, DAY_SECONDS)[1],
            )
            for key, edge in self.edges.items()
        }

    # ---- snapshots ----------------------------------------------------------------------------------------

    def _snapshot_columns(
        self, step_seconds: int | None, days: int | None
    ) -> tuple[int, list[str], dict[str, dict[str, list[int]]], dict[str, list[tuple[str, str, list[int], list[int]]]]]:
        step = step_seconds or self.step_seconds
        if step % self.step_seconds or DAY_SECONDS % step:
            raise ValueError(f"step_seconds {step} must be a multiple of {self.step_seconds} that divides a day")
        first = 0
        if days is not None:
            first = max(0, len(next(iter(self.series.values()))) - days * DAY_SECONDS // self.step_seconds)
        columns: dict[str, dict[str, list[int]]] = {}
        start = self.start
        for name, full in self.series.items():
            part = CountSeries(
                start=full.start + first * full.step,
                step=full.step,
                requests=full.requests[first:],
                errors=full.errors[first:],
                latency_counts=full.latency_counts[first:],
                bounds=full.bounds,
            ).rollup(step)
            start = part.start
            columns[name] = {
                "requests": part.requests.tolist(),
                "errors": part.errors.tolist(),
                "latency": part.latency_counts.tolist(),
            }
        peers: dict[str, list[tuple[str, str, list[int], list[int]]]] = {name: [] for name in self.series}
        for (caller, callee), edge in self.edges.items():
            origin = edge.start + first * edge.step
            calls = _rollup_1d(edge.calls[first:], origin, edge.step, step)[1].tolist()
            errors = _rollup_1d(edge.errors[first:], origin, edge.step, step)[1].tolist()
            peers[caller].append(("downstream", callee, calls, errors))
            peers[callee].append(("upstream", caller, calls, errors))
        return start, list(self.series), columns, peers

    def snapshot_records(self, step_seconds: int | None = None, days: int | None = None) -> Iterator[dict]:
        """Snapshot-contract dicts, one per service per step with traffic, in time order (then service order).

        ``step_seconds`` rolls the fleet's steps up (a multiple of the fleet's step); ``days`` keeps the last days.
        """
        step = step_seconds or self.step_seconds
        start, names, columns, peers = self._snapshot_columns(step_seconds, days)
        steps = len(columns[names[0]]["requests"])
        stamps = _rfc3339_seconds(start + step * np.arange(steps, dtype=np.int64))
        bounds = list(self.bounds)
        for i in range(steps):
            for name in names:
                col = columns[name]
                requests = col["requests"][i]
                if requests == 0:
                    continue
                upstream: dict[str, dict[str, int]] = {}
                downstream: dict[str, dict[str, int]] = {}
                for direction, peer, calls, errors in peers[name]:
                    if calls[i]:
                        target = downstream if direction == "downstream" else upstream
                        target[peer] = {"requests": calls[i], "errors": errors[i]}
                yield {
                    "service": name,
                    "window_start": stamps[i],
                    "window_seconds": step,
                    "requests": requests,
                    "errors": col["errors"][i],
                    "latency_ms": {"bounds": bounds, "counts": col["latency"][i]},
                    "upstream": upstream,
                    "downstream": downstream,
                }

    def write_snapshots_jsonl(self, path: str | Path, days: int | None = None, step_seconds: int | None = None) -> int:
        """Write ``snapshot_records`` as JSON Lines (optionally only the last ``days``); returns lines written."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        lines = 0
        with target.open("w", encoding="utf-8") as out:
            buffer: list[str] = []
            for record in self.snapshot_records(step_seconds=step_seconds, days=days):
                buffer.append(dumps(record))
                if len(buffer) >= 20000:
                    out.write("\n".join(buffer) + "\n")
                    lines += len(buffer)
                    buffer.clear()
            if buffer:
                out.write("\n".join(buffer) + "\n")
                lines += len(buffer)
        return lines

    # ---- raw events ---------------------------------------------------------------------------------------

    def raw_events(
        self,
        minutes: int = 5,
        rate_scale: float = 0.01,
        end_epoch: int | None = None,
        *,
        seed: int | None = None,
        jitter_share: float = 0.01,
        max_jitter_ms: int = 2000,
    ) -> Iterator[dict]:
        """RawEvent-compatible dicts for the last ``minutes`` of the history (rounded up to whole steps),
        ``rate_scale`` of the traffic.

        Server spans (``peer`` None) follow each service's requests, error ratio and latency histogram of
        the step they fall in; client spans (``peer`` = callee) follow the edge's calls and errors. Events come
        in time order except ``jitter_share`` of them, delivered up to ``max_jitter_ms`` late. ``end_epoch``
        moves the whole slice so that it ends there (default: the fleet's end).
        """
        rng = np.random.default_rng(self.seed * 7919 + 17 if seed is None else seed)
        per_step = self.step_seconds
        steps = max(1, math.ceil(minutes * 60 / per_step))
        total_steps = len(next(iter(self.series.values())))
        first = total_steps - steps
        shift_ms = ((end_epoch if end_epoch is not None else self.end) - self.end) * 1000
        origin_ms = (self.start + first * per_step) * 1000 + shift_ms
        step_ms = per_step * 1000
        bounds = np.asarray(self.bounds, dtype=np.float64)
        lowers = np.concatenate([[0.0], bounds])
        uppers = np.concatenate([bounds, [bounds[-1] * 3.0]])
        names = self.services
        index = {name: i for i, name in enumerate(names)}

        parts_service: list[IntArray] = []
        parts_peer: list[IntArray] = []
        parts_ts: list[IntArray] = []
        parts_dur: list[FloatArray] = []
        parts_err: list[npt.NDArray[np.bool_]] = []

        def draw(service: str, peer: str | None, calls: IntArray, errors: IntArray, latency_of: str) -> None:
            n_per_step = rng.binomial(calls, rate_scale)
            total = int(n_per_step.sum())
            if total == 0:
                return
            step_of = np.repeat(np.arange(steps), n_per_step)
            ratio = np.divide(errors, calls, out=np.zeros(steps), where=calls > 0)
            failed = rng.random(total) < ratio[step_of]
            hist = self.series[latency_of].latency_counts[first:].astype(np.float64)
            cum = np.cumsum(hist, axis=1)
            cum /= np.maximum(cum[:, -1:], 1.0)
            bucket = (rng.random(total)[:, None] >= cum[step_of]).sum(axis=1)
            bucket = np.minimum(bucket, bounds.size)
            low, high = lowers[bucket], uppers[bucket]
            duration = np.round(low + (high - low) * (1.0 - rng.random(total)), 3)
            duration = np.clip(duration, np.minimum(low + 0.001, high), high)
            parts_service.append(np.full(total, index[service], np.int64))
            parts_peer.append(np.full(total, -1 if peer is None else index[peer], np.int64))
            parts_ts.append(origin_ms + step_of * step_ms + rng.integers(0, step_ms, total))
            parts_dur.append(duration)
            parts_err.append(failed)

        for name in names:
            s = self.series[name]
            draw(name, None, s.requests[first:], s.errors[first:], name)
        for (caller, callee), edge in self.edges.items():
            draw(caller, callee, edge.calls[first:], edge.errors[first:], callee)
        if not parts_ts:
            return
        service_ids = np.concatenate(parts_service)
        peer_ids = np.concatenate(parts_peer)
        ts = np.concatenate(parts_ts)
        durations = np.concatenate(parts_dur)
        failed = np.concatenate(parts_err)
        delay = np.where(rng.random(ts.size) < jitter_share, rng.integers(1, max_jitter_ms + 1, ts.size), 0)
        order = np.lexsort((peer_ids, service_ids, ts + delay))
        stamps = np.datetime_as_string(ts[order].astype("datetime64[ms]"), unit="ms").tolist()
        for stamp, sid, pid, dur, err in zip(
            stamps,
            service_ids[order].tolist(),
            peer_ids[order].tolist(),
            durations[order].tolist(),
            failed[order].tolist(),
            strict=True,
        ):
            yield {
                "service": names[sid],
                "timestamp": f"{stamp}Z",
                "duration_ms": dur,
                "error": err,
                "peer": None if pid < 0 else names[pid],
            }

    # ---- files ----------------------------------------------------------------------------------------------

    def graph_document(self) -> dict:
        """The graph file format: ``{"services": [...], "dependencies": [{"from", "to", "kind"}]}``."""
        return {
            "services": [{"name": s.name, "tier": s.tier, "attributes": s.attributes} for s in self.graph.services],
            "dependencies": [{"from": d.from_, "to": d.to, "kind": d.kind} for d in self.graph.dependencies],
        }

    def write_graph_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.graph_document(), indent=2) + "\n", encoding="utf-8")
        return target

    def write_runbooks(self, root: str | Path) -> list[Path]:
        """Write the runbooks under ``root`` (their relative paths kept); returns the files written."""
        written: list[Path] = []
        for relative, text in sorted(self.runbooks.items()):
            target = Path(root) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        return written


# ---- generation ---------------------------------------------------------------------------------------------


def _traffic_shape(epochs: IntArray) -> FloatArray:
    """Diurnal sinusoid peaking at 18:00 UTC, at 45 % amplitude, with a 25 % weekend dip."""
    hours = (epochs % DAY_SECONDS) / 3600.0
    daily = 1.0 + 0.45 * np.cos(2.0 * np.pi * (hours - 18.0) / 24.0)
    weekday = ((epochs // DAY_SECONDS) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    return daily * np.where(weekday >= 5, 0.75, 1.0)


def _back_edges(specs: tuple[EdgeSpec, ...], external_rps: dict[str, float]) -> set[tuple[str, str]]:
    """Edges whose removal leaves the call graph acyclic, one per cycle, chosen deterministically.

    In each cycle the edge removed is the one whose caller has the most outside traffic: its calls can be
    drawn from that traffic before the cycle is entered.
    """
    graph = nx.DiGraph()
    graph.add_edges_from((e.caller, e.callee) for e in specs)
    removed: set[tuple[str, str]] = set()
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return removed
        caller, callee = max(((u, v) for u, v, *_ in cycle), key=lambda e: external_rps.get(e[0], 0.0))
        graph.remove_edge(caller, callee)
        removed.add((caller, callee))


def _draw_incidents(
    rng: np.random.Generator, spec: ServiceSpec, start: int, steps: int, step_seconds: int
) -> list[Incident]:
    count = spec.incident_count if spec.incident_count is not None else int(rng.integers(1, 5))
    incidents: list[Incident] = []
    for _ in range(count):
        minutes = float(np.exp(rng.uniform(np.log(5.0), np.log(90.0))))
        length = max(1, round(minutes * 60 / step_seconds))
        first = int(rng.integers(0, max(1, steps - length)))
        ratio = float(np.exp(rng.uniform(np.log(0.02), np.log(max(0.0201, spec.max_incident_ratio)))))
        incidents.append(
            Incident(
                service=spec.name,
                start=start + first * step_seconds,
                end=start + (first + length) * step_seconds,
                error_ratio=round(ratio, 4),
            )
        )
    return sorted(incidents, key=lambda i: i.start)


def _normal_cdf(x: FloatArray) -> FloatArray:
    erf = np.frompyfunc(math.erf, 1, 1)
    return 0.5 * (1.0 + np.asarray(erf(x / math.sqrt(2.0)), dtype=np.float64))


def _bucket_probabilities(log_medians: FloatArray, sigma: float, bounds: tuple[float, ...]) -> FloatArray:
    """Probability of each histogram bucket under a log-normal, one row per log-median."""
    log_bounds = np.log(np.asarray(bounds, dtype=np.float64))
    cdf = _normal_cdf((log_bounds[None, :] - log_medians[:, None]) / sigma)
    cdf = np.concatenate([np.zeros((cdf.shape[0], 1)), cdf, np.ones((cdf.shape[0], 1))], axis=1)
    return np.clip(np.diff(cdf, axis=1), 0.0, 1.0)


def _latency_histograms(
    rng: np.random.Generator,
    requests: IntArray,
    log_medians: FloatArray,
    sigma: float,
    bounds: tuple[float, ...],
) -> IntArray:
    """Bucket counts per step that sum exactly to the step's requests (multinomial per step)."""
    quantized = np.round(log_medians / 0.02).astype(np.int64)
    levels, inverse = np.unique(quantized, return_inverse=True)
    probabilities = _bucket_probabilities(levels.astype(np.float64) * 0.02, sigma, bounds)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    if levels.size == 1:
        return rng.multinomial(requests, probabilities[0]).astype(np.int64)
    return rng.multinomial(requests, probabilities[inverse]).astype(np.int64)


def _propagated_error_ratios(
    own: dict[str, FloatArray], hard_edges: list[EdgeSpec], names: list[str]
) -> dict[str, FloatArray]:
    """Error ratio per step once hard dependencies' failures reach callers.

    A caller fails when its own work fails or when a call to a hard dependency fails and its retries do not
    mask it: 1 - eff = (1 - own) * prod(1 - share * (1 - masking) * eff_dependency). Solved callees first over
    the strongly connected components; inside a cycle, by fixed-point iteration (the shares make it contract).
    Soft edges never propagate.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    graph.add_edges_from((e.caller, e.callee) for e in hard_edges)
    outgoing: dict[str, list[EdgeSpec]] = {name: [] for name in names}
    for edge in hard_edges:
        outgoing[edge.caller].append(edge)
    eff = {name: own[name].copy() for name in names}
    condensed = nx.condensation(graph)
    for component in reversed(list(nx.topological_sort(condensed))):
        members = sorted(condensed.nodes[component]["members"], key=names.index)
        for _ in range(1 if len(members) == 1 else 60):
            change = 0.0
            for name in members:
                ok = 1.0 - own[name]
                for edge in outgoing[name]:
                    ok = ok * (1.0 - edge.share * (1.0 - edge.retry_masking) * eff[edge.callee])
                updated = np.clip(1.0 - ok, 0.0, 1.0)
                change = max(change, float(np.max(np.abs(updated - eff[name]))))
                eff[name] = updated
            if change < 1e-12:
                break
    return eff


def _median_latencies(specs: dict[str, ServiceSpec], hard_edges: list[EdgeSpec]) -> dict[str, float]:
    """A service's median grows with its hard dependencies' medians (calls in sequence, weighted by share)."""
    medians = {name: spec.own_median_ms for name, spec in specs.items()}
    for _ in range(200):
        updated = {name: specs[name].own_median_ms for name in specs}
        for edge in hard_edges:
            updated[edge.caller] += edge.share * medians[edge.callee]
        if all(abs(updated[n] - medians[n]) < 1e-9 for n in specs):
            break
        medians = updated
    return medians


def generate_fleet(
    seed: int = 7,
    days: int = 28,
    step_seconds: int = 60,
    end_epoch: int | None = None,
    bounds: tuple[float, ...] = DEFAULT_LATENCY_BOUNDS_MS,
) -> Fleet:
    """Generate the synthetic shop over [end - days, end), one step every ``step_seconds``.

    Requests flow from outside traffic through the call graph (a callee's requests are its outside traffic
    plus every call it receives); errors are drawn per source from the callee's error ratio, so a service's
    errors are exactly the sum of what each caller saw plus its outside traffic's failures. Deterministic:
    the same arguments give identical arrays.

    Why payments looks better than its ledger allows: payments calls ``legacy-ledger`` on every request and
    retries, which hides about 80 % of ledger failures from payments' own error count. Its history then claims
    about 99.85 % while a ledger at 99.3 % only guarantees about 99.3 % of payments' requests succeed on the first
    try; the masking is luck, not a property payments can promise, so the dependency ceiling caps payments.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if step_seconds <= 0 or DAY_SECONDS % step_seconds:
        raise ValueError(f"step_seconds {step_seconds} must divide a day")
    end = DEFAULT_END_EPOCH if end_epoch is None else int(end_epoch)
    end -= end % step_seconds
    start = end - days * DAY_SECONDS
    steps = days * DAY_SECONDS // step_seconds
    rng = np.random.default_rng(seed)

    specs = {spec.name: spec for spec in SERVICES}
    names = list(specs)
    epochs = start + step_seconds * np.arange(steps, dtype=np.int64)
    shape = _traffic_shape(epochs)

    # Traffic: outside requests, then calls down the graph in topological order (cycle back edges use the
    # caller's outside traffic, which is known before the cycle is entered).
    external = {
        name: (
            rng.poisson(spec.external_rps * step_seconds * shape * np.exp(rng.normal(0.0, 0.06, steps)))
            if spec.external_rps > 0
            else np.zeros(steps, np.int64)
        ).astype(np.int64)
        for name, spec in specs.items()
    }
    back = _back_edges(DEPENDENCIES, {name: spec.external_rps for name, spec in specs.items()})
    forward_graph = nx.DiGraph()
    forward_graph.add_nodes_from(names)
    forward_graph.add_edges_from((e.caller, e.callee) for e in DEPENDENCIES if (e.caller, e.callee) not in back)
    order = list(nx.lexicographical_topological_sort(forward_graph, key=names.index))
    requests = {name: external[name].copy() for name in names}
    calls: dict[tuple[str, str], IntArray] = {}
    for edge in DEPENDENCIES:
        if (edge.caller, edge.callee) in back:
            calls[(edge.caller, edge.callee)] = rng.binomial(external[edge.caller], edge.share).astype(np.int64)
            requests[edge.callee] += calls[(edge.caller, edge.callee)]
    for name in order:
        for edge in DEPENDENCIES:
            if edge.caller == name and (edge.caller, edge.callee) not in back:
                drawn = rng.binomial(requests[name], edge.share).astype(np.int64)
                calls[(edge.caller, edge.callee)] = drawn
                requests[edge.callee] += drawn

    # Errors: a baseline that follows load, root incidents, then propagation along hard edges.
    incidents: list[Incident] = []
    own: dict[str, FloatArray] = {}
    for name, spec in specs.items():
        ratio = spec.baseline_error * (0.8 + 0.2 * shape)
        for incident in _draw_incidents(rng, spec, start, steps, step_seconds):
            first, last = (incident.start - start) // step_seconds, (incident.end - start) // step_seconds
            ratio[first:last] = 1.0 - (1.0 - ratio[first:last]) * (1.0 - incident.error_ratio)
            incidents.append(incident)
        own[name] = ratio
    hard_edges = [e for e in DEPENDENCIES if e.kind == "hard"]
    eff = _propagated_error_ratios(own, hard_edges, names)

    edge_errors = {key: rng.binomial(drawn, eff[key[1]]).astype(np.int64) for key, drawn in calls.items()}
    errors = {name: rng.binomial(external[name], eff[name]).astype(np.int64) for name in names}
    for (_, callee), failed in edge_errors.items():
        errors[callee] += failed

    # Latency: log-normal per service; the median follows hard dependencies, load and incidents.
    medians = _median_latencies(specs, hard_edges)
    series: dict[str, CountSeries] = {}
    for name in names:
        spec = specs[name]
        baseline = spec.baseline_error * (0.8 + 0.2 * shape)
        slowdown = 1.0 + 6.0 * np.clip(eff[name] - baseline, 0.0, None)
        log_medians = np.log(medians[name]) + np.log(1.0 + 0.15 * (shape - 1.0)) + np.log(slowdown)
        series[name] = CountSeries(
            start=start,
            step=step_seconds,
            requests=requests[name],
            errors=errors[name],
            latency_counts=_latency_histograms(rng, requests[name], log_medians, spec.latency_sigma, bounds),
            bounds=tuple(bounds),
        )

    edge_kinds = {(e.caller, e.callee): e for e in DEPENDENCIES}
    edges = {
        key: EdgeSeries(
            caller=key[0],
            callee=key[1],
            kind=edge_kinds[key].kind,
            share=edge_kinds[key].share,
            retry_masking=edge_kinds[key].retry_masking,
            start=start,
            step=step_seconds,
            calls=calls[key],
            errors=edge_errors[key],
        )
        for key in ((e.caller, e.callee) for e in DEPENDENCIES)
    }
    graph = ServiceGraph(
        services=[ServiceNode(name=s.name, tier=s.tier, attributes={"team": s.team}) for s in SERVICES],
        dependencies=[Dependency(**{"from": e.caller, "to": e.callee, "kind": e.kind}) for e in DEPENDENCIES],
    )
    return Fleet(
        seed=seed,
        start=start,
        end=end,
        step_seconds=step_seconds,
        graph=graph,
        series=series,
        edges=edges,
        runbooks=dict(RUNBOOKS),
        incidents=sorted(incidents, key=lambda i: (i.start, i.service)),
        specs=specs,
        error_ratio=eff,
    )


# ---- runbooks -----------------------------------------------------------------------------------------------

RUNBOOKS: dict[str, str] = {
    "runbooks/payments/LegacyLedgerTimeouts.md": """# payments: legacy-ledger timeouts

Service: payments
Dependency: legacy-ledger (hard, called on every payment authorisation)
Alerts: PaymentsLedgerTimeouts, PaymentsHighErrorRate

## Symptoms
- `payments` p99 latency above 2 s and the retry counter `ledger_retries_total` climbing.
- Errors on the payments -> legacy-ledger edge above 2 % while payments' own error rate still looks normal:
  retries hide most ledger failures until they run out.
- Checkout reports "payment pending" for orders that were charged.

## Likely cause
The legacy-ledger mainframe gateway runs out of sessions during its nightly batch window or after a deploy of
the ledger adapter; calls queue until the 800 ms client timeout, then payments retries up to three times.

## Mitigation
1. Confirm the ledger is the source: compare the edge error rate with payments' own error rate on the
   payments dashboard.
2. Lower the retry budget so retries stop amplifying load on the ledger, and enable deferred posting
   (payments writes ledger entries to its outbox and posts them later):

   ```shell
   kubectl -n payments set env deployment/payments LEDGER_MAX_RETRIES=1 LEDGER_DEFERRED_POSTING=true
   ```
3. Ask the ledger on-call to recycle the gateway sessions (runbook legacy-ledger/ConnectionPoolExhausted).
4. When the edge error rate is back under 0.5 %, drain the outbox and restore the retry settings.

Expected time to mitigate: 15 minutes

## Escalation
Payments on-call, then the finance-systems team that owns the ledger.
""",
    "runbooks/legacy-ledger/ConnectionPoolExhausted.md": """# legacy-ledger: gateway connection pool exhausted

Service: legacy-ledger
Alerts: LedgerPoolExhausted, LedgerHighErrorRate

## Symptoms
- `legacy-ledger` returns 503 "no session available" to payments.
- Active sessions pinned at the pool maximum (64) on every gateway pod.

## Likely cause
Long-running reconciliation jobs hold sessions; the pool is sized for payment traffic only. A leaked session
after a gateway restart has the same signature.

## Mitigation
1. Pause the reconciliation job so sessions free up:

   ```shell
   kubectl -n ledger patch cronjob/ledger-reconcile -p '{"spec":{"suspend":true}}'
   ```
2. Recycle the gateway pods one at a time to drop leaked sessions.
3. Watch the session gauge fall below 48 before resuming the job off-peak.

Expected time to mitigate: 20 minutes

## Escalation
Finance-systems on-call; the mainframe operations desk if sessions stay pinned after the restart.
""",
    "runbooks/checkout/HighErrorRate.md": """# checkout: high error rate

Service: checkout
Alerts: CheckoutHighErrorRate, CheckoutErrorBudgetBurn

## Symptoms
- Checkout 5xx ratio above 1 % for 5 minutes; order confirmations drop on the business dashboard.
- The error budget burn-rate alert pages (fast window).

## Likely cause
Checkout fails whenever one of its hard dependencies fails: cart, payments, tax-calculator, shipping,
inventory or orders. Most pages trace back to one of them; a bad checkout deploy is the second cause.

## Mitigation
1. Open the checkout dependency panel and find the downstream edge whose errors rose first.
2. If a dependency is the cause, follow its runbook and tell the incident channel which one.
3. If checkout itself is the cause (errors without a dependency behind them), roll back the last deploy:

   ```shell
   kubectl -n checkout rollout undo deployment/checkout
   ```
4. Keep the incident open until the 1-hour burn rate falls under 1.

Expected time to mitigate: 20 minutes

## Escalation
Checkout on-call, then the incident commander for anything touching payments.
""",
    "runbooks/inventory/WarehouseSyncFeedbackLoop.md": """# inventory: feedback loop with warehouse-sync

Service: inventory
Dependency: warehouse-sync (hard), which calls inventory back (hard): a circular dependency
Alerts: InventoryLatencyHigh, WarehouseSyncQueueDepth

## Symptoms
- Inventory and warehouse-sync latency rise together; neither recovers on its own.
- Reservation requests time out in cart and checkout.

## Likely cause
A stock reservation in inventory triggers a warehouse-sync call, and warehouse-sync confirms stock by calling
inventory again. When either slows down, requests hold threads on both sides and the loop amplifies load.

## Mitigation
1. Break the loop: switch warehouse-sync to its asynchronous confirmation mode.

   ```shell
   kubectl -n fulfilment set env deployment/warehouse-sync CONFIRM_MODE=async
   ```
2. Scale inventory out by two replicas to drain the queued reservations.
3. Once latency is normal, keep async mode on and file a ticket to remove the synchronous call.

Expected time to mitigate: 30 minutes

## Escalation
Fulfilment on-call.
""",
    "runbooks/edge-gateway/Elevated5xx.md": """# edge-gateway: elevated 5xx

Service: edge-gateway
Alerts: EdgeGateway5xxRate, EdgeGatewayErrorBudgetBurn

## Symptoms
- 5xx ratio at the gateway above 0.5 % across every route, or on one route group.
- Upstream connect errors or "no healthy upstream" in the gateway access log.

## Likely cause
A failing backend (web-frontend, mobile-bff or auth) behind a route group, or a bad gateway configuration
push (route or TLS change).

## Mitigation
1. Split the 5xx by route group to see whether one backend is behind it.
2. If every route fails after a configuration push, roll back the gateway configuration:

   ```shell
   kubectl -n edge rollout undo deployment/edge-gateway
   ```
3. If one backend is failing, shift its traffic to the healthy region with the traffic manager and page that
   backend's on-call.

Expected time to mitigate: 10 minutes

## Escalation
Platform on-call, then the incident commander.
""",
    "runbooks/auth/TokenValidationSlow.md": """# auth: token validation slow

Service: auth
Dependency: session-store (hard)
Alerts: AuthLatencyP99High

## Symptoms
- Auth p99 above 100 ms; every page load slows down because the gateway validates tokens on each request.
- Key-set refreshes in the auth log more than once a minute.

## Likely cause
The signing key cache is cold after a deploy or a key rotation, so every validation fetches the key set, or
session-store is slow.

## Mitigation
1. Check session-store latency first; if it is high, follow session-store/EvictionStorm.
2. Otherwise warm the key cache by restarting auth pods one at a time:

   ```shell
   kubectl -n identity rollout restart deployment/auth
   ```
3. Confirm the key-set refresh rate falls back to once per hour.

Expected time to mitigate: 15 minutes
""",
    "runbooks/search/SlowQueries.md": """# search: slow queries

Service: search
Alerts: SearchLatencyP95High

## Symptoms
- Search p95 above 500 ms; results time out in web-frontend and mobile-bff.
- Index CPU saturated on one or two shards.

## Likely cause
A hot shard after a catalog bulk import, or an unbounded wildcard query from a new client.

## Mitigation
1. Find the slowest query patterns in the search slow log.
2. Block unbounded wildcard queries at the search API:

   ```shell
   kubectl -n search set env deployment/search MAX_WILDCARD_TERMS=50
   ```
3. If one shard is hot, ask search-indexer to pause the bulk import and let the shard rebalance.

Expected time to mitigate: 25 minutes

## Escalation
Search on-call.
""",
    "runbooks/catalog/CacheStampede.md": """# catalog: cache stampede

Service: catalog
Dependencies: pricing (hard), inventory (hard)
Alerts: CatalogLatencyHigh, PricingRequestRateSpike

## Symptoms
- Catalog latency and pricing request rate jump together right after a cache flush or a catalog deploy.
- Cache hit ratio under 60 %.

## Likely cause
Product pages expired at the same time and every miss goes to pricing and inventory at once.

## Mitigation
1. Enable request coalescing so one miss per product reaches pricing:

   ```shell
   kubectl -n catalog set env deployment/catalog CACHE_COALESCE=true CACHE_TTL_JITTER=30s
   ```
2. Watch the hit ratio recover above 90 %.
3. Leave TTL jitter on; remove coalescing only after the next load test.

Expected time to mitigate: 10 minutes
""",
    "runbooks/session-store/EvictionStorm.md": """# session-store: eviction storm

Service: session-store
Alerts: SessionStoreEvictions, SessionStoreMemoryHigh

## Symptoms
- Users are logged out at random; auth, web-frontend, mobile-bff and cart see session misses.
- Evictions per second above 1,000 and memory at the max-memory limit.

## Likely cause
A traffic peak or a bug that writes oversized sessions fills memory; the least-recently-used policy then
evicts live sessions.

## Mitigation
1. Find the largest keys with the memory report.
2. Add memory headroom by scaling the cluster out by one shard:

   ```shell
   aws elasticache modify-replication-group-shard-configuration \\
     --replication-group-id session-store --node-group-count 4 --apply-immediately
   ```
3. If a deploy introduced oversized sessions, roll it back in the service that writes them.

Expected time to mitigate: 20 minutes

## Escalation
Identity on-call.
""",
    "runbooks/notifications/EmailProviderBacklog.md": """# notifications: email provider backlog

Service: notifications
Dependencies: email-sender (hard), sms-sender (hard)
Alerts: EmailSenderErrors, NotificationsQueueDepth

## Symptoms
- Order confirmation emails arrive late; the notifications queue grows.
- email-sender returns 429 or 5xx from the provider.

## Likely cause
The email provider throttles the account (a marketing send shares the same quota) or has an outage.

## Mitigation
1. Check the provider status page and the email-sender 429 count.
2. Pause marketing sends so transactional mail gets the quota:

   ```shell
   kubectl -n messaging scale deployment/campaign-sender --replicas=0
   ```
3. If the provider is down, switch email-sender to the secondary provider and keep the queue draining.

Expected time to mitigate: 45 minutes
""",
    "runbooks/pricing/CurrencyRatesStale.md": """# pricing: currency rates stale

Service: pricing
Dependency: currency-rates (hard)
Alerts: CurrencyRatesStale, PricingErrorRate

## Symptoms
- Prices in non-euro currencies stop changing; pricing logs "rate older than 24h".
- Pricing rejects conversions once the staleness limit is reached.

## Likely cause
The currency-rates fetch job failed (expired API key at the rate provider or a network policy change).

## Mitigation
1. Check the last successful fetch time of currency-rates.
2. Re-run the fetch job by hand:

   ```shell
   kubectl -n payments create job --from=cronjob/currency-rates-fetch currency-rates-fetch-manual
   ```
3. If the provider key expired, rotate it in the secret store and re-run step 2.

Expected time to mitigate: 15 minutes
""",
    "runbooks/report-builder/ReportJobTimeouts.md": """# report-builder: report jobs time out

Service: report-builder
Dependency: order-history (hard)
Alerts: ReportBuilderFailures

## Symptoms
- Finance reports fail with timeouts; report-builder serves only a few hundred requests a day, so a handful
  of failures is a large share of them.

## Likely cause
Month-end reports scan order-history without a date bound and hit its 30 s query timeout.

## Mitigation
1. Re-run the failed report with an explicit date range.
2. Raise the report worker timeout for the month-end run:

   ```shell
   kubectl -n finance set env deployment/report-builder QUERY_TIMEOUT_SECONDS=120
   ```
3. Open a ticket to add the date bound to the report template.

Expected time to mitigate: 60 minutes
""",
    "runbooks/user-profile/DatabaseFailover.md": """# user-profile: database failover

Service: user-profile
Alerts: UserProfileErrorRate, UserProfileDbReplicaLag

## Symptoms
- user-profile returns 5xx for writes and some reads; loyalty, fraud-check and order-history fail with it.
- Replica lag above 30 s or the primary unreachable.

## Likely cause
The primary database instance failed or is being patched and the failover did not complete.

## Mitigation
1. Check the cluster status and which instance is the writer.
2. Force the failover to the healthy replica:

   ```shell
   aws rds failover-db-cluster --db-cluster-identifier user-profile-prod
   ```
3. Restart user-profile pods so connection pools pick up the new writer.

Expected time to mitigate: 10 minutes

## Escalation
Identity on-call and the database team.
""",
    "runbooks/fraud-check/FailOpenMode.md": """# fraud-check: fail-open mode

Service: fraud-check
Caller: payments (soft: payments continues without a score)
Alerts: FraudCheckErrorRate

## Symptoms
- fraud-check errors above 5 %; payments logs "fraud score unavailable, continuing".

## Likely cause
The scoring model deployment is unhealthy (out of memory after a model update).

## Mitigation
1. Confirm payments is failing open (payments' own error rate is unchanged).
2. Roll back the scoring model:

   ```shell
   kubectl -n payments rollout undo deployment/fraud-check
   ```
3. Ask the risk team to review payments accepted without a score during the incident.

Expected time to mitigate: 5 minutes
""",
}
