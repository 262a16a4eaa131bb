"""The inventory diff: what changed in the registry since the last poll, and the poll itself (diff, publish,
then remember). Publishing before saving makes a failed publish repeat on the next poll; a repeated poll of an
unchanged registry emits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from slo_engine.discovery.events import (
    PollReport,
    RegistryEntry,
    RegistryProblem,
    RegistryReading,
    ServiceChange,
)
from slo_engine.ports import ChangePublisher, InventoryStore


def _utc_now() -> datetime:
    return datetime.now(UTC)


def unique_entries(entries: Sequence[RegistryEntry]) -> tuple[list[RegistryEntry], list[RegistryProblem]]:
    """One entry per registry id and per service name (the first by id wins); the others become problems."""
    kept: list[RegistryEntry] = []
    problems: list[RegistryProblem] = []
    ids: set[str] = set()
    names: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: e.service_id):
        if entry.service_id in ids:
            problems.append(RegistryProblem(reference=entry.service_id, problem="service id listed twice; ignored"))
            continue
        if entry.name in names:
            problems.append(
                RegistryProblem(
                    reference=entry.service_id,
                    problem=f"service name {entry.name!r} already registered as {names[entry.name]}; ignored",
                )
            )
            continue
        ids.add(entry.service_id)
        names[entry.name] = entry.service_id
        kept.append(entry)
    return kept, problems


def diff_inventory(
    previous: Mapping[str, RegistryEntry], current: Sequence[RegistryEntry], detected_at: datetime
) -> list[ServiceChange]:
    """Registered (new id), changed (same id, different fingerprint) and deregistered (id gone) services,
    sorted by service name then kind. ``current`` must hold each service id once (see ``unique_entries``)."""
    changes: list[ServiceChange] = []
    seen: set[str] = set()
    for entry in current:
        seen.add(entry.service_id)
        before = previous.get(entry.service_id)
        if before is None:
            changes.append(_change("registered", entry, detected_at))
        elif before.fingerprint() != entry.fingerprint():
            changes.append(_change("changed", entry, detected_at, previous=before))
        # same fingerprint: nothing happened
    for service_id, before in previous.items():
        if service_id not in seen:
            changes.append(_change("deregistered", before, detected_at))
    return sorted(changes, key=lambda change: (change.service, change.kind))


def poll_registry(
    reading: RegistryReading,
    inventory: InventoryStore,
    publisher: ChangePublisher,
    clock: Callable[[], datetime] = _utc_now,
) -> PollReport:
    """Diff a registry reading against the stored inventory, publish the changes, then store the new inventory."""
    entries, duplicates = unique_entries(reading.entries)
    previous = inventory.load()
    readable = {entry.service_id for entry in entries}
    kept = [previous[sid] for sid in reading.unreadable if sid in previous and sid not in readable]
    changes = diff_inventory(previous, [*entries, *kept], clock())
    published = publisher.publish(changes) if changes else 0
    removed = [change.service_id for change in changes if change.kind == "deregistered"]
    updated = [entry for entry in entries if entry.service_id not in previous or _differs(previous, entry)]
    if updated or removed:
        inventory.save(updated, removed)
    counts = {kind: sum(1 for change in changes if change.kind == kind) for kind in ("registered", "changed")}
    return PollReport(
        registered=counts["registered"],
        changed=counts["changed"],
        deregistered=len(removed),
        unchanged=len(entries) + len(kept) - counts["registered"] - counts["changed"],
        published=published,
        changes=changes,
        problems=[*reading.problems, *duplicates],
    )


def _differs(previous: Mapping[str, RegistryEntry], entry: RegistryEntry) -> bool:
    return previous[entry.service_id].fingerprint() != entry.fingerprint()


def _change(
    kind: str, entry: RegistryEntry, detected_at: datetime, previous: RegistryEntry | None = None
) -> ServiceChange:
    return ServiceChange.model_validate(
        {
            "kind": kind,
            "service": entry.name,
            "service_id": entry.service_id,
            "namespace": entry.namespace,
            "attributes": entry.merged_attributes(),
            "previous_attributes": None if previous is None else previous.merged_attributes(),
            "fingerprint": entry.fingerprint(),
            "detected_at": detected_at,
        }
    )
