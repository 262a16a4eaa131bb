"""The inventory diff and the poll: registered, changed and deregistered services become events exactly once,
an unchanged registry emits nothing, and nothing is lost when a read or a publish fails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from slo_engine.discovery.events import RegistryEntry, RegistryInstance, RegistryReading, ServiceChange
from slo_engine.discovery.inventory import diff_inventory, poll_registry
from slo_engine.embedded.inventory_store import InMemoryChangePublisher, SqliteInventoryStore
from slo_engine.ports import ChangePublisher, InventoryStore

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def entry(service_id: str, name: str, **attributes: str) -> RegistryEntry:
    return RegistryEntry(service_id=service_id, name=name, namespace="shop", attributes=attributes)


def poll(entries: list[RegistryEntry], inventory: SqliteInventoryStore, publisher: InMemoryChangePublisher, **kw):
    return poll_registry(RegistryReading(entries=entries, **kw), inventory, publisher, clock=lambda: NOW)


@pytest.fixture
def inventory() -> SqliteInventoryStore:
    return SqliteInventoryStore()


@pytest.fixture
def publisher() -> InMemoryChangePublisher:
    return InMemoryChangePublisher()


def test_the_embedded_stores_implement_their_ports(inventory, publisher) -> None:
    assert isinstance(inventory, InventoryStore)
    assert isinstance(publisher, ChangePublisher)


def test_a_new_service_is_registered(inventory, publisher) -> None:
    report = poll([entry("srv-1", "cart")], inventory, publisher)
    assert [(c.kind, c.service) for c in publisher.published] == [("registered", "cart")]
    assert (report.registered, report.published) == (1, 1)


def test_polling_an_unchanged_registry_twice_emits_nothing_the_second_time(inventory, publisher) -> None:
    poll([entry("srv-1", "cart", tier="1")], inventory, publisher)
    report = poll([entry("srv-1", "cart", tier="1")], inventory, publisher)
    assert len(publisher.published) == 1
    assert (report.registered, report.changed, report.deregistered, report.unchanged) == (0, 0, 0, 1)


def test_changed_attributes_are_one_changed_event_with_the_previous_ones(inventory, publisher) -> None:
    poll([entry("srv-1", "cart", tier="1")], inventory, publisher)
    poll([entry("srv-1", "cart", tier="2")], inventory, publisher)
    change = publisher.published[-1]
    assert (change.kind, change.attributes, change.previous_attributes) == ("changed", {"tier": "2"}, {"tier": "1"})


def test_a_service_gone_from_the_registry_is_deregistered_once(inventory, publisher) -> None:
    poll([entry("srv-1", "cart"), entry("srv-2", "ads")], inventory, publisher)
    poll([entry("srv-1", "cart")], inventory, publisher)
    poll([entry("srv-1", "cart")], inventory, publisher)
    assert [(c.kind, c.service) for c in publisher.published[2:]] == [("deregistered", "ads")]


def test_instances_coming_and_going_are_not_a_change(inventory, publisher) -> None:
    def with_instance(instance_id: str, ip: str) -> RegistryEntry:
        instance = RegistryInstance(instance_id=instance_id, attributes={"AWS_INSTANCE_IPV4": ip, "version": "3"})
        return RegistryEntry(service_id="srv-1", name="cart", instances=(instance,))

    poll([with_instance("task-a", "10.0.0.1")], inventory, publisher)
    report = poll([with_instance("task-b", "10.0.0.2")], inventory, publisher)
    assert report.changed == 0


def test_instance_attributes_all_instances_agree_on_are_service_attributes() -> None:
    instances = (
        RegistryInstance(instance_id="a", attributes={"depends_on": "ledger", "zone": "1"}),
        RegistryInstance(instance_id="b", attributes={"depends_on": "ledger", "zone": "2"}),
        RegistryInstance(instance_id="c", attributes={}),
    )
    merged = RegistryEntry(service_id="s", name="pay", attributes={"tier": "0"}, instances=instances)
    assert merged.merged_attributes() == {"tier": "0", "depends_on": "ledger"}


def test_an_unreadable_service_is_never_taken_as_deregistered(inventory, publisher) -> None:
    poll([entry("srv-1", "cart"), entry("srv-2", "ads")], inventory, publisher)
    report = poll([entry("srv-1", "cart")], inventory, publisher, unreadable=["srv-2"])
    assert report.deregistered == 0
    assert "srv-2" in inventory.load()


def test_two_registry_ids_with_one_name_keep_the_first_and_report_the_other(inventory, publisher) -> None:
    report = poll([entry("srv-2", "cart"), entry("srv-1", "cart")], inventory, publisher)
    assert [c.service_id for c in publisher.published] == ["srv-1"]
    assert "already registered as srv-1" in report.problems[0].problem


def test_a_failed_publish_leaves_the_inventory_so_the_next_poll_emits_again(inventory, publisher) -> None:
    class Unavailable:
        def publish(self, changes):
            raise ConnectionError("bus unavailable")

    with pytest.raises(ConnectionError):
        poll_registry(RegistryReading(entries=[entry("srv-1", "cart")]), inventory, Unavailable())
    poll([entry("srv-1", "cart")], inventory, publisher)
    assert [c.kind for c in publisher.published] == ["registered"]


def test_the_diff_is_sorted_by_service_then_kind() -> None:
    previous = {"srv-9": entry("srv-9", "b-gone"), "srv-2": entry("srv-2", "c", tier="1")}
    current = [entry("srv-1", "a-new"), entry("srv-2", "c", tier="2")]
    changes = diff_inventory(previous, current, NOW)
    assert [(c.service, c.kind) for c in changes] == [
        ("a-new", "registered"),
        ("b-gone", "deregistered"),
        ("c", "changed"),
    ]


def test_a_change_event_needs_an_aware_timestamp() -> None:
    with pytest.raises(ValueError, match="time zone"):
        ServiceChange(kind="registered", service="a", service_id="s", detected_at=datetime(2026, 1, 1))


def test_the_same_change_twice_has_the_same_idempotency_key() -> None:
    first, second = (diff_inventory({}, [entry("srv-1", "cart")], NOW)[0] for _ in range(2))
    assert first.idempotency_key == second.idempotency_key


def test_the_sqlite_inventory_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    store = SqliteInventoryStore(path)
    store.save([entry("srv-1", "cart", tier="1")], [])
    store.close()
    assert SqliteInventoryStore(path).load() == {"srv-1": entry("srv-1", "cart", tier="1")}


def test_saving_removes_the_deregistered_ids(inventory) -> None:
    inventory.save([entry("srv-1", "cart"), entry("srv-2", "ads")], [])
    inventory.save([], ["srv-2"])
    assert list(inventory.load()) == ["srv-1"]
