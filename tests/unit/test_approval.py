"""Human approval: signed expiring links, single-use decisions, Slack signatures, pages and the callback entry."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from slo_engine.approval.links import LinkError, LinkSigner
from slo_engine.approval.local import OutboxNotifier, RecordingResumer
from slo_engine.approval.models import HumanDecision
from slo_engine.approval.service import REJECTED_ERROR, ApprovalService
from slo_engine.approval.slack import SlackRequestError, slack_signature, verify_slack_request
from slo_engine.approval.store import ApprovalAlreadyDecidedError, SqliteApprovalStore
from slo_engine.embedded.state_store import SqliteStateStore
from slo_engine.entrypoints.approval_callback import handle
from slo_engine.models import Recommendation

KEY = "k" * 32
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAe+very+secret+task+token=="
SLACK_SECRET = "slack-signing-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def rec(rec_id: str, service: str = "payments", risks: list[str] | None = None) -> Recommendation:
    return Recommendation(
        id=rec_id,
        service=service,
        sli="availability",
        target=0.999,
        window_days=28,
        attained=0.9995,
        events=1000,
        history_days=28,
        confidence=0.9,
        risks=risks or [],
    )


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def service(clock):
    state = SqliteStateStore(None)
    state.save_recommendations([rec("rec-a"), rec("rec-b", "checkout")])
    return ApprovalService(
        store=SqliteApprovalStore(None),
        signer=LinkSigner(KEY, clock=clock),
        state=state,
        resumer=RecordingResumer(),
        base_url="https://approvals.example.test/prod",
        notifiers=[OutboxNotifier()],
        link_ttl_seconds=3600,
        slack_signing_secret=SLACK_SECRET,
        clock=clock,
    )


def open_approval(service, ids=("rec-a", "rec-b")):
    event = {
        "taskToken": TOKEN,
        "executionId": "arn:aws:states:us-east-1:123456789012:execution:sm:run-1",
        "state": {"summary": {"recommendation_ids": list(ids), "text": "2 SLOs for 2 services <b>now</b>"}},
    }
    return service.open_approval(event)


def link_query(service, action):
    url = service.notifiers[0].sent[-1].links[action]
    return dict(parse_qsl(urlsplit(url).query))


def form_for(service, approval_id, link_action, action, by="alice", reason="fits on-call"):
    q = link_query(service, link_action)
    return {"link_action": q["action"], "exp": q["exp"], "sig": q["sig"], "action": action, "by": by, "reason": reason}


# --- links -----------------------------------------------------------------------------------------------


def test_a_signed_link_verifies_until_it_expires(clock):
    signer = LinkSigner(KEY, clock=clock)
    link = signer.sign("apr-1", "approve", int(clock.now) + 60)
    assert signer.verify("apr-1", link.query()).action == "approve"
    clock.now += 61
    with pytest.raises(LinkError) as raised:
        signer.verify("apr-1", link.query())
    assert raised.value.reason == "expired"


def test_changing_the_action_or_the_id_breaks_the_signature(clock):
    signer = LinkSigner(KEY, clock=clock)
    query = signer.sign("apr-1", "reject", int(clock.now) + 60).query()
    with pytest.raises(LinkError, match="signature"):
        signer.verify("apr-1", {**query, "action": "approve"})
    with pytest.raises(LinkError, match="signature"):
        signer.verify("apr-2", query)


def test_a_short_signing_key_is_refused():
    with pytest.raises(ValueError, match="16 bytes"):
        LinkSigner("short")


def test_links_and_messages_never_carry_the_task_token(service):
    open_approval(service)
    message = service.notifiers[0].sent[-1]
    assert TOKEN not in message.model_dump_json()
    assert all("sig=" in url and "exp=" in url for url in message.links.values())


def test_the_slack_message_is_block_kit_with_escaped_text_and_link_buttons(service):
    opened = open_approval(service)
    slack = service.notifiers[0].sent[-1].slack
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "context", "actions"]
    assert "&lt;b&gt;now&lt;/b&gt;" in slack["blocks"][1]["text"]["text"]
    buttons = slack["blocks"][3]["elements"]
    assert [b["action_id"] for b in buttons] == ["approve", "reject", "review"]
    assert all(b["value"] == opened["approval_id"] and b["url"].startswith("https://") for b in buttons)


# --- the approval store ----------------------------------------------------------------------------------


def test_the_sqlite_approval_store_decides_once(service):
    opened = open_approval(service)
    decision = HumanDecision(action="approve", by="alice")
    service.store.decide(opened["approval_id"], decision)
    with pytest.raises(ApprovalAlreadyDecidedError, match="already approved by alice"):
        service.store.decide(opened["approval_id"], decision)


def test_opening_an_approval_without_a_task_token_is_a_clear_error(service):
    with pytest.raises(ValueError, match="taskToken"):
        service.open_approval({"executionId": "x", "state": {}})


# --- pages and decisions ---------------------------------------------------------------------------------


def test_a_review_link_shows_the_form_and_decides_nothing(service):
    opened = open_approval(service)
    status, html = service.render_approval_page(opened["approval_id"], link_query(service, "review"))
    assert status == 200 and "<form" in html and 'name="by"' in html
    assert "&lt;b&gt;now&lt;/b&gt;" in html  # summary text is escaped
    assert service.resumer.calls == []
    assert service.state.get_recommendation("rec-a").status.value == "pending"


def test_approving_records_who_and_why_and_resumes_with_task_success(service):
    opened = open_approval(service)
    status, html = service.submit_decision(
        opened["approval_id"], form_for(service, opened["approval_id"], "approve", "approve")
    )
    assert status == 200, html
    (call,) = service.resumer.calls
    assert call["call"] == "succeed" and call["task_token"] == TOKEN
    assert call["output"]["approved"] == ["rec-a", "rec-b"] and call["output"]["by"] == "alice"
    decided = service.state.get_recommendation("rec-a")
    assert (decided.status.value, decided.decided_by, decided.decision_reason) == ("approved", "alice", "fits on-call")


def test_rejecting_resumes_with_task_failure_and_the_reason(service):
    opened = open_approval(service)
    form = form_for(service, opened["approval_id"], "review", "reject", reason="too tight for the freeze")
    status, _ = service.submit_decision(opened["approval_id"], form)
    assert status == 200
    (call,) = service.resumer.calls
    assert (call["call"], call["error"]) == ("fail", REJECTED_ERROR)
    assert "too tight for the freeze" in call["cause"]
    assert service.state.get_recommendation("rec-b").status.value == "rejected"


def test_a_reused_link_gets_a_clear_409_page(service):
    opened = open_approval(service)
    form = form_for(service, opened["approval_id"], "approve", "approve")
    service.submit_decision(opened["approval_id"], form)
    status, html = service.submit_decision(opened["approval_id"], form)
    assert status == 409 and "already approved by alice" in html
    assert len(service.resumer.calls) == 1


def test_an_expired_link_gets_a_clear_410_page(service, clock):
    opened = open_approval(service)
    form = form_for(service, opened["approval_id"], "approve", "approve")
    clock.now += 3601
    status, html = service.submit_decision(opened["approval_id"], form)
    assert status == 410 and "expired" in html
    assert service.resumer.calls == []


def test_a_forged_signature_gets_403_and_an_unknown_id_404(service):
    opened = open_approval(service)
    form = form_for(service, opened["approval_id"], "approve", "approve")
    assert service.submit_decision(opened["approval_id"], {**form, "sig": "0" * 64})[0] == 403
    other = "apr-" + "0" * 32
    query = service.signer.sign(other, "review", int(time.time()) + 10**9).query()
    assert service.render_approval_page(other, query)[0] == 404


def test_an_approve_link_cannot_be_used_to_reject(service):
    opened = open_approval(service)
    status, _ = service.submit_decision(
        opened["approval_id"], form_for(service, opened["approval_id"], "approve", "reject")
    )
    assert status == 400


def test_a_decision_without_a_name_is_refused_and_loses_nothing(service):
    opened = open_approval(service)
    status, html = service.submit_decision(
        opened["approval_id"], form_for(service, opened["approval_id"], "approve", "approve", by="  ")
    )
    assert status == 400 and "name" in html.lower()
    again = service.submit_decision(
        opened["approval_id"], form_for(service, opened["approval_id"], "approve", "approve")
    )
    assert again[0] == 200


def test_a_tier_0_approval_refuses_an_automatic_approver_name(service):
    service.state.save_recommendations(
        [rec("rec-t0", "edge", ["approval: tier-0 services need a named human approver"])]
    )
    opened = open_approval(service, ids=("rec-t0",))
    form = form_for(service, opened["approval_id"], "approve", "approve", by="auto-approval")
    status, html = service.submit_decision(opened["approval_id"], form)
    assert status == 403 and "named human approver" in html
    assert service.submit_decision(opened["approval_id"], {**form, "by": "carol"})[0] == 200


def test_a_workflow_that_stopped_waiting_still_gets_a_clear_page(service):
    class Gone:
        def succeed(self, token, output):
            raise RuntimeError("TaskTimedOut")

        def fail(self, token, error, cause):
            raise RuntimeError("TaskTimedOut")

    service.resumer = Gone()
    opened = open_approval(service)
    status, html = service.submit_decision(
        opened["approval_id"], form_for(service, opened["approval_id"], "approve", "approve")
    )
    assert status == 409 and "recorded" in html


# --- Slack -----------------------------------------------------------------------------------------------


def slack_body(approval_id, action="approve"):
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "dana"},
        "actions": [{"action_id": action, "value": approval_id}],
    }
    return urlencode({"payload": json.dumps(payload)})


def signed_headers(body, ts):
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": slack_signature(SLACK_SECRET, str(ts), body)}


def test_slack_signatures_verify_and_tampering_or_replay_is_refused():
    body, now = "payload=%7B%7D", 1_800_000_000
    verify_slack_request(signed_headers(body, now), body, SLACK_SECRET, now=now)
    with pytest.raises(SlackRequestError, match="does not match"):
        verify_slack_request(signed_headers(body, now), body + "x", SLACK_SECRET, now=now)
    with pytest.raises(SlackRequestError, match="five-minute"):
        verify_slack_request(signed_headers(body, now - 301), body, SLACK_SECRET, now=now)


def test_a_slack_button_click_decides_as_the_slack_user(service, clock):
    opened = open_approval(service)
    body = slack_body(opened["approval_id"])
    status, _ = service.handle_slack(opened["approval_id"], signed_headers(body, int(clock.now)), body)
    assert status == 200
    assert service.state.get_recommendation("rec-a").decided_by == "slack:dana"


def test_an_unsigned_slack_request_is_refused(service, clock):
    opened = open_approval(service)
    body = slack_body(opened["approval_id"])
    headers = {"X-Slack-Request-Timestamp": str(int(clock.now)), "X-Slack-Signature": "v0=" + "0" * 64}
    assert service.handle_slack(opened["approval_id"], headers, body)[0] == 401
    assert service.resumer.calls == []


# --- the callback entry (what the Lambda and the local server call) --------------------------------------


def request(approval_id, method, query=None, form=None, headers=None, raw_body=""):
    return SimpleNamespace(
        approval_id=approval_id,
        method=method,
        query=query or {},
        form=form or {},
        headers=headers or {},
        raw_body=raw_body,
        source_ip="203.0.113.9",
        user_agent="pytest",
    )


def test_the_callback_entry_serves_the_page_then_records_the_decision_with_the_client(service):
    opened = open_approval(service)
    aid = opened["approval_id"]
    status, page, content_type = handle(request(aid, "GET", query=link_query(service, "review")), service=service)
    assert status == 200 and content_type.startswith("text/html") and "<form" in page
    status, page, _ = handle(request(aid, "POST", form=form_for(service, aid, "review", "approve")), service=service)
    assert status == 200, page
    assert service.store.get(aid).decided_from == "link 203.0.113.9 pytest"


def test_the_callback_entry_answers_a_page_not_a_500_when_something_breaks(service, clock):
    aid = "apr-" + "1" * 32
    query = service.signer.sign(aid, "review", int(clock.now) + 60).query()
    service.store = None  # broken wiring: the store cannot be reached
    status, html, _ = handle(request(aid, "GET", query=query), service=service)
    assert status == 503 and "Try again later" in html


def test_open_approvals_get_heartbeats_until_their_links_expire(service, clock):
    open_approval(service)
    assert service.heartbeat_pending() == {"heartbeats": 1, "not_waiting": []}
    assert service.resumer.calls[-1] == {"call": "heartbeat", "task_token": TOKEN}
    clock.now += 3601
    assert service.heartbeat_pending()["heartbeats"] == 0


def test_a_decided_approval_gets_no_more_heartbeats(service):
    opened = open_approval(service)
    service.submit_decision(opened["approval_id"], form_for(service, opened["approval_id"], "approve", "approve"))
    assert service.heartbeat_pending()["heartbeats"] == 0


def test_the_slack_apps_single_request_url_takes_the_approval_id_from_the_button(service, clock):
    opened = open_approval(service)
    body = slack_body(opened["approval_id"], action="reject")
    status, _ = service.handle_slack("slack", signed_headers(body, int(clock.now)), body)
    assert status == 200
    assert service.store.get(opened["approval_id"]).status.value == "rejected"
