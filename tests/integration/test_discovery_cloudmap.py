"""Discovery end to end on a moto Cloud Map registry: services are added, changed and removed between polls, and
each poll yields exactly the right events, which the structural mapping turns into the right graph updates (in the
embedded Cypher database). Also the poller entrypoint with its AWS adapters (DynamoDB inventory, EventBridge bus).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from slo_engine.adapters.aws.cloudmap import CloudMapRegistry, NamespaceNotFoundError
from slo_engine.discovery.inventory import poll_registry
from slo_engine.discovery.mapping import StructuralMapper
from slo_engine.embedded.inventory_store import InMemoryChangePublisher, SqliteInventoryStore
from slo_engine.embedded.reasoner import DeterministicReasoner

REGION = "us-east-1"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


class Registry:
    """A small Cloud Map registry driven like an operator would: services with attributes and instances."""

    def __init__(self) -> None:
        self.client = boto3.client("servicediscovery", region_name=REGION)
        self.client.create_http_namespace(Name="shop")
        self.namespace_id = self.client.list_namespaces()["Namespaces"][0]["Id"]
        self.ids: dict[str, str] = {}

    def add(self, name: str, instances: dict[str, dict[str, str]], tags: dict[str, str] | None = None) -> None:
        service = self.client.create_service(
            Name=name,
            NamespaceId=self.namespace_id,
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )["Service"]
        self.ids[name] = service["Id"]
        for instance_id, attributes in instances.items():
            self.client.register_instance(ServiceId=service["Id"], InstanceId=instance_id, Attributes=attributes)

    def remove(self, name: str) -> None:
        service_id = self.ids.pop(name)
        for instance in self.client.list_instances(ServiceId=service_id)["Instances"]:
            self.client.deregister_instance(ServiceId=service_id, InstanceId=instance["Id"])
        self.client.delete_service(Id=service_id)


@pytest.fixture
def registry(aws: None) -> Registry:
    cloud_map = Registry()
    cloud_map.add(
        "checkout", {"checkout-1": {"depends_on": "payments,cart", "AWS_INSTANCE_IPV4": "10.0.0.1"}}, {"tier": "1"}
    )
    cloud_map.add("payments", {"payments-1": {"LEDGER_URL": "http://ledger.shop:8080"}}, {"tier": "0"})
    cloud_map.add("cart", {"cart-1": {"depends_on": "checkout"}})
    cloud_map.add("ads", {"ads-1": {"team": "growth"}})
    return cloud_map


class Discovery:
    """The poller and the mapping wired as in the cloud, with the embedded stores."""

    def __init__(self, registry: Registry) -> None:
        pytest.importorskip("ladybug")
        from slo_engine.embedded.cypher_graph_store import CypherGraphStore

        self.reader = CloudMapRegistry(["shop"], client=registry.client)
        self.inventory = SqliteInventoryStore()
        self.publisher = InMemoryChangePublisher()
        self.graph = CypherGraphStore(clock=lambda: NOW)
        self.mapper = StructuralMapper(self.graph, DeterministicReasoner(), clock=lambda: NOW)
        self.results: list[Any] = []

    def poll(self) -> list[tuple[str, str]]:
        before = len(self.publisher.published)
        self.report = poll_registry(self.reader.read(), self.inventory, self.publisher, clock=lambda: NOW)
        changes = self.publisher.published[before:]
        self.results = [self.mapper.apply_change(change) for change in changes]
        return [(change.kind, change.service) for change in changes]

    def edges(self) -> set[tuple[str, str, str]]:
        return {(d.from_, d.to, d.source) for d in self.graph.dependencies()}

    def active(self) -> dict[str, bool]:
        return {service.name: service.active for service in self.graph.services()}


@pytest.fixture
def discovery(registry: Registry) -> Discovery:
    return Discovery(registry)


def test_the_first_poll_registers_every_service_and_maps_declared_edges(discovery: Discovery) -> None:
    assert discovery.poll() == [
        ("registered", "ads"),
        ("registered", "cart"),
        ("registered", "checkout"),
        ("registered", "payments"),
    ]
    assert discovery.edges() == {
        ("checkout", "payments", "registry"),
        ("checkout", "cart", "registry"),
        ("cart", "checkout", "registry"),
    }
    tiers = {service.name: service.tier for service in discovery.graph.services()}
    assert (tiers["checkout"], tiers["payments"], tiers["cart"]) == (1, 0, None)


def test_a_second_poll_of_the_same_registry_emits_nothing(discovery: Discovery) -> None:
    discovery.poll()
    assert discovery.poll() == []
    assert discovery.report.unchanged == 4


def test_added_changed_and_removed_services_yield_exactly_those_events_and_graph_updates(
    registry: Registry, discovery: Discovery
) -> None:
    discovery.poll()
    registry.add("search", {"search-1": {"depends_on": "cart:soft"}})
    registry.client.register_instance(
        ServiceId=registry.ids["checkout"], InstanceId="checkout-1", Attributes={"depends_on": "payments,cart,ads"}
    )
    registry.remove("ads")

    assert discovery.poll() == [("deregistered", "ads"), ("changed", "checkout"), ("registered", "search")]
    assert discovery.active() == {
        "ads": False,
        "cart": True,
        "checkout": True,
        "payments": True,
        "search": True,
    }
    assert {("checkout", "ads", "registry"), ("search", "cart", "registry")} <= discovery.edges()
    checkout = next(r for r in discovery.results if r.service == "checkout")
    assert checkout.inactive_targets == ["ads"]  # a deleted service still referenced: kept, and flagged
    assert discovery.poll() == []

    registry.client.register_instance(
        ServiceId=registry.ids["checkout"], InstanceId="checkout-1", Attributes={"depends_on": "payments"}
    )
    assert discovery.poll() == [("changed", "checkout")]
    assert {e for e in discovery.edges() if e[0] == "checkout"} == {("checkout", "payments", "registry")}
    assert discovery.results[0].removed == [
        "registry: checkout -> ads no longer declared; edge removed",
        "registry: checkout -> cart no longer declared; edge removed",
    ]


def test_a_url_to_a_service_outside_the_registry_is_refused_visibly(discovery: Discovery) -> None:
    discovery.poll()
    payments = next(r for r in discovery.results if r.service == "payments")
    assert any("unknown service 'ledger'" in line for line in payments.rejected)
    assert "ledger" not in discovery.active()


def test_an_instance_with_no_attributes_is_reported_and_its_service_still_registered(
    registry: Registry, discovery: Discovery
) -> None:
    registry.add("legacy", {"legacy-1": {}})
    assert ("registered", "legacy") in discovery.poll()
    assert [p.reference for p in discovery.report.problems] == ["shop/legacy/legacy-1"]


def test_a_missing_namespace_refuses_to_poll_instead_of_deregistering_everything(registry: Registry) -> None:
    with pytest.raises(NamespaceNotFoundError, match="warehouse"):
        CloudMapRegistry(["warehouse"], client=registry.client).read()


def test_listings_are_read_across_pages(registry: Registry) -> None:
    for index in range(12):
        registry.add(f"svc-{index:02d}", {f"i-{index}-{n}": {"n": str(n)} for n in range(3)})
    reading = CloudMapRegistry(client=registry.client).read()
    assert len(reading.entries) == 16
    assert all(len(entry.instances) == 3 for entry in reading.entries if entry.name.startswith("svc-"))


def test_the_poller_entrypoint_puts_each_change_on_the_bus_once(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slo_engine.entrypoints import discovery_poller

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="inventory",
        KeySchema=[{"AttributeName": "service_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "service_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name="service-changes")
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="captured")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="capture", EventBusName="service-changes", EventPattern=json.dumps({"source": ["slo-engine.discovery"]})
    )
    events.put_targets(Rule="capture", EventBusName="service-changes", Targets=[{"Id": "q", "Arn": queue_arn}])
    monkeypatch.setenv("SLO_ENGINE_INVENTORY_TABLE", "inventory")
    monkeypatch.setenv("SLO_ENGINE_SERVICE_CHANGE_BUS", "service-changes")
    monkeypatch.setenv("SLO_ENGINE_CLOUD_MAP_NAMESPACES", "shop")
    discovery_poller._adapters.cache_clear()
    try:
        first = discovery_poller.handle(None)
        registry.remove("ads")
        second = discovery_poller.handle(None)
        third = discovery_poller.handle(None)
    finally:
        discovery_poller._adapters.cache_clear()

    assert (first["registered"], second["deregistered"], third["published"]) == (4, 1, 0)
    details = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            details.append(json.loads(message["Body"])["detail"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted((d["kind"], d["service"]) for d in details) == [
        ("deregistered", "ads"),
        ("registered", "ads"),
        ("registered", "cart"),
        ("registered", "checkout"),
        ("registered", "payments"),
    ]
