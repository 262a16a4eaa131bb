"""The discovery adapters' own behaviour: the EventBridge publisher (batches, failed entries), the DynamoDB
inventory, the Neo4j settings (environment or Secrets Manager) and the Neo4j store's use of the driver (managed
transactions, batched parameterized writes), and the structural-mapping entrypoint's refusal of bad events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from slo_engine.adapters.aws.eventbridge import EventBridgeChangePublisher, PublishError
from slo_engine.adapters.aws.inventory import DynamoDbInventoryStore
from slo_engine.adapters.neo4j_graph import Neo4jGraphStore, Neo4jSettings, Neo4jSettingsError
from slo_engine.discovery.events import RegistryEntry, ServiceChange
from slo_engine.entrypoints.structural_mapping import BadChangeEvent, parse_change
from slo_engine.graph import cypher
from slo_engine.models.graph import Dependency, ServiceNode

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def changes(count: int) -> list[ServiceChange]:
    return [
        ServiceChange(kind="registered", service=f"svc-{i}", service_id=f"srv-{i}", detected_at=NOW)
        for i in range(count)
    ]


class FlakyEvents:
    """put_events that rejects the first entry of every call ``failures`` times."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.failures > 0:
            self.failures -= 1
            results = [{"ErrorCode": "ThrottlingException"}] + [{"EventId": "x"}] * (len(Entries) - 1)
            return {"FailedEntryCount": 1, "Entries": results}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "x"}] * len(Entries)}


def test_the_publisher_sends_at_most_ten_events_per_call() -> None:
    client = FlakyEvents(failures=0)
    assert EventBridgeChangePublisher("bus", client).publish(changes(23)) == 23
    assert [len(call) for call in client.calls] == [10, 10, 3]


def test_the_publisher_retries_only_the_failed_entries_once() -> None:
    client = FlakyEvents(failures=1)
    EventBridgeChangePublisher("bus", client).publish(changes(3))
    assert [len(call) for call in client.calls] == [3, 1]
    assert json.loads(client.calls[1][0]["Detail"])["service"] == "svc-0"


def test_the_publisher_raises_when_a_retry_fails_too() -> None:
    with pytest.raises(PublishError, match="1 service-change event"):
        EventBridgeChangePublisher("bus", FlakyEvents(failures=2)).publish(changes(2))


