"""GitHub, Bitbucket Cloud and Bitbucket Data Center REST APIs: a file at a commit, and the files a push changed.

Implements ``knowledge.fetching.RepositoryFiles`` and ``knowledge.webhooks.ChangedFilesSource`` with urllib (no
extra dependency). Tokens are read-only repository tokens; 404 is ``FileMissing``, any other failure ``FetchError``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pydantic import BaseModel

from slo_engine.knowledge.fetching import FetchError, FileMissing
from slo_engine.knowledge.webhooks import ChangeType, FileChange, Provider, RunbookChangeMessage

USER_AGENT = "slo-engine-runbook-indexer"
MAX_PAGES = 50

_BITBUCKET_CLOUD_STATUS = {"added": ChangeType.added, "modified": ChangeType.modified, "removed": ChangeType.removed}
_BITBUCKET_SERVER_TYPE = {
    "ADD": ChangeType.added,
    "COPY": ChangeType.added,
    "MODIFY": ChangeType.modified,
    "DELETE": ChangeType.removed,
}


class RepositoryTokens(BaseModel):
    """The JSON of the repository-tokens secret; a missing token means anonymous access (public repositories)."""

    github_token: str | None = None
    bitbucket_token: str | None = None
    bitbucket_server_token: str | None = None


class RepositoryRestClient:
    """One client for the three providers; base URLs are settable for GitHub Enterprise and for tests."""

    def __init__(
        self,
        tokens: RepositoryTokens | None = None,
        *,
        github_api_url: str = "https://api.github.com",
        bitbucket_api_url: str = "https://api.bitbucket.org/2.0",
        timeout_seconds: float = 10.0,
    ) -> None:
        self.tokens = tokens or RepositoryTokens()
        self.github_api_url = github_api_url.rstrip("/")
        self.bitbucket_api_url = bitbucket_api_url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    # --- RepositoryFiles ---------------------------------------------------------------------------------------

    def fetch_file(self, change: RunbookChangeMessage) -> bytes:
        path = urllib.parse.quote(change.path.lstrip("/"))
        if change.provider is Provider.github:
            url = f"{self.github_api_url}/repos/{change.repository}/contents/{path}?ref={_q(change.commit)}"
            return self._get(url, self.tokens.github_token, accept="application/vnd.github.raw+json")
        if change.provider is Provider.bitbucket_cloud:
            url = f"{self.bitbucket_api_url}/repositories/{change.repository}/src/{_q(change.commit)}/{path}"
            return self._get(url, self.tokens.bitbucket_token)
        project, slug = _project_and_slug(change.repository)
        url = f"{_server(change.server_url)}/rest/api/1.0/projects/{project}/repos/{slug}/raw/{path}"
        return self._get(f"{url}?at={_q(change.commit)}", self.tokens.bitbucket_server_token)

    # --- ChangedFilesSource ------------------------------------------------------------------------------------

    def changed_files(
        self, provider: Provider, repository: str, since: str | None, until: str, server_url: str | None = None
    ) -> list[FileChange]:
        if provider is Provider.bitbucket_cloud:
            return self._bitbucket_cloud_diffstat(repository, since, until)
        if provider is Provider.bitbucket_server:
            return self._bitbucket_server_changes(repository, since, until, server_url)
        raise FetchError(f"{provider.value} payloads carry their file lists: no diff API call is needed")

    def _bitbucket_cloud_diffstat(self, repository: str, since: str | None, until: str) -> list[FileChange]:
        """GET /repositories/{workspace}/{slug}/diffstat/{new}..{old} (or {new}: against its first parent), paged."""
        spec = f"{until}..{since}" if since else until
        url: str | None = f"{self.bitbucket_api_url}/repositories/{repository}/diffstat/{_q(spec)}?pagelen=500"
        changes: list[FileChange] = []
        for _ in range(MAX_PAGES):
            if url is None:
                break
            page = self._get_json(url, self.tokens.bitbucket_token)
            for entry in page.get("values", []):
                status = entry.get("status")
                new, old = entry.get("new") or {}, entry.get("old") or {}
                if status == "renamed":
                    changes.append(FileChange(path=old["path"], change_type=ChangeType.removed))
                    changes.append(FileChange(path=new["path"], change_type=ChangeType.added))
                elif status in _BITBUCKET_CLOUD_STATUS:
                    path = (old if status == "removed" else new).get("path")
                    if path:
                        changes.append(FileChange(path=path, change_type=_BITBUCKET_CLOUD_STATUS[status]))
            url = page.get("next")
        return changes

    def _bitbucket_server_changes(
        self, repository: str, since: str | None, until: str, server_url: str | None
    ) -> list[FileChange]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/changes?since=&until=, paged by start/isLastPage."""
        project, slug = _project_and_slug(repository)
        base = f"{_server(server_url)}/rest/api/1.0/projects/{project}/repos/{slug}/changes"
        query = {"until": until, "limit": "500"} | ({"since": since} if since else {})
        changes: list[FileChange] = []
        start = 0
        for _ in range(MAX_PAGES):
            page = self._get_json(f"{base}?{urllib.parse.urlencode(query | {'start': str(start)})}", None, server=True)
            for entry in page.get("values", []):
                kind = entry.get("type")
                path = (entry.get("path") or {}).get("toString")
                if kind == "MOVE":
                    source = (entry.get("srcPath") or {}).get("toString")
                    if source:
                        changes.append(FileChange(path=source, change_type=ChangeType.removed))
                    if path:
                        changes.append(FileChange(path=path, change_type=ChangeType.added))
                elif kind in _BITBUCKET_SERVER_TYPE and path:
                    changes.append(FileChange(path=path, change_type=_BITBUCKET_SERVER_TYPE[kind]))
            if page.get("isLastPage", True) or page.get("nextPageStart") is None:
                break
            start = int(page["nextPageStart"])
        return changes

    # --- HTTP --------------------------------------------------------------------------------------------------

    def _get_json(self, url: str, token: str | None, server: bool = False) -> dict[str, Any]:
        body = self._get(url, self.tokens.bitbucket_server_token if server else token, accept="application/json")
        try:
            page = json.loads(body)
        except json.JSONDecodeError as error:
            raise FetchError(f"GET {url}: the answer is not JSON") from error
        if not isinstance(page, dict):
            raise FetchError(f"GET {url}: the answer is not a JSON object")
        return page

    def _get(self, url: str, token: str | None, accept: str = "*/*") -> bytes:
        headers = {"User-Agent": USER_AGENT, "Accept": accept}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise FileMissing(f"GET {url}: 404 not found") from error
            raise FetchError(f"GET {url}: HTTP {error.code} {error.reason}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise FetchError(f"GET {url}: {error}") from error


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _project_and_slug(repository: str) -> tuple[str, str]:
    project, separator, slug = repository.partition("/")
    if not separator or not project or not slug:
        raise FetchError(f"Bitbucket Data Center repository must be PROJECT/slug, not {repository!r}")
    return urllib.parse.quote(project, safe="~"), urllib.parse.quote(slug, safe="")


def _server(server_url: str | None) -> str:
    if not server_url:
        raise FetchError("no Bitbucket Data Center base URL (set SLO_ENGINE_BITBUCKET_SERVER_URL)")
    return server_url.rstrip("/")
