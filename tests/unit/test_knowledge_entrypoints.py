"""The Lambda-facing glue of runbook knowledge: the webhook Lambda end to end on moto (Secrets Manager, SQS), the
cached secrets, the DynamoDB delivery log, the SQS change queue, and the indexer's handling of each kind of change.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from slo_engine.adapters.aws.dynamodb_delivery_log import DynamoDbDeliveryLog
from slo_engine.adapters.aws.secrets import CachedSecrets
from slo_engine.adapters.aws.sqs_change_queue import ChangesNotQueued, SqsChangeQueue
from slo_engine.adapters.aws.titan_embedder import TitanEmbedder
from slo_engine.embedded.runbook_index import LocalRunbookIndex
from slo_engine.entrypoints import runbook_indexer, webhook
from slo_engine.entrypoints.runbook_indexer import BadChangeMessage, RunbookIndexer
from slo_engine.knowledge.embedding import HashingEmbedder
from slo_engine.knowledge.fetching import DirectoryFiles, FetchError, LinkingIndex, source_link
from slo_engine.knowledge.webhooks import ChangeType, Provider, RunbookChangeMessage, sign_body

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = "# DiskFull\n\n## Meaning\n\nThe disk of a node is almost full.\n\n## Mitigation\n\nDelete old images.\n"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "SLO_ENGINE_DATA_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("SLO_ENGINE_GITHUB_WEBHOOK_SECRET", "SLO_ENGINE_IDEMPOTENCY_TABLE", "SLO_ENGINE_RUNBOOK_GLOBS"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        webhook._secrets.cache_clear()
        webhook._aws_queue.cache_clear()
        webhook._delivery_log.cache_clear()
        yield
        webhook._secrets.cache_clear()
        webhook._aws_queue.cache_clear()
        webhook._delivery_log.cache_clear()


def message(path: str = "runbooks/DiskFull.md", change_type: ChangeType = ChangeType.added) -> RunbookChangeMessage:
    return RunbookChangeMessage(
        provider=Provider.github, repository="acme/ops", path=path, commit="c" * 40, change_type=change_type
    )


# --- webhook Lambda -----------------------------------------------------------------------------------------------


def test_the_webhook_lambda_verifies_with_the_secrets_manager_secret_and_queues_to_sqs(
    aws: None, monkeypatch: pytest.MonkeyPatch, lambda_context
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="github-hook", SecretString="s3cret")["ARN"]
    queue_url = boto3.client("sqs").create_queue(QueueName="runbook-changes")["QueueUrl"]
    monkeypatch.setenv("SLO_ENGINE_GITHUB_WEBHOOK_SECRET_ARN", arn)
    monkeypatch.setenv("SLO_ENGINE_RUNBOOK_QUEUE_URL", queue_url)
    monkeypatch.setenv("SLO_ENGINE_RUNBOOK_GLOBS", json.dumps(["ops/**"]))
    table = boto3.client("dynamodb")
    table.create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("SLO_ENGINE_IDEMPOTENCY_TABLE", "idempotency")
    spec = importlib.util.spec_from_file_location("knowledge_webhook_handler", REPO_ROOT / "lambdas/webhook/handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "repository": {"full_name": "acme/ops"},
            "commits": [{"id": "a" * 40, "added": ["ops/DiskFull.md", "runbooks/ignored.md"]}],
        }
    )
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-7",
        "X-Hub-Signature-256": sign_body("s3cret", body.encode()),
    }
    event = {
        "resource": "/webhooks/github",
        "path": "/webhooks/github",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {},
        "requestContext": {
            "resourcePath": "/webhooks/github",
            "httpMethod": "POST",
            "requestId": "r-1",
            "identity": {"sourceIp": "192.0.2.1"},
            "stage": "v1",
        },
        "body": body,
        "isBase64Encoded": False,
    }

    response = module.lambda_handler(event, lambda_context("webhook", 256))
    assert response["statusCode"] == 202 and json.loads(response["body"])["queued"] == 1
    assert (
        module.lambda_handler(event, lambda_context("webhook", 256))["statusCode"] == 202
    )  # redelivery: accepted, not queued again
    received = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [RunbookChangeMessage.model_validate_json(m["Body"]).path for m in received] == ["ops/DiskFull.md"]


def test_secrets_are_cached_until_they_expire(aws: None) -> None:
    client = boto3.client("secretsmanager")
    client.create_secret(Name="hook", SecretString="first")
    secrets = CachedSecrets(client, max_age_seconds=300)
    assert secrets.get("hook") == "first"
    client.put_secret_value(SecretId="hook", SecretString="second")
    assert secrets.get("hook") == "first"
    secrets.clear()
    assert secrets.get("hook") == "second"


def test_the_local_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_ENGINE_BITBUCKET_WEBHOOK_SECRET", "from-env")
    assert webhook.webhook_secret("bitbucket") == "from-env"
    assert webhook.webhook_secret("gitlab") is None


def test_the_dynamodb_delivery_log_claims_a_delivery_once_until_released(aws: None) -> None:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    log = DynamoDbDeliveryLog("idempotency", client)
    assert (log.claim("github:d-1"), log.claim("github:d-1")) == (True, False)
    log.release("github:d-1")
    assert log.claim("github:d-1") is True


def test_the_sqs_queue_sends_in_batches_of_ten(aws: None) -> None:
    client = boto3.client("sqs")
    url = client.create_queue(QueueName="changes")["QueueUrl"]
    SqsChangeQueue(url, client).send([message(f"runbooks/{i}.md") for i in range(12)])
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "12"


def test_entries_sqs_refuses_raise_changes_not_queued() -> None:
    client = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response(
            "send_message_batch",
            {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError", "Message": "x"}]},
        )
        with pytest.raises(ChangesNotQueued, match=r"runbooks/DiskFull\.md: InternalError"):
            SqsChangeQueue("https://sqs.us-east-1.amazonaws.com/1/q", client).send([message()])


def test_titan_embeddings_are_requested_per_text_with_dimensions_and_normalised() -> None:
    import io

    from botocore.response import StreamingBody

    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    answer = json.dumps({"embedding": [3.0, 4.0] + [0.0] * 254, "inputTextTokenCount": 4}).encode()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_model",
            {"body": StreamingBody(io.BytesIO(answer), len(answer)), "contentType": "application/json"},
            {
                "modelId": "amazon.titan-embed-text-v2:0",
                "contentType": "application/json",
                "accept": "application/json",
                "body": json.dumps({"inputText": "disk full", "dimensions": 256, "normalize": True}),
            },
        )
        vectors = TitanEmbedder(dimension=256, client=client).embed(["disk full", "   "])
    assert vectors.shape == (2, 256)
    assert vectors[0][:2].tolist() == pytest.approx([0.6, 0.8]) and not vectors[1].any()


# --- indexer ------------------------------------------------------------------------------------------------------


@pytest.fixture
def indexer(tmp_path: Path) -> RunbookIndexer:
    (tmp_path / "acme/ops/runbooks").mkdir(parents=True)
    (tmp_path / "acme/ops/runbooks/DiskFull.md").write_text(RUNBOOK)
    (tmp_path / "acme/ops/runbooks/logo.md").write_bytes(b"\x89PNG\x00\x00binary")
    (tmp_path / "acme/ops/runbooks/latin1.md").write_bytes("# Caf\xe9\n\nd\xe9j\xe0 vu\n".encode("latin-1"))
    return RunbookIndexer(LocalRunbookIndex(embedder=HashingEmbedder(dimension=128)), DirectoryFiles(tmp_path))


def test_an_added_runbook_is_indexed_and_found(indexer: RunbookIndexer) -> None:
    report = indexer.apply(message())
    assert (report.documents, report.chunks, report.written) == (1, 2, 2)
    assert indexer.index.search("disk almost full")[0].path == "runbooks/DiskFull.md"


def test_a_removed_runbook_deletes_its_chunks(indexer: RunbookIndexer) -> None:
    indexer.apply(message())
    assert indexer.apply(message(change_type=ChangeType.removed)).removed_chunks == 2
    assert indexer.index.search("disk almost full") == []


def test_a_runbook_missing_at_its_commit_is_treated_as_removed_with_a_reason(indexer: RunbookIndexer) -> None:
    indexer.apply(message())
    indexer.files = DirectoryFiles(Path("/nonexistent"))
    report = indexer.apply(message(change_type=ChangeType.modified))
    assert report.removed_chunks == 2 and "missing at" in report.skipped[0].reason


@pytest.mark.parametrize(("path", "reason"), [("runbooks/logo.md", "binary"), ("runbooks/latin1.md", "not UTF-8")])
def test_binary_and_non_utf8_runbooks_are_skipped_with_their_reason(
    indexer: RunbookIndexer, path: str, reason: str
) -> None:
    report = indexer.apply(message(path))
    assert report.documents == 0 and report.skipped[0].reason.startswith(reason)


def test_an_unreachable_provider_raises_so_the_message_is_retried(indexer: RunbookIndexer) -> None:
    class Down:
        def fetch_file(self, change: RunbookChangeMessage) -> bytes:
            raise FetchError("GET https://api.github.com/...: HTTP 502 Bad Gateway")

    indexer.files = Down()
    with pytest.raises(FetchError):
        indexer.apply(message())


@pytest.mark.parametrize("body", ["not json", '{"path": "runbooks/a.md"}', '{"provider": "gitlab"}'])
def test_a_message_that_is_not_a_runbook_change_is_refused(indexer: RunbookIndexer, body: str) -> None:
    with pytest.raises(BadChangeMessage):
        indexer.apply_body(body)


def test_the_indexer_extracts_with_the_small_bedrock_model_only_when_one_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLO_ENGINE_SMALL_MODEL_ID", raising=False)
    assert runbook_indexer.extractor_from_env() is None
    monkeypatch.setenv("SLO_ENGINE_SMALL_MODEL_ID", "amazon.nova-micro-v1:0")
    extractor = runbook_indexer.extractor_from_env()
    assert extractor is not None and extractor.__self__.small_model_id == "amazon.nova-micro-v1:0"  # type: ignore[attr-defined]


def test_source_links_point_at_the_file_at_its_commit_on_each_provider() -> None:
    github = message("runbooks/Disk Full.md")
    assert source_link(github) == f"https://github.com/acme/ops/blob/{'c' * 40}/runbooks/Disk%20Full.md"
    cloud = github.model_copy(update={"provider": Provider.bitbucket_cloud, "path": "runbooks/a.md"})
    assert source_link(cloud) == f"https://bitbucket.org/acme/ops/src/{'c' * 40}/runbooks/a.md"
    server = cloud.model_copy(
        update={"provider": Provider.bitbucket_server, "repository": "OPS/runbooks", "server_url": "https://bb.local/"}
    )
    assert source_link(server) == f"https://bb.local/projects/OPS/repos/runbooks/browse/runbooks/a.md?at={'c' * 40}"
    assert source_link(server.model_copy(update={"server_url": None})) is None


def test_indexed_chunks_carry_the_source_link_of_their_change(indexer: RunbookIndexer) -> None:
    upserted: list[Any] = []

    class Recording(LinkingIndex):
        def upsert(self, chunks: Any) -> int:
            upserted.extend(chunks)
            return len(chunks)

    indexer.index = Recording(indexer.index, None)
    indexer.apply(message())
    assert upserted and {chunk.link for chunk in upserted} == {source_link(message())}


def test_the_indexer_lambda_entrypoint_returns_its_report(
    monkeypatch: pytest.MonkeyPatch, indexer: RunbookIndexer
) -> None:
    monkeypatch.setattr(runbook_indexer, "indexer_from_env", lambda: indexer)

    class Record:
        body = message().model_dump_json()

    report: dict[str, Any] = runbook_indexer.handle(Record())
    assert (report["path"], report["chunks"]) == ("runbooks/DiskFull.md", 2)
