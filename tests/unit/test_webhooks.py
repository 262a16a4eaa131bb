"""Runbook webhooks: HMAC signatures, GitHub and Bitbucket push payloads (the real ones in ../shared/corpus/webhooks),
runbook globs, one change per file, idempotent redelivery and the HTTP status of every refusal.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from slo_engine.knowledge.webhooks import (
    ChangeType,
    FileChange,
    ListChangeQueue,
    Provider,
    SqliteDeliveryLog,
    glob_pattern,
    is_runbook_path,
    receive_webhook,
    sign_body,
    verify_signature,
)

SECRET = "webhook-test-secret"


@pytest.fixture(scope="module")
def webhooks(corpus_root: Path) -> Path:
    return corpus_root / "webhooks"


def load(webhooks: Path, name: str) -> dict[str, Any]:
    return json.loads((webhooks / name).read_text())


def raw(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def github_headers(body: bytes, event: str = "push", delivery: str = "d-1", secret: str = SECRET) -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign_body(secret, body)}


def bitbucket_headers(body: bytes, event: str, delivery: str = "b-1", secret: str = SECRET) -> dict[str, str]:
    return {"X-Event-Key": event, "X-Request-UUID": delivery, "X-Hub-Signature": sign_body(secret, body)}


def github_push_with(webhooks: Path, *commit_files: dict[str, list[str]]) -> dict[str, Any]:
    """The real push payload with its commit list replaced by commits touching the given files."""
    payload = load(webhooks, "github-push.json")
    template = payload["commits"][0]
    payload["commits"] = []
    for number, files in enumerate(commit_files, start=1):
        commit = copy.deepcopy(template)
        commit["id"] = f"{number:040x}"
        commit.update({"added": [], "modified": [], "removed": []} | files)
        payload["commits"].append(commit)
    return payload


class FakeChangedFiles:
    """The diff API answer for any range, recording what was asked."""

    def __init__(self, files: list[FileChange]) -> None:
        self.files = files
        self.calls: list[tuple[Provider, str, str | None, str, str | None]] = []

    def changed_files(
        self, provider: Provider, repository: str, since: str | None, until: str, server_url: str | None = None
    ) -> list[FileChange]:
        self.calls.append((provider, repository, since, until, server_url))
        return self.files


def deliver(provider: str, headers: dict[str, str], body: bytes, **kwargs: Any) -> tuple[int, dict, ListChangeQueue]:
    queue = kwargs.pop("queue", None) or ListChangeQueue()
    status, answer = receive_webhook(
        provider, headers, body, secret=kwargs.pop("secret", SECRET), queue=queue, **kwargs
    )
    return status, answer, queue


# --- signatures ---------------------------------------------------------------------------------------------------


def test_githubs_documented_signature_example_verifies() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign_body("It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify_signature("It's a Secret to Everybody", b"Hello, World!", expected)


def test_a_tampered_body_wrong_secret_or_malformed_header_fails_verification() -> None:
    good = sign_body(SECRET, b'{"a": 1}')
    assert not verify_signature(SECRET, b'{"a": 2}', good)
    assert not verify_signature("other", b'{"a": 1}', good)
    assert not verify_signature(SECRET, b'{"a": 1}', good.removeprefix("sha256="))
    assert not verify_signature(SECRET, b'{"a": 1}', None)
    assert not verify_signature("", b'{"a": 1}', good)


def test_real_github_push_with_a_tampered_signature_is_refused_with_401_and_nothing_queued(webhooks: Path) -> None:
    body = (webhooks / "github-push.json").read_bytes()
    headers = github_headers(body)
    headers["X-Hub-Signature-256"] = sign_body(SECRET, body + b" ")
    status, answer, queue = deliver("github", headers, body)
    assert status == 401 and queue.messages == []
    assert "signature" in answer["message"]


def test_a_missing_signature_or_missing_secret_is_refused_with_401(webhooks: Path) -> None:
    body = (webhooks / "github-ping.json").read_bytes()
    assert deliver("github", {"X-GitHub-Event": "ping"}, body)[0] == 401
    assert deliver("github", github_headers(body, "ping"), body, secret=None)[0] == 401


# --- GitHub -------------------------------------------------------------------------------------------------------


def test_real_github_ping_answers_200(webhooks: Path) -> None:
    body = (webhooks / "github-ping.json").read_bytes()
    status, answer, queue = deliver("github", github_headers(body, "ping"), body)
    assert status == 200 and answer["queued"] == 0 and queue.messages == []


def test_real_github_push_outside_the_runbook_folders_queues_nothing_and_says_why(webhooks: Path) -> None:
    body = (webhooks / "github-push.json").read_bytes()
    status, answer, queue = deliver("github", github_headers(body), body)
    assert status == 202 and queue.messages == []
    assert "app/controllers/application_controller.rb: not a runbook path" in answer["ignored"]


def test_github_push_queues_one_message_per_runbook_with_repository_path_commit_and_type(webhooks: Path) -> None:
    payload = github_push_with(
        webhooks, {"added": ["runbooks/checkout/HighErrors.md", "src/app.py"], "modified": ["docs/runbooks/db.md"]}
    )
    body = raw(payload)
    status, answer, queue = deliver("github", github_headers(body), body)
    assert status == 202 and answer["queued"] == 2
    by_path = {m.path: m for m in queue.messages}
    added = by_path["runbooks/checkout/HighErrors.md"]
    assert (added.provider, added.repository, added.change_type) == (Provider.github, "binkkatal/sample_app", "added")
    assert added.commit == f"{1:040x}" and added.ref == "refs/heads/master"
    assert by_path["docs/runbooks/db.md"].change_type is ChangeType.modified


def test_the_last_state_of_a_path_across_commits_wins(webhooks: Path) -> None:
    payload = github_push_with(
        webhooks,
        {"added": ["runbooks/a.md", "runbooks/b.md"]},
        {"modified": ["runbooks/a.md"], "removed": ["runbooks/b.md"]},
        {"removed": ["runbooks/a.md"], "added": ["runbooks/b.md"]},
    )
    body = raw(payload)
    _, _, queue = deliver("github", github_headers(body), body)
    states = {m.path: (m.change_type, m.commit) for m in queue.messages}
    assert states == {"runbooks/a.md": ("removed", f"{3:040x}"), "runbooks/b.md": ("added", f"{3:040x}")}


def test_a_push_at_githubs_commit_limit_says_older_files_may_be_missing(webhooks: Path) -> None:
    body = raw(github_push_with(webhooks, *({"modified": ["runbooks/a.md"]} for _ in range(2048))))
    status, answer, queue = deliver("github", github_headers(body), body, max_body_bytes=len(body))
    assert status == 202 and len(queue.messages) == 1
    assert "maximum" in answer["ignored"][0]


def test_a_tag_delete_with_no_commits_queues_nothing(webhooks: Path) -> None:
    payload = load(webhooks, "github-push.json")
    payload.update(ref="refs/tags/v1.0", deleted=True, commits=[], head_commit=None, after="0" * 40)
    body = raw(payload)
    status, answer, queue = deliver("github", github_headers(body), body)
    assert status == 202 and queue.messages == [] and answer["ignored"][0].startswith("refs/tags/v1.0")


def test_a_push_to_another_branch_than_the_default_one_queues_nothing(webhooks: Path) -> None:
    payload = github_push_with(webhooks, {"modified": ["runbooks/a.md"]})
    payload["ref"] = "refs/heads/feature/rewrite"
    body = raw(payload)
    status, answer, queue = deliver("github", github_headers(body), body)
    assert status == 202 and queue.messages == []
    assert answer["ignored"] == ["refs/heads/feature/rewrite: branch not indexed (indexed: master)"]
    assert deliver("github", github_headers(body), body, branches=("*",))[1]["queued"] == 1


def test_other_github_events_are_accepted_and_ignored(webhooks: Path) -> None:
    body = (webhooks / "github-ping.json").read_bytes()
    status, answer, _ = deliver("github", github_headers(body, "issues"), body)
    assert status == 202 and "ignored" in answer["message"]


def test_a_redelivered_delivery_id_is_queued_once(webhooks: Path) -> None:
    body = raw(github_push_with(webhooks, {"added": ["runbooks/a.md"]}))
    log, queue = SqliteDeliveryLog(), ListChangeQueue()
    first = deliver("github", github_headers(body, delivery="same"), body, queue=queue, delivery_log=log)
    again = deliver("github", github_headers(body, delivery="same"), body, queue=queue, delivery_log=log)
    assert (first[0], again[0]) == (202, 202) and again[1].get("duplicate") is True
    assert len(queue.messages) == 1


def test_a_failed_queue_answers_503_and_the_retry_is_queued(webhooks: Path) -> None:
    body = raw(github_push_with(webhooks, {"added": ["runbooks/a.md"]}))

    class BrokenQueue(ListChangeQueue):
        def send(self, messages: Any) -> None:
            raise ConnectionError("SQS unreachable")

    log = SqliteDeliveryLog()
    assert deliver("github", github_headers(body), body, queue=BrokenQueue(), delivery_log=log)[0] == 503
    status, _, queue = deliver("github", github_headers(body), body, delivery_log=log)
    assert status == 202 and len(queue.messages) == 1


def test_an_oversized_body_is_refused_with_413_before_verification() -> None:
    body = b"{" + b" " * 2048 + b"}"
    assert deliver("github", github_headers(body), body, max_body_bytes=1024)[0] == 413


def test_signed_malformed_json_or_payload_is_refused_with_400() -> None:
    for body in (b"{not json", b"[1, 2]", b'{"ref": "refs/heads/main", "commits": "none", "repository": {}}'):
        status, answer, queue = deliver("github", github_headers(body), body)
        assert status == 400 and queue.messages == [], answer


def test_an_unknown_provider_is_404() -> None:
    assert deliver("gitlab", {}, b"{}")[0] == 404


# --- Bitbucket ----------------------------------------------------------------------------------------------------


def test_real_bitbucket_cloud_push_gets_its_files_from_the_diffstat_range(webhooks: Path) -> None:
    body = (webhooks / "bitbucket-repo-push.json").read_bytes()
    source = FakeChangedFiles(
        [
            FileChange(path="runbooks/payments/Timeouts.md", change_type=ChangeType.modified),
            FileChange(path="README.md", change_type=ChangeType.modified),
        ]
    )
    status, answer, queue = deliver(
        "bitbucket", bitbucket_headers(body, "repo:push"), body, changed_files=source, branches=("name-of-branch",)
    )
    assert status == 202 and answer["queued"] == 1
    (message,) = queue.messages
    new_hash = "709d658dc5b6d6afcd46049c2f332ee3f515a67d"
    assert source.calls == [
        (Provider.bitbucket_cloud, "team_name/repo_name", "1e65c05c1d5171631d92438a13901ca7dae9618c", new_hash, None)
    ]
    assert (message.provider, message.repository, message.commit) == (
        Provider.bitbucket_cloud,
        "team_name/repo_name",
        new_hash,
    )


def test_real_bitbucket_cloud_push_with_a_tampered_signature_is_401(webhooks: Path) -> None:
    body = (webhooks / "bitbucket-repo-push.json").read_bytes()
    headers = bitbucket_headers(body, "repo:push", secret="not-the-secret")
    assert deliver("bitbucket", headers, body, changed_files=FakeChangedFiles([]))[0] == 401


def test_real_bitbucket_data_center_branch_delete_queues_nothing(webhooks: Path) -> None:
    body = (webhooks / "bitbucket-server-repo-refs-changed.json").read_bytes()
    source = FakeChangedFiles([FileChange(path="runbooks/a.md", change_type=ChangeType.added)])
    status, answer, queue = deliver(
        "bitbucket", bitbucket_headers(body, "repo:refs_changed"), body, changed_files=source
    )
    assert status == 202 and queue.messages == [] and source.calls == []
    assert "deleted" in answer["ignored"][0]


def test_bitbucket_data_center_update_asks_the_changes_api_for_from_to_on_its_server(webhooks: Path) -> None:
    payload = load(webhooks, "bitbucket-server-repo-refs-changed.json")
    payload["changes"][0].update(type="UPDATE", toHash="b" * 40)
    body = raw(payload)
    source = FakeChangedFiles([FileChange(path="docs/runbooks/etcd.md", change_type=ChangeType.removed)])
    _, _, queue = deliver(
        "bitbucket", bitbucket_headers(body, "repo:refs_changed"), body, changed_files=source, branches=("*",)
    )
    assert source.calls == [
        (
            Provider.bitbucket_server,
            "~gopher/webhook-test",
            "32a0b8a740c2963c6f56bd8baf3dc05683d299e0",
            "b" * 40,
            "https://server.bitbucket.local",
        )
    ]
    (message,) = queue.messages
    assert (message.change_type, message.server_url, message.commit) == (
        "removed",
        "https://server.bitbucket.local",
        "b" * 40,
    )


def test_a_bitbucket_push_to_a_branch_other_than_main_or_master_asks_nothing_and_queues_nothing(
    webhooks: Path,
) -> None:
    body = (webhooks / "bitbucket-repo-push.json").read_bytes()
    source = FakeChangedFiles([FileChange(path="runbooks/a.md", change_type=ChangeType.added)])
    status, answer, queue = deliver("bitbucket", bitbucket_headers(body, "repo:push"), body, changed_files=source)
    assert (status, queue.messages, source.calls) == (202, [], [])
    assert "name-of-branch: branch not indexed" in answer["ignored"][0]


def test_a_failing_diff_api_answers_503_and_queues_nothing(webhooks: Path) -> None:
    body = (webhooks / "bitbucket-repo-push.json").read_bytes()

    class Down(FakeChangedFiles):
        def changed_files(self, *args: Any, **kwargs: Any) -> list[FileChange]:
            raise TimeoutError("bitbucket down")

    headers = bitbucket_headers(body, "repo:push")
    status, _, queue = deliver("bitbucket", headers, body, changed_files=Down([]), branches=("*",))
    assert status == 503 and queue.messages == []


# --- globs --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("runbooks/a.md", True),
        ("runbooks/team/deep/b.markdown", True),
        ("docs/runbooks/c.md", True),
        ("docs/runbooks/image.png", False),
        ("runbooks.md", False),
        ("src/runbooks/a.md", False),
        ("docs/other/a.md", False),
    ],
)
def test_default_globs_take_markdown_under_the_runbook_folders_only(path: str, expected: bool) -> None:
    assert is_runbook_path(path) is expected


def test_custom_globs_follow_double_star_and_single_star_rules() -> None:
    assert glob_pattern("**/runbooks/*.md").match("services/pay/runbooks/a.md")
    assert glob_pattern("**/runbooks/*.md").match("runbooks/a.md")
    assert not glob_pattern("**/runbooks/*.md").match("runbooks/x/a.md")
