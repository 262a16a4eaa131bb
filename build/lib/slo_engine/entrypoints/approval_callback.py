"""The approval callback's entry (API Gateway ``/approvals/{id}``): pages for GET, decisions for POST.

A Slack interaction (``X-Slack-Signature``) is verified as Slack's; any other POST is the approval form. Every
outcome is a page with a fitting status (403 bad signature, 404 unknown, 409 reused, 410 expired), never a 500.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from slo_engine.approval.pages import message_page
from slo_engine.approval.service import ApprovalService
from slo_engine.engine import Engine
from slo_engine.entrypoints.wiring import approval_service_from_env

HTML = "text/html; charset=utf-8"


@lru_cache(maxsize=1)
def _service() -> ApprovalService:
    return approval_service_from_env(Engine.from_env())


def render_approval_page(approval_id: str, query: dict[str, str]) -> tuple[int, str]:
    return _service().render_approval_page(approval_id, query)


def submit_decision(approval_id: str, form: dict[str, str], client: str | None = None) -> tuple[int, str]:
    return _service().submit_decision(approval_id, form, client)


def handle(request: Any, context: Any = None, service: ApprovalService | None = None) -> tuple[int, str, str]:
    """``request`` has ``approval_id``, ``method``, ``query``, ``form``, ``headers``, ``raw_body``, ``source_ip``."""
    try:
        svc = service or _service()
        headers = {k.lower(): v for k, v in (request.headers or {}).items()}
        if request.method == "GET":
            status, body = svc.render_approval_page(request.approval_id, dict(request.query or {}))
        elif "x-slack-signature" in headers:
            status, body = svc.handle_slack(request.approval_id, headers, request.raw_body or "")
        else:
            client = " ".join(x for x in (request.source_ip, request.user_agent) if x) or None
            status, body = svc.submit_decision(request.approval_id, dict(request.form or {}), client)
    except Exception as error:  # a clear page, never a bare 500; the log keeps the detail
        import logging

        logging.getLogger(__name__).exception("approval callback failed")
        return (
            503,
            message_page("Try again later", f"The approval could not be processed ({type(error).__name__})."),
            HTML,
        )
    return status, body, HTML
