"""The GitHub / Bitbucket REST client against a loopback server answering the providers' documented response shapes:
file at a commit, Bitbucket Cloud diffstat (paged, renames), Bitbucket Data Center changes (paged), 404 and 5xx.
"""

from __future__ import annotations

import pytest
from replay_http import Recorded, replay_server

from slo_engine.adapters.repository_rest import RepositoryRestClient, RepositoryTokens
from slo_engine.knowledge.fetching import FetchError, FileMissing
from slo_engine.knowledge.webhooks import ChangeType, FileChange, Provider, RunbookChangeMessage

COMMIT = "709d658dc5b6d6afcd46049c2f332ee3f515a67d"
OLD = "1e65c05c1d5171631d92438a13901ca7dae9618c"


def change(provider: Provider, repository: str, path: str = "runbooks/a b.md", **extra: str) -> RunbookChangeMessage:
    return RunbookChangeMessage(
        provider=provider, repository=repository, path=path, commit=COMMIT, change_type=ChangeType.modified, **extra
    )


def test_github_file_is_fetched_raw_at_the_commit_with_the_token() -> None:
    answers = {("GET", "/repos/acme/ops/contents/"): [Recorded(200, b"# Runbook\n", "application/vnd.github.raw")]}
    with replay_server(answers) as server:
        client = RepositoryRestClient(RepositoryTokens(github_token="ghp_x"), github_api_url=server.url)
        assert client.fetch_file(change(Provider.github, "acme/ops")) == b"# Runbook\n"
    (request,) = server.requests
    assert request.path == f"/repos/acme/ops/contents/runbooks/a%20b.md?ref={COMMIT}"
    assert request.headers["Authorization"] == "Bearer ghp_x"
    assert request.headers["Accept"] == "application/vnd.github.raw+json"


def test_a_file_absent_at_the_commit_is_file_missing_and_a_5xx_is_a_fetch_error() -> None:
    answers = {
        ("GET", "/repos/acme/ops/contents/runbooks/gone.md"): [Recorded(404, {"message": "Not Found"})],
        ("GET", "/repos/acme/ops/contents/runbooks/busy.md"): [Recorded(502, {"message": "Bad gateway"})],
    }
    with replay_server(answers) as server:
        client = RepositoryRestClient(github_api_url=server.url)
        with pytest.raises(FileMissing):
            client.fetch_file(change(Provider.github, "acme/ops", "runbooks/gone.md"))
        with pytest.raises(FetchError, match="502"):
            client.fetch_file(change(Provider.github, "acme/ops", "runbooks/busy.md"))


def test_bitbucket_cloud_file_comes_from_src_at_the_commit() -> None:
    answers = {
        ("GET", f"/2.0/repositories/team/ops/src/{COMMIT}/runbooks/a.md"): [Recorded(200, b"# A\n", "text/plain")]
    }
    with replay_server(answers) as server:
        client = RepositoryRestClient(bitbucket_api_url=f"{server.url}/2.0")
        assert client.fetch_file(change(Provider.bitbucket_cloud, "team/ops", "runbooks/a.md")) == b"# A\n"


def test_bitbucket_cloud_diffstat_follows_next_pages_and_splits_renames() -> None:
    def entry(status: str, old: str | None, new: str | None) -> dict:
        return {
            "type": "diffstat",
            "status": status,
            "lines_added": 1,
            "lines_removed": 0,
            "old": {"path": old, "type": "commit_file"} if old else None,
            "new": {"path": new, "type": "commit_file"} if new else None,
        }

    with replay_server({}) as server:
        base = f"/2.0/repositories/team/ops/diffstat/{COMMIT}..{OLD}"
        server.answers[("GET", base)] = [
            Recorded(
                200,
                {
                    "pagelen": 2,
                    "values": [entry("added", None, "runbooks/new.md"), entry("modified", "a.md", "a.md")],
                    "next": f"{server.url}/2.0/page2",
                },
            )
        ]
        server.answers[("GET", "/2.0/page2")] = [
            Recorded(
                200,
                {
                    "pagelen": 2,
                    "values": [
                        entry("removed", "runbooks/old.md", None),
                        entry("renamed", "runbooks/x.md", "runbooks/y.md"),
                    ],
                },
            )
        ]
        client = RepositoryRestClient(bitbucket_api_url=f"{server.url}/2.0")
        changes = client.changed_files(Provider.bitbucket_cloud, "team/ops", OLD, COMMIT)
    assert changes == [
        FileChange(path="runbooks/new.md", change_type=ChangeType.added),
        FileChange(path="a.md", change_type=ChangeType.modified),
        FileChange(path="runbooks/old.md", change_type=ChangeType.removed),
        FileChange(path="runbooks/x.md", change_type=ChangeType.removed),
        FileChange(path="runbooks/y.md", change_type=ChangeType.added),
    ]


def test_bitbucket_data_center_changes_are_paged_by_next_page_start() -> None:
    def value(kind: str, path: str, source: str | None = None) -> dict:
        item = {"contentId": "c", "path": {"toString": path, "name": path.rsplit("/", 1)[-1]}, "type": kind}
        if source:
            item["srcPath"] = {"toString": source}
        return item

    path = "/rest/api/1.0/projects/~gopher/repos/webhook-test/changes"
    answers = {
        ("GET", path): [
            Recorded(200, {"values": [value("ADD", "runbooks/a.md")], "isLastPage": False, "nextPageStart": 1}),
            Recorded(
                200,
                {
                    "values": [value("MOVE", "runbooks/c.md", "runbooks/b.md"), value("DELETE", "runbooks/d.md")],
                    "isLastPage": True,
                },
            ),
        ]
    }
    with replay_server(answers) as server:
        client = RepositoryRestClient(RepositoryTokens(bitbucket_server_token="bbs"))
        changes = client.changed_files(Provider.bitbucket_server, "~gopher/webhook-test", OLD, COMMIT, server.url)
    assert [(c.path, c.change_type.value) for c in changes] == [
        ("runbooks/a.md", "added"),
        ("runbooks/b.md", "removed"),
        ("runbooks/c.md", "added"),
        ("runbooks/d.md", "removed"),
    ]
    first, second = server.requests
    assert f"since={OLD}" in first.path and f"until={COMMIT}" in first.path and "start=0" in first.path
    assert "start=1" in second.path and first.headers["Authorization"] == "Bearer bbs"


def test_bitbucket_data_center_file_needs_a_server_url() -> None:
    with pytest.raises(FetchError, match="base URL"):
        RepositoryRestClient().fetch_file(change(Provider.bitbucket_server, "OPS/runbooks"))
