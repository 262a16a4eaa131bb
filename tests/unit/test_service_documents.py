"""A service's documents from the Knowledge pipeline to the structural mapping (issue 4): the two ``ServiceDocuments``
stores (a folder, S3 on moto), the indexer storing / deleting them and announcing ``Service Documents Changed``, and
the mapping entrypoint reading them for a service change and for the new event.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from slo_engine.adapters.aws.service_documents import S3ServiceDocuments
from slo_engine.adapters.aws.slo_events import EventBridgeSloEventPublisher
from slo_engine.discovery.events import ExtractedDependency
from slo_engine.discovery.mapping import StructuralMapper
from slo_engine.embedded.event_log import JsonlEventLog
from slo_engine.embedded.graph_store import SqliteGraphStore
from slo_engine.embedded.runbook_index import LocalRunbookIndex
from slo_engine.embedded.service_documents import LocalServiceDocuments
from slo_engine.entrypoints import runbook_indexer, structural_mapping
from slo_engine.entrypoints.runbook_indexer import CachedServiceNames, IndexedChange, RunbookIndexer
from slo_engine.entrypoints.structural_mapping import BadChangeEvent
from slo_engine.knowledge.embedding import HashingEmbedder
from slo_engine.knowledge.fetching import DirectoryFiles
from slo_engine.knowledge.service_documents import (
    DOCUMENTS_CHANGED,
    DOCUMENTS_EVENT_SOURCE,
    bounded,
    document_key,
    key_digest,
)
from slo_engine.knowledge.webhooks import ChangeType, Provider, RunbookChangeMessage
from slo_engine.models.graph import ServiceNode
from slo_engine.ports import ServiceDocuments

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = document_key("acme/ops", "runbooks/checkout.md")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def s3_store(aws: None) -> S3ServiceDocuments:
    boto3.client("s3").create_bucket(Bucket="service-docs")
    return S3ServiceDocuments("service-docs")


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ServiceDocuments:
    if request.param == "local":
        return LocalServiceDocuments.in_data_dir(tmp_path)
    s3: ServiceDocuments = request.getfixturevalue("s3_store")
    return s3


# --- the stores ---------------------------------------------------------------------------------------------------


def test_both_stores_implement_the_port(store: ServiceDocuments) -> None:
    assert isinstance(store, ServiceDocuments)


def test_a_document_is_stored_replaced_and_deleted_per_service(store: ServiceDocuments) -> None:
    store.put("checkout", KEY, "first")
    store.put("checkout", KEY, "checkout calls cart")
    store.put("cart", KEY, "checkout calls cart")
    assert store.for_service("checkout", limit=5, max_chars=1000) == ["checkout calls cart"]
    assert store.services_holding(KEY) == ["cart", "checkout"]
    store.delete("checkout", KEY)
    store.delete("checkout", KEY)  # deleting what is not there is not an error
    assert store.for_service("checkout", limit=5, max_chars=1000) == []
    assert store.services_holding(KEY) == ["cart"]
    assert store.for_service("unknown", limit=5, max_chars=1000) == []


def test_reads_are_bounded_in_count_and_in_total_size(store: ServiceDocuments) -> None:
    for number in range(4):
        store.put("checkout", f"acme/ops:doc-{number}.md", "x" * 100)
    assert len(store.for_service("checkout", limit=3, max_chars=10_000)) == 3
    assert [len(text) for text in store.for_service("checkout", limit=10, max_chars=250)] == [100, 100, 50]


def test_service_names_are_one_folder_however_they_are_spelled(store: ServiceDocuments) -> None:
    for service in ("../etc", "team/checkout", "..", "Café"):
        store.put(service, KEY, service)
    assert store.services_holding(KEY) == sorted(["../etc", "team/checkout", "..", "Café"])
    assert store.for_service("team/checkout", limit=5, max_chars=100) == ["team/checkout"]
    assert store.for_service("team", limit=5, max_chars=100) == []


def test_the_local_store_keeps_one_file_per_document_under_the_data_dir(tmp_path: Path) -> None:
    store = LocalServiceDocuments.in_data_dir(tmp_path)
    store.put("checkout", KEY, "text")
    assert (tmp_path / "service-docs" / "checkout" / f"{key_digest(KEY)}.txt").read_text() == "text"
    store.put("..", KEY, "text")
    assert all(tmp_path in path.resolve().parents for path in tmp_path.rglob("*.txt"))


def test_the_local_store_reads_newest_first(tmp_path: Path) -> None:
    store = LocalServiceDocuments.in_data_dir(tmp_path)
    for number, age in ((1, 300), (2, 100), (3, 200)):
        store.put("checkout", f"doc-{number}", f"doc {number}")
        path = tmp_path / "service-docs" / "checkout" / f"{key_digest(f'doc-{number}')}.txt"
        stamp = datetime.now(UTC).timestamp() - age
        os.utime(path, (stamp, stamp))
    assert store.for_service("checkout", limit=5, max_chars=1000) == ["doc 2", "doc 3", "doc 1"]


def test_long_documents_are_cut_when_stored(tmp_path: Path, s3_store: S3ServiceDocuments) -> None:
    local = LocalServiceDocuments(tmp_path, max_document_chars=10)
    s3_store.max_document_chars = 10
    for store in (local, s3_store):
        store.put("checkout", KEY, "y" * 50)
        assert store.for_service("checkout", limit=1, max_chars=1000) == ["y" * 10]


def test_the_s3_store_writes_utf8_objects_under_the_service_prefix(s3_store: S3ServiceDocuments) -> None:
    s3_store.put("checkout", KEY, "naïve text")
    key = f"service-docs/checkout/{key_digest(KEY)}.txt"
    found = boto3.client("s3").get_object(Bucket="service-docs", Key=key)
    assert found["Body"].read().decode("utf-8") == "naïve text"
    assert found["ContentType"] == "text/plain; charset=utf-8"
    assert found["Metadata"] == {"document-key": "acme%2Fops%3Arunbooks%2Fcheckout.md"}


def test_the_s3_store_comes_from_the_environment_only_when_a_bucket_is_named(
    monkeypatch: pytest.MonkeyPatch, aws: None
) -> None:
    monkeypatch.delenv("SLO_ENGINE_SERVICE_DOCS_BUCKET", raising=False)
    assert S3ServiceDocuments.from_env() is None
    monkeypatch.setenv("SLO_ENGINE_SERVICE_DOCS_BUCKET", "bucket-1")
    found = S3ServiceDocuments.from_env()
    assert found is not None and found._bucket == "bucket-1"


class PagedS3:
    """list_objects_v2 in pages of one, with chosen LastModified times; get_object returns the key."""

    def __init__(self, ages: dict[str, int]) -> None:
        now = datetime(2026, 11, 29, tzinfo=UTC)
        self.objects = [{"Key": key, "LastModified": now - timedelta(seconds=age)} for key, age in ages.items()]
        self.reads: list[str] = []

    def list_objects_v2(self, Bucket: str, Prefix: str, ContinuationToken: str = "0") -> dict[str, Any]:
        matching = [item for item in self.objects if item["Key"].startswith(Prefix)]
        index = int(ContinuationToken)
        page: dict[str, Any] = {"Contents": matching[index : index + 1], "IsTruncated": index + 1 < len(matching)}
        if page["IsTruncated"]:
            page["NextContinuationToken"] = str(index + 1)
        return page

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.reads.append(Key)

        class Body:
            def read(self) -> bytes:
                return Key.encode()

        return {"Body": Body()}


def test_the_s3_store_reads_every_page_newest_first_and_only_what_it_returns() -> None:
    client = PagedS3({"service-docs/a/old.txt": 30, "service-docs/a/new.txt": 10, "service-docs/a/mid.txt": 20})
    store = S3ServiceDocuments("bucket", client=client)
    assert store.for_service("a", limit=2, max_chars=1000) == ["service-docs/a/new.txt", "service-docs/a/mid.txt"]
    assert client.reads == ["service-docs/a/new.txt", "service-docs/a/mid.txt"]


def test_bounded_skips_empty_texts_and_cuts_the_text_that_crosses_the_budget() -> None:
    assert bounded(["abc", "", "defg", "h"], limit=5, max_chars=5) == ["abc", "de"]
    assert bounded(["abc", "def"], limit=1, max_chars=100) == ["abc"]
    assert bounded(["abc"], limit=3, max_chars=0) == []


# --- the indexer --------------------------------------------------------------------------------------------------


CHECKOUT_RUNBOOK = "# Checkout slow\n\nCheckout calls cart and payments synchronously.\n"


def change(path: str = "runbooks/checkout.md", change_type: ChangeType = ChangeType.added) -> RunbookChangeMessage:
    return RunbookChangeMessage(
        provider=Provider.github, repository="acme/ops", path=path, commit="c" * 40, change_type=change_type
    )


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    folder = tmp_path / "repos" / "acme/ops/runbooks"
    folder.mkdir(parents=True)
    (folder / "checkout.md").write_text(CHECKOUT_RUNBOOK)
    (folder / "disk.md").write_text("# Disk full\n\nDelete old images.\n")
    return tmp_path / "repos"


@pytest.fixture
def documented(repository: Path, tmp_path: Path) -> RunbookIndexer:
    return RunbookIndexer(
        LocalRunbookIndex(embedder=HashingEmbedder(dimension=64)),
        DirectoryFiles(repository),
        known_services=("checkout", "cart", "search"),
        documents=LocalServiceDocuments.in_data_dir(tmp_path / "data"),
        events=JsonlEventLog(),
    )


def events_of(indexer: RunbookIndexer) -> list[tuple[str, dict[str, Any]]]:
    assert isinstance(indexer.events, JsonlEventLog)
    return [(event["detail_type"], event["detail"]) for event in indexer.events.events]


def test_a_file_naming_services_is_stored_for_each_and_announced_once_per_service(documented: RunbookIndexer) -> None:
    report = documented.apply(change())
    assert isinstance(report, IndexedChange)
    assert (report.documents, report.documents_stored, report.documents_deleted) == (1, ["checkout", "cart"], [])
    assert documented.documents is not None
    assert documented.documents.for_service("cart", limit=5, max_chars=10_000) == [CHECKOUT_RUNBOOK]
    detail = {"repository": "acme/ops", "path": "runbooks/checkout.md", "commit": "c" * 40}
    assert events_of(documented) == [
        (DOCUMENTS_CHANGED, {"service": "cart", **detail}),
        (DOCUMENTS_CHANGED, {"service": "checkout", **detail}),
    ]
    assert documented.index.search("checkout cart")[0].path == "runbooks/checkout.md"  # the index is as before


def test_a_file_that_no_longer_names_a_service_is_deleted_from_it(documented: RunbookIndexer, repository: Path) -> None:
    documented.apply(change())
    (repository / "acme/ops/runbooks/checkout.md").write_text("# Checkout slow\n\nCheckout retries.\n")
    report = documented.apply(change(change_type=ChangeType.modified))
    assert (report.documents_stored, report.documents_deleted) == (["checkout"], ["cart"])  # type: ignore[attr-defined]
    assert documented.documents is not None and documented.documents.services_holding(KEY) == ["checkout"]
    assert [detail["service"] for _, detail in events_of(documented)[2:]] == ["cart", "checkout"]


def test_a_removed_file_is_deleted_from_every_service_that_held_it(documented: RunbookIndexer) -> None:
    documented.apply(change())
    report = documented.apply(change(change_type=ChangeType.removed))
    assert report.removed_chunks > 0
    assert (report.documents_stored, report.documents_deleted) == ([], ["cart", "checkout"])  # type: ignore[attr-defined]
    assert documented.documents is not None and documented.documents.services_holding(KEY) == []


def test_a_file_naming_no_service_is_not_stored_nor_announced(documented: RunbookIndexer, tmp_path: Path) -> None:
    report = documented.apply(change("runbooks/disk.md"))
    assert report.documents == 1 and report.documents_stored == []  # type: ignore[attr-defined]
    assert events_of(documented) == [] and not (tmp_path / "data" / "service-docs").exists()


def test_without_a_store_the_indexer_reports_as_before(documented: RunbookIndexer) -> None:
    documented.documents = None
    report = documented.apply(change())
    assert type(report).__name__ == "ChangeReport" and "documents_stored" not in report.model_dump()
    assert events_of(documented) == []


def test_a_failure_to_store_fails_the_message(documented: RunbookIndexer) -> None:
    class Broken(LocalServiceDocuments):
        def put(self, service: str, key: str, text: str) -> None:
            raise OSError("AccessDenied")

    documented.documents = Broken(Path("/nonexistent"))
    with pytest.raises(OSError, match="AccessDenied"):
        documented.apply(change())
    assert events_of(documented) == []


def test_a_failure_to_announce_fails_the_message(documented: RunbookIndexer) -> None:
    class Refused:
        def publish(self, detail_type: str, detail: dict[str, object]) -> None:
            raise RuntimeError("EventBridge refused Service Documents Changed")

    documented.events = Refused()
    with pytest.raises(RuntimeError, match="refused"):
        documented.apply(change())


def test_the_registry_names_are_known_services_read_again_after_their_ttl(
    documented: RunbookIndexer,
) -> None:
    reads: list[int] = []
    now = [0.0]

    def registry() -> list[str]:
        reads.append(1)
        return ["payments"]

    names = CachedServiceNames(registry, ttl_seconds=60, clock=lambda: now[0])
    documented.service_names = names
    report = documented.apply(change())
    assert report.documents_stored == ["checkout", "cart", "payments"]  # type: ignore[attr-defined]
    names()
    now[0] = 61
    names()
    assert len(reads) == 2


def test_the_indexer_lambda_stores_in_s3_and_announces_on_the_service_change_bus(
    monkeypatch: pytest.MonkeyPatch, aws: None, repository: Path
) -> None:
    boto3.client("s3").create_bucket(Bucket="service-docs")
    bus = boto3.client("events").create_event_bus(Name="service-changes")["EventBusArn"]
    boto3.client("sqs").create_queue(QueueName="seen")
    queue_url = boto3.client("sqs").get_queue_url(QueueName="seen")["QueueUrl"]
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    events = boto3.client("events")
    events.put_rule(
        Name="docs",
        EventBusName="service-changes",
        EventPattern=json.dumps({"source": [DOCUMENTS_EVENT_SOURCE], "detail-type": [DOCUMENTS_CHANGED]}),
    )
    events.put_targets(
        Rule="docs",
        EventBusName="service-changes",
        Targets=[{"Id": "seen", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="inventory",
        KeySchema=[{"AttributeName": "service_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "service_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    entry = {"service_id": "srv-1", "name": "cart"}
    dynamodb.put_item(TableName="inventory", Item={"service_id": {"S": "srv-1"}, "entry": {"S": json.dumps(entry)}})
    monkeypatch.setenv("SLO_ENGINE_SERVICE_DOCS_BUCKET", "service-docs")
    monkeypatch.setenv("SLO_ENGINE_SERVICE_CHANGE_BUS", "service-changes")
    monkeypatch.setenv("SLO_ENGINE_INVENTORY_TABLE", "inventory")
    monkeypatch.delenv("SLO_ENGINE_SMALL_MODEL_ID", raising=False)
    assert bus

    documents = runbook_indexer.service_documents_from_env()
    publisher = runbook_indexer.document_events_from_env()
    names = runbook_indexer.service_names_from_env()
    assert isinstance(documents, S3ServiceDocuments) and isinstance(publisher, EventBridgeSloEventPublisher)
    assert names is not None and list(names()) == ["cart"]
    indexer = RunbookIndexer(
        LocalRunbookIndex(embedder=HashingEmbedder(dimension=64)),
        DirectoryFiles(repository),
        documents=documents,
        events=publisher,
        service_names=names,
    )
    monkeypatch.setattr(runbook_indexer, "indexer_from_env", lambda: indexer)

    class Record:
        body = change().model_dump_json()

    report = runbook_indexer.handle(Record())
    assert (report["documents_stored"], report["documents_deleted"]) == (["cart"], [])
    assert documents.for_service("cart", limit=5, max_chars=10_000) == [CHECKOUT_RUNBOOK]
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(messages[0]["Body"])
    assert (event["source"], event["detail-type"], event["detail"]["service"]) == (
        DOCUMENTS_EVENT_SOURCE,
        DOCUMENTS_CHANGED,
        "cart",
    )


def test_locally_the_indexer_keeps_documents_in_the_data_dir_and_publishes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("SLO_ENGINE_SERVICE_DOCS_BUCKET", "SLO_ENGINE_SERVICE_CHANGE_BUS", "SLO_ENGINE_INVENTORY_TABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLO_ENGINE_DATA_DIR", str(tmp_path))
    documents = runbook_indexer.service_documents_from_env()
    assert isinstance(documents, LocalServiceDocuments) and documents.root == tmp_path / "service-docs"
    assert runbook_indexer.document_events_from_env() is None
    assert runbook_indexer.service_names_from_env() is None


# --- the structural mapping ---------------------------------------------------------------------------------------


class ReadingReasoner:
    """Answers ``cart`` for any document and remembers what it was given."""

    def __init__(self) -> None:
        self.read: list[tuple[str, str]] = []

    def extract_dependencies(self, service: str, text: str, known_services: Sequence[str]) -> list[ExtractedDependency]:
        self.read.append((service, text))
        return [ExtractedDependency(service="cart", kind="hard", confidence=0.6, evidence="calls cart")]


@pytest.fixture
def mapping(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[SqliteGraphStore, ReadingReasoner, Any]:
    graph = SqliteGraphStore()
    graph.upsert_services(
        [
            ServiceNode(name="cart"),
            ServiceNode(name="checkout", attributes={"depends_on": "search"}),
            ServiceNode(name="search"),
            ServiceNode(name="legacy", active=False),
        ]
    )
    reasoner = ReadingReasoner()
    documents = LocalServiceDocuments.in_data_dir(tmp_path)
    documents.put("checkout", KEY, CHECKOUT_RUNBOOK)
    monkeypatch.setattr(structural_mapping, "_wiring", lambda: (StructuralMapper(graph, reasoner), None))  # type: ignore[arg-type]
    monkeypatch.setattr(structural_mapping, "_graph", lambda: graph)
    monkeypatch.setattr(structural_mapping, "_service_documents", lambda: documents)
    return graph, reasoner, documents


def edges(graph: SqliteGraphStore) -> set[tuple[str, str, str]]:
    return {(d.from_, d.to, d.source) for d in graph.dependencies()}


def test_a_service_change_is_mapped_with_the_services_stored_documents(mapping: Any) -> None:
    graph, reasoner, _ = mapping
    detail = {"kind": "changed", "service": "checkout", "service_id": "srv-2", "detected_at": "2026-11-24T10:00:00Z"}
    result = structural_mapping.handle({"detail-type": "ServiceChange", "detail": detail})
    assert reasoner.read == [("checkout", CHECKOUT_RUNBOOK)]
    assert result["dependencies"] == 1 and ("checkout", "cart", "docs") in edges(graph)


def test_a_deregistration_reads_no_documents(mapping: Any) -> None:
    _, reasoner, _ = mapping
    detail = {"kind": "deregistered", "service": "checkout", "service_id": "s", "detected_at": "2026-11-24T10:00:00Z"}
    assert structural_mapping.handle({"detail": detail})["active"] is False
    assert reasoner.read == []


def test_documents_changed_maps_a_known_service_with_its_stored_attributes_and_documents(mapping: Any) -> None:
    graph, reasoner, _ = mapping
    detail = {"service": "checkout", "repository": "acme/ops", "path": "runbooks/checkout.md", "commit": "c" * 40}
    result = structural_mapping.handle({"detail-type": DOCUMENTS_CHANGED, "detail": detail})
    assert (result["service"], result["change"], result["active"], result["problems"]) == (
        "checkout",
        "documents",
        True,
        [],
    )
    assert reasoner.read == [("checkout", CHECKOUT_RUNBOOK)]
    assert {("checkout", "cart", "docs"), ("checkout", "search", "registry")} <= edges(graph)
    assert result["dependencies"] == 2


@pytest.mark.parametrize(("service", "why"), [("ghost", "not in the graph"), ("legacy", "inactive")])
def test_documents_changed_for_an_unknown_or_inactive_service_is_reported_not_mapped(
    mapping: Any, service: str, why: str
) -> None:
    graph, reasoner, _ = mapping
    detail = {"service": service, "repository": "acme/ops", "path": "runbooks/x.md", "commit": "c" * 40}
    result = structural_mapping.handle({"detail-type": DOCUMENTS_CHANGED, "detail": detail})
    assert result["active"] is False and result["dependencies"] == 0
    assert why in result["problems"][0] and "runbooks/x.md" in result["problems"][0]
    assert reasoner.read == [] and edges(graph) == set()


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ({"repository": "acme/ops", "path": "a.md", "commit": "c"}, "service"),
        ({"service": "checkout", "repository": "acme/ops", "path": "a.md"}, "commit"),
        ("not an object", "detail"),
    ],
)
def test_a_malformed_documents_changed_detail_is_refused_with_the_field(mapping: Any, detail: Any, field: str) -> None:
    with pytest.raises(BadChangeEvent, match=f"not a service documents change: {field}"):
        structural_mapping.handle({"detail-type": DOCUMENTS_CHANGED, "detail": detail})


def test_without_a_bucket_the_mapping_reads_no_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLO_ENGINE_SERVICE_DOCS_BUCKET", raising=False)
    structural_mapping._service_documents.cache_clear()
    try:
        assert structural_mapping.documents_of("checkout") is None  # not consulted: edges read from documents stay
    finally:
        structural_mapping._service_documents.cache_clear()


def test_the_mapping_lambda_routes_documents_changed_to_the_entrypoint(
    monkeypatch: pytest.MonkeyPatch, mapping: Any, lambda_context
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SloEngine")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "structural_mapping")
    path = REPO_ROOT / "lambdas" / "structural_mapping" / "handler.py"
    spec = importlib.util.spec_from_file_location("lambda_handler_structural_mapping_documents_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    event = {
        "version": "0",
        "id": "event-1",
        "detail-type": DOCUMENTS_CHANGED,
        "source": DOCUMENTS_EVENT_SOURCE,
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"service": "checkout", "repository": "acme/ops", "path": "runbooks/checkout.md", "commit": "c"},
    }
    result = module.lambda_handler(event, lambda_context("structural-mapping"))
    assert (result["change"], result["dependencies"]) == ("documents", 2)


def test_the_local_server_indexes_stores_and_remaps_in_its_own_data_dir(repository: Path, tmp_path: Path) -> None:
    """What the bus and the mapping Lambda do in AWS happens at once in one process: a webhook change that names
    services is indexed, stored as their document, and each active service is mapped again with it."""
    from slo_engine.engine import Engine
    from slo_engine.entrypoints.runbook_indexer import local_indexing_queue
    from slo_engine.models.graph import ServiceNode

    data = tmp_path / "served"
    engine = Engine.embedded(data)
    engine.graph.upsert_services([ServiceNode(name=n) for n in ("checkout", "cart", "payments")])
    engine.graph.upsert_services([ServiceNode(name="search", active=False)])
    queue = local_indexing_queue(engine, data)
    queue.indexer.files = DirectoryFiles(repository)
    queue.send([change()])
    remap = queue.indexer.events
    assert [r.service for r in remap.results] == ["cart", "checkout", "payments"]  # type: ignore[union-attr]
    edges = {(d.from_, d.to, d.source) for d in engine.graph.dependencies()}
    assert {("checkout", "cart", "docs"), ("checkout", "payments", "docs")} <= edges
    assert engine.runbooks.search("checkout cart")[0].path == "runbooks/checkout.md"
    assert (data / "service-docs").is_dir()


def test_local_remapping_skips_other_events_and_unknown_or_inactive_services(tmp_path: Path) -> None:
    from slo_engine.discovery.local import RemapOnDocuments
    from slo_engine.discovery.mapping import StructuralMapper
    from slo_engine.embedded.graph_store import SqliteGraphStore
    from slo_engine.models.graph import ServiceNode

    graph = SqliteGraphStore()
    graph.upsert_services([ServiceNode(name="search", active=False)])
    remap = RemapOnDocuments(StructuralMapper(graph), LocalServiceDocuments.in_data_dir(tmp_path))
    detail = {"repository": "acme/ops", "path": "runbooks/x.md", "commit": "c" * 40}
    remap.publish("SLOApproved", {"service": "search"})
    remap.publish(DOCUMENTS_CHANGED, {"service": "search", **detail})
    remap.publish(DOCUMENTS_CHANGED, {"service": "ghost", **detail})
    assert remap.results == []
    assert remap.skipped == [
        "SLOApproved: not a documents change",
        "search: inactive; not mapped",
        "ghost: unknown; not mapped",
    ]
