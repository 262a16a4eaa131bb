"""The whole runbook path: a signed GitHub push -> the webhook entrypoint -> SQS (moto, with its DLQ) -> the indexer
Lambda handler (partial batch failures) -> the runbook index -> retrieval; a poison message ends in the DLQ while the
rest of its batch is indexed. Runbook files are served by a loopback "GitHub" from the public corpus.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlparse

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from slo_engine.knowledge.webhooks import sign_body

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "pipeline-secret"
REPOSITORY = "acme/platform-runbooks"
RUNBOOKS = {
    "runbooks/kubernetes/KubePodCrashLooping.md": "kubernetes/KubePodCrashLooping.md",
    "runbooks/etcd/etcdNoLeader.md": "etcd/etcdNoLeader.md",
    "docs/runbooks/node/NodeFilesystemSpaceFillingUp.md": "node/NodeFilesystemSpaceFillingUp.md",
}


@dataclass
class FakeLambdaContext:
    function_name: str = "runbook-indexer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:runbook-indexer"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def github(tmp_path: Path, corpus_root: Path) -> Iterator[str]:
    """Serves GET /repos/<owner>/<repo>/contents/<path>?ref=<commit> from a folder holding corpus runbooks."""
    source = corpus_root / "runbooks-prometheus-operator" / "content" / "runbooks"
    root = tmp_path / "repo"
    for target, name in RUNBOOKS.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, root / target)
    prefix = f"/repos/{REPOSITORY}/contents/"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = unquote(urlparse(self.path).path)
            file = root / path.removeprefix(prefix)
            found = path.startswith(prefix) and file.is_file()
            body = file.read_bytes() if found else b'{"message": "Not Found"}'
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, github: str) -> Iterator[dict[str, str]]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "SLO_ENGINE_EMBEDDER": "hashing",
        "SLO_ENGINE_DATA_DIR": str(tmp_path / "data"),
        "SLO_ENGINE_GITHUB_API_URL": github,
        "SLO_ENGINE_GITHUB_WEBHOOK_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT",
        "SLO_ENGINE_S3_VECTORS_BUCKET",
        "SLO_ENGINE_EMBEDDING_MODEL_ID",
        "SLO_ENGINE_SMALL_MODEL_ID",
        "SLO_ENGINE_REPOSITORY_TOKENS_SECRET_ARN",
        "SLO_ENGINE_IDEMPOTENCY_TABLE",
        "SLO_ENGINE_RUNBOOK_GLOBS",
    ):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(QueueName="runbook-changes-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="runbook-changes",
            Attributes={
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
            },
        )["QueueUrl"]
        monkeypatch.setenv("SLO_ENGINE_RUNBOOK_QUEUE_URL", queue_url)
        from slo_engine.entrypoints import runbook_indexer, webhook

        webhook._aws_queue.cache_clear()
        webhook._delivery_log.cache_clear()
        runbook_indexer.indexer_from_env.cache_clear()
        yield {"queue": queue_url, "dlq": dlq_url}
        runbook_indexer.indexer_from_env.cache_clear()
        webhook._aws_queue.cache_clear()
        webhook._delivery_log.cache_clear()


def load_handler(folder: str) -> ModuleType:
    path = REPO_ROOT / "lambdas" / folder / "handler.py"
    spec = importlib.util.spec_from_file_location(f"pipeline_handler_{folder}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1700000000000",
                },
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:runbook-changes",
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def run_indexer_once(queue_url: str) -> dict[str, Any]:
    """What the SQS event source does: receive a batch, invoke, delete the records not reported as failed."""
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    if not messages:
        return {"received": 0, "failed": []}
    try:
        response = load_handler("runbook_indexer").lambda_handler(sqs_event(messages), FakeLambdaContext())
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    except BatchProcessingError:  # every record failed: the invocation fails and the whole batch returns
        failed = {message["MessageId"] for message in messages}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return {"received": len(messages), "failed": sorted(failed)}


def push_payload(commits: list[dict[str, list[str]]]) -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "a" * 40,
            "after": f"{len(commits):040x}",
            "deleted": False,
            "repository": {"full_name": REPOSITORY, "default_branch": "main"},
            "commits": [
                {"id": f"{number:040x}", "added": [], "modified": [], "removed": []} | files
                for number, files in enumerate(commits, start=1)
            ],
        }
    ).encode()


def deliver(body: bytes, delivery: str) -> tuple[int, dict[str, Any]]:
    from slo_engine.entrypoints.webhook import handle_webhook

    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign_body(SECRET, body)}
    return handle_webhook("github", headers, body)


def search(text: str) -> list[Any]:
    from slo_engine.entrypoints.runbook_indexer import indexer_from_env

    return indexer_from_env().index.search(text, k=3)


def test_a_signed_push_is_queued_indexed_and_found_while_a_poison_message_ends_in_the_dlq(
    aws: dict[str, str],
) -> None:
    status, answer = deliver(push_payload([{"added": list(RUNBOOKS), "modified": ["README.md"]}]), "delivery-1")
    assert (status, answer["queued"]) == (202, 3)
    boto3.client("sqs").send_message(QueueUrl=aws["queue"], MessageBody='{"path": "runbooks/poison.md"}')

    first = run_indexer_once(aws["queue"])
    assert first["received"] == 4 and len(first["failed"]) == 1
    for _ in range(3):  # the poison message comes back until its receive count passes the redrive limit
        run_indexer_once(aws["queue"])

    dead = boto3.client("sqs").receive_message(QueueUrl=aws["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"]) for m in dead] == [{"path": "runbooks/poison.md"}]
    hits = search("pods keep restarting in a crash loop")
    assert hits[0].path == "runbooks/kubernetes/KubePodCrashLooping.md"
    assert hits[0].repository == REPOSITORY and hits[0].resolution is not None
    assert search("etcdNoLeader")[0].path == "runbooks/etcd/etcdNoLeader.md"


def test_a_removed_runbook_leaves_the_index_and_a_redelivery_is_not_queued_again(aws: dict[str, str]) -> None:
    assert deliver(push_payload([{"added": list(RUNBOOKS)}]), "delivery-a")[0] == 202
    run_indexer_once(aws["queue"])
    removal = push_payload([{"removed": ["runbooks/etcd/etcdNoLeader.md"]}])
    assert deliver(removal, "delivery-b")[1]["queued"] == 1
    assert deliver(removal, "delivery-b")[1]["queued"] == 0
    assert run_indexer_once(aws["queue"]) == {"received": 1, "failed": []}
    assert all(hit.path != "runbooks/etcd/etcdNoLeader.md" for hit in search("etcd cluster has no leader"))


def test_a_tampered_delivery_queues_nothing(aws: dict[str, str]) -> None:
    from slo_engine.entrypoints.webhook import handle_webhook

    body = push_payload([{"added": list(RUNBOOKS)}])
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign_body("wrong", body)}
    assert handle_webhook("github", headers, body)[0] == 401
    assert run_indexer_once(aws["queue"])["received"] == 0