def test_the_dynamodb_inventory_saves_loads_and_forgets(aws: None) -> None:
    boto3.client("dynamodb").create_table(
        TableName="inventory",
        KeySchema=[{"AttributeName": "service_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "service_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    store = DynamoDbInventoryStore("inventory")
    a = RegistryEntry(service_id="srv-a", name="a", attributes={"tier": "1"})
    b = RegistryEntry(service_id="srv-b", name="b")
    store.save([a, b], [])
    store.save([], ["srv-b"])
    assert store.load() == {"srv-a": a}


def test_neo4j_settings_come_from_the_environment() -> None:
    settings = Neo4jSettings.from_env({"NEO4J_URI": "neo4j://db:7687", "NEO4J_PASSWORD": "pw"})
    assert (settings.uri, settings.username, settings.password.get_secret_value()) == ("neo4j://db:7687", "neo4j", "pw")


def test_neo4j_settings_come_from_the_secret_when_no_uri_is_set(aws: None) -> None:
    arn = boto3.client("secretsmanager").create_secret(
        Name="neo4j",
        SecretString=json.dumps({"uri": "neo4j+s://x.databases.neo4j.io", "username": "u", "password": "p"}),
    )["ARN"]
    settings = Neo4jSettings.from_env({"SLO_ENGINE_NEO4J_SECRET_ARN": arn})
    assert (settings.uri, settings.username) == ("neo4j+s://x.databases.neo4j.io", "u")


def test_neo4j_settings_without_any_source_say_what_to_set() -> None:
    with pytest.raises(Neo4jSettingsError, match="NEO4J_URI"):
        Neo4jSettings.from_env({})


def test_neo4j_settings_with_a_bad_uri_name_the_field() -> None:
    with pytest.raises(Neo4jSettingsError, match="uri"):
        Neo4jSettings.from_env({"NEO4J_URI": "http://db", "NEO4J_PASSWORD": "pw"})


class RecordingDriver:
    """Stands in for neo4j.Driver: records every query and its parameters, per managed transaction kind."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def session(self, database: str | None = None) -> RecordingDriver:
        return self

    def __enter__(self) -> RecordingDriver:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def execute_write(self, work: Any) -> Any:
        return work(self)

    def execute_read(self, work: Any) -> Any:
        return work(self)

    def run(self, query: str, parameters: dict[str, Any] | None = None) -> Any:
        self.writes.append((query, parameters or {}))
        return self

    def consume(self) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        return iter(())


def test_the_neo4j_store_creates_constraint_and_indexes_idempotently() -> None:
    driver = RecordingDriver()
    Neo4jGraphStore(driver)
    assert [query for query, _ in driver.writes] == list(cypher.NEO4J_SCHEMA)
    assert all("IF NOT EXISTS" in query for query, _ in driver.writes)


def test_the_neo4j_store_writes_in_batches_with_parameters_only() -> None:
    driver = RecordingDriver()
    store = Neo4jGraphStore(driver, clock=lambda: NOW)
    driver.writes.clear()
    hostile = "x'}) DETACH DELETE (n"
    store.upsert_services([ServiceNode(name=hostile)])
    store.upsert_dependencies([Dependency(from_=f"s{i}", to=f"s{i + 1}") for i in range(2500)])
    assert all(hostile not in query for query, _ in driver.writes)
    row_batches = [
        len(parameters["rows"]) for query, parameters in driver.writes if query == cypher.UPSERT_DEPENDENCIES
    ]
    assert row_batches == [1000, 1000, 500]


def test_the_neo4j_store_removes_edges_in_batches_with_parameters_only_and_sums_the_counts() -> None:
    class CountingDriver(RecordingDriver):
        """Answers each write with as many removed edges as the batch had rows."""

        def __iter__(self) -> Iterator[Any]:
            return iter([{"removed": len(self.writes[-1][1]["rows"])}])

    driver = CountingDriver()
    store = Neo4jGraphStore(driver, clock=lambda: NOW)
    driver.writes.clear()
    hostile = "x'}) DETACH DELETE (n"
    keys = [(f"s{i}", hostile if i == 0 else f"s{i + 1}", "registry") for i in range(2500)]
    assert store.remove_dependencies([*keys, keys[0]]) == 2500
    assert {query for query, _ in driver.writes} == {cypher.REMOVE_DEPENDENCIES}
    assert all(hostile not in query for query, _ in driver.writes)
    assert "DETACH" not in cypher.REMOVE_DEPENDENCIES
    assert [len(parameters["rows"]) for _, parameters in driver.writes] == [1000, 1000, 500]
    assert driver.writes[0][1]["rows"][0] == {"caller": "s0", "callee": hostile, "source": "registry"}


def test_the_neo4j_store_removes_nothing_without_a_round_trip() -> None:
    driver = RecordingDriver()
    store = Neo4jGraphStore(driver)
    driver.writes.clear()
    assert store.remove_dependencies([]) == 0
    assert driver.writes == []


def test_a_change_event_without_a_service_is_refused_with_the_field() -> None:
    with pytest.raises(BadChangeEvent, match="service"):
        parse_change({"kind": "registered", "service_id": "srv-1", "detected_at": "2026-11-24T10:00:00Z"})


def test_a_change_event_with_an_unknown_kind_is_refused() -> None:
    detail = {"kind": "renamed", "service": "a", "service_id": "s", "detected_at": "2026-11-24T10:00:00Z"}
    with pytest.raises(BadChangeEvent, match="kind"):
        parse_change(detail)


def test_the_mapping_entrypoint_maps_the_service_named_in_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from slo_engine.discovery.mapping import StructuralMapper
    from slo_engine.embedded.graph_store import SqliteGraphStore
    from slo_engine.entrypoints import structural_mapping

    graph = SqliteGraphStore()
    graph.upsert_services([ServiceNode(name="cart")])
    monkeypatch.setattr(structural_mapping, "_wiring", lambda: (StructuralMapper(graph), None))
    detail = {
        "kind": "registered",
        "service": "checkout",
        "service_id": "srv-1",
        "attributes": {"depends_on": "cart,ghost"},
        "detected_at": "2026-11-24T10:00:00Z",
    }
    result = structural_mapping.handle({"detail": detail})
    assert (result["dependencies"], len(result["rejected"]), result["removed"]) == (1, 1, [])
    assert [(d.from_, d.to) for d in graph.dependencies()] == [("checkout", "cart")]


def test_the_mapping_lambda_hands_the_parsed_event_to_the_entrypoint(
    monkeypatch: pytest.MonkeyPatch, lambda_context
) -> None:
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SloEngine")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "structural_mapping")
    path = Path(__file__).resolve().parents[2] / "lambdas" / "structural_mapping" / "handler.py"
    spec = importlib.util.spec_from_file_location("lambda_handler_structural_mapping_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen: list[Any] = []
    monkeypatch.setattr(module, "_entrypoint", lambda: lambda event, context: seen.append(event) or {"dependencies": 2})

    event = {
        "version": "0",
        "id": "event-1",
        "detail-type": "ServiceChange",
        "source": "slo-engine.discovery",
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"kind": "registered", "service": "a"},
    }
    assert module.lambda_handler(event, lambda_context("structural-mapping")) == {"dependencies": 2}
    assert seen[0].detail_type == "ServiceChange"


class FakeCloudMap:
    """A servicediscovery client whose listings are given (one page each)."""

    def __init__(self, services: list[dict[str, Any]], instances: dict[str, list[dict[str, Any]]]) -> None:
        self.listings = {
            "list_namespaces": {"Namespaces": [{"Id": "ns-1", "Name": "shop"}]},
            "list_services": {"Services": services},
        }
        self.instances = instances

    def get_paginator(self, operation: str) -> Any:
        client = self

        class Pages:
            def paginate(self, **arguments: Any) -> list[dict[str, Any]]:
                if operation == "list_instances":
                    return [{"Instances": client.instances.get(arguments["ServiceId"], [])}]
                return [client.listings[operation]]

        return Pages()

    def get_service_attributes(self, ServiceId: str) -> dict[str, Any]:
        return {"ServiceAttributes": {"Attributes": {}}}


def test_a_registry_service_without_a_name_is_reported_and_kept_from_deregistration() -> None:
    from slo_engine.adapters.aws.cloudmap import CloudMapRegistry

    client = FakeCloudMap([{"Id": "srv-1"}, {"Id": "srv-2", "Name": "cart"}], {"srv-2": [{"Id": "i-1"}]})
    reading = CloudMapRegistry(client=client).read()
    assert [entry.name for entry in reading.entries] == ["cart"]
    assert reading.unreadable == ["srv-1"]
    assert [(p.reference, p.problem) for p in reading.problems] == [
        ("shop/srv-1", "service without an Id or Name"),
        ("shop/cart/i-1", "instance has no attributes; the service is read from its other attributes"),
    ]


def test_a_registry_name_override_that_is_too_long_is_reported_not_raised() -> None:
    from slo_engine.adapters.aws.cloudmap import CloudMapRegistry

    client = FakeCloudMap([{"Id": "srv-1", "Name": "cart"}], {"srv-1": [{"Id": "i-1", "Attributes": {"x": "1"}}]})
    too_long = {"ServiceAttributes": {"Attributes": {"slo-engine:service": "x" * 300}}}
    client.get_service_attributes = lambda ServiceId: too_long
    reading = CloudMapRegistry(client=client).read()
    assert reading.entries == [] and reading.unreadable == ["srv-1"]
    assert "unusable entry" in reading.problems[0].problem
