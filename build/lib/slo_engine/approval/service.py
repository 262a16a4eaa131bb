"""The approval service: opens an approval for a waiting workflow and closes it once with a human decision.

``open_approval`` (the HumanApproval state) stores the task token, signs links and notifies;
``render_approval_page`` and ``submit_decision`` are what the local server and the callback Lambda both call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from slo_engine.agents.guardrails import GuardrailFacts, default_guardrails
from slo_engine.approval.links import LinkError, LinkSigner, SignedLink
from slo_engine.approval.messages import ApprovalMessage, build_approval_message
from slo_engine.approval.models import HumanDecision, PendingApproval
from slo_engine.approval.pages import approval_form, message_page
from slo_engine.approval.slack import SlackRequestError, slack_decision, verify_slack_request
from slo_engine.approval.store import ApprovalAlreadyDecidedError, ApprovalNotFoundError
from slo_engine.models import ApprovalDecision, RecommendationStatus
from slo_engine.ports import ApprovalNotifier, ApprovalStore, StateStore, TaskResumer

REJECTED_ERROR = "SloEngine.Rejected"
DEFAULT_LINK_TTL_SECONDS = 3 * 24 * 3600
Page = tuple[int, str]


class ApprovalRequestError(ValueError):
    """The HumanApproval state was given a document it cannot open an approval for."""


@dataclass
class ApprovalService:
    store: ApprovalStore
    signer: LinkSigner
    state: StateStore
    resumer: TaskResumer
    base_url: str | Callable[[], str]
    """The links' base (API stage URL), or a function that reads it when the first link is signed."""
    notifiers: Sequence[ApprovalNotifier] = field(default_factory=list)
    link_ttl_seconds: int = DEFAULT_LINK_TTL_SECONDS
    slack_signing_secret: str | None = None
    clock: Callable[[], float] = time.time

    # --- HumanApproval: open ---------------------------------------------------------------------------

    def open_approval(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Store the task token server-side, sign the links, notify every channel; return what was sent."""
        token, execution_id, doc = event.get("taskToken"), event.get("executionId"), event.get("state")
        if not isinstance(token, str) or not token or not isinstance(execution_id, str) or not isinstance(doc, dict):
            raise ApprovalRequestError("HumanApproval needs taskToken, executionId and the state document")
        summary = doc.get("summary") or {}
        ids = [str(i) for i in summary.get("recommendation_ids", [])]
        recs = [r for r in (self.state.get_recommendation(i) for i in ids) if r is not None]
        expires = int(self.clock()) + self.link_ttl_seconds
        approval = PendingApproval(
            execution_id=execution_id,
            task_token=token,
            recommendation_ids=ids,
            services=sorted({r.service for r in recs}),
            summary=str(summary.get("text", "")),
            needs_named_approver=any(risk.startswith("approval:") for r in recs for risk in r.risks),
            expires_at=datetime.fromtimestamp(expires, tz=UTC),
        )
        self.store.save(approval)
        message = build_approval_message(approval, self.links(approval.approval_id, expires))
        sent, failed = [], []
        for notifier in self.notifiers:
            try:
                notifier.notify(message)
                sent.append(notifier.channel)
            except Exception as error:  # one broken channel must not lose the approval: the others still go out
                failed.append(f"{notifier.channel}: {error}")
        if self.notifiers and not sent:
            raise RuntimeError(f"no approval channel accepted the request: {'; '.join(failed)}")
        return {"approval_id": approval.approval_id, "notified": sent, "failed_channels": failed, "expires": expires}

    def links(self, approval_id: str, expires: int) -> dict[str, str]:
        base = self.base_url if isinstance(self.base_url, str) else self.base_url()
        self.base_url = base  # resolved once
        return {a: self.signer.sign(approval_id, a, expires).url(base) for a in ("review", "approve", "reject")}

    def message_for(self, approval: PendingApproval) -> ApprovalMessage:
        return build_approval_message(approval, self.links(approval.approval_id, int(approval.expires_at.timestamp())))

    def heartbeat_pending(self) -> dict[str, Any]:
        return heartbeat_pending_approvals(self.store, self.resumer, self.clock)

    # --- the pages -------------------------------------------------------------------------------------

    def _verified(self, approval_id: str, query: Mapping[str, str]) -> tuple[PendingApproval, SignedLink] | Page:
        try:
            link = self.signer.verify(approval_id, query)
        except LinkError as error:
            if error.reason == "expired":
                return 410, message_page("Link expired", f"{error} Ask for a new approval request.")
            return 403, message_page("Invalid link", f"{error}. Use the link from the approval message as sent.")
        approval = self.store.get(approval_id)
        if approval is None:
            return 404, message_page("Unknown approval", "No approval request has this id (it may have expired).")
        if approval.status.value != "pending":
            return 409, _already_decided(approval)
        return approval, link

    def render_approval_page(self, approval_id: str, query: Mapping[str, str]) -> Page:
        """GET of a review / approve / reject link: the decision form (a GET never decides)."""
        checked = self._verified(approval_id, query)
        if not isinstance(checked[0], PendingApproval):
            return checked
        approval, link = checked
        return 200, approval_form(approval, link)

    def submit_decision(self, approval_id: str, form: Mapping[str, str], client: str | None = None) -> Page:
        """POST of the approval form: verify the signed fields, record who decided and why, resume the workflow."""
        signed = {"action": form.get("link_action", ""), "exp": form.get("exp", ""), "sig": form.get("sig", "")}
        checked = self._verified(approval_id, signed)
        if not isinstance(checked[0], PendingApproval):
            return checked
        approval, link = checked
        action = form.get("action", "")
        if action not in ("approve", "reject") or (link.action != "review" and action != link.action):
            return 400, message_page("Invalid decision", "Choose approve or reject on the page the link opened.")
        try:
            decision = HumanDecision(
                action=action,
                by=form.get("by", "").strip(),
                reason=form.get("reason", "").strip(),
                channel="link",
                client=client,
            )
        except ValidationError:
            return 400, message_page("Name required", "Give your name (at most 200 characters) and a reason.")
        return self.decide(approval, decision)

    def handle_slack(self, approval_id: str, headers: Mapping[str, str], raw_body: str) -> Page:
        """A Slack button click: verify Slack's signature, then decide as the Slack user."""
        if not self.slack_signing_secret:
            return 501, message_page("Slack not configured", "Slack interactivity has no signing secret here.")
        try:
            verify_slack_request(headers, raw_body, self.slack_signing_secret, now=self.clock())
            approval_id, decision = slack_decision(raw_body, approval_id)
        except SlackRequestError as error:
            return 401, message_page("Refused", str(error))
        approval = self.store.get(approval_id)
        if approval is None:
            return 404, message_page("Unknown approval", "No approval request has this id.")
        if approval.status.value != "pending":
            return 409, _already_decided(approval)
        if self.clock() >= approval.expires_at.timestamp():
            return 410, message_page("Approval expired", "This approval request has expired.")
        return self.decide(approval, decision)

    # --- the decision ----------------------------------------------------------------------------------

    def decide(self, approval: PendingApproval, decision: HumanDecision) -> Page:
        """Close the approval once, record each recommendation's decision, resume the waiting workflow."""
        if decision.action == "approve" and approval.needs_named_approver:
            refused = default_guardrails().evaluate(
                GuardrailFacts(
                    service=",".join(approval.services) or "*",
                    sli="availability",
                    target=0.99,
                    tier=0,
                    history_days=0,
                    approver=decision.by,
                )
            )
            if refused:
                return 403, message_page("Named approver required", refused[0].message)
        try:
            closed = self.store.decide(approval.approval_id, decision)
        except ApprovalAlreadyDecidedError as error:
            return 409, _already_decided(error.approval)
        except ApprovalNotFoundError:
            return 404, message_page("Unknown approval", "No approval request has this id.")
        approved = decision.action == "approve"
        decided_ids = []
        for rec_id in closed.recommendation_ids:
            rec = self.state.get_recommendation(rec_id)
            if rec is None or rec.status is not RecommendationStatus.PENDING:
                continue
            self.state.record_decision(
                ApprovalDecision(
                    recommendation_id=rec_id, approved=approved, by=decision.by, reason=decision.reason, at=decision.at
                )
            )
            decided_ids.append(rec_id)
        try:
            if approved:
                self.resumer.succeed(
                    closed.task_token,
                    {
                        "outcome": "approved",
                        "approved": decided_ids,
                        "held": [],
                        "by": decision.by,
                        "reason": decision.reason,
                        "approval_id": closed.approval_id,
                    },
                )
            else:
                self.resumer.fail(closed.task_token, REJECTED_ERROR, f"{decision.by}: {decision.reason or 'rejected'}")
        except Exception as error:  # the workflow stopped waiting (timed out, aborted): say so, keep the record
            return 409, message_page(
                "Decision recorded, workflow not waiting",
                f"Your decision was recorded, but the workflow could not be resumed ({type(error).__name__}): "
                "it has most likely timed out.",
            )
        verb = "Approved" if approved else "Rejected"
        return 200, message_page(
            f"{verb}", f"{verb} {len(decided_ids)} SLOs as {decision.by}. The workflow has been resumed. Thank you."
        )


def _already_decided(approval: PendingApproval) -> str:
    when = approval.decided_at.strftime("%Y-%m-%d %H:%M UTC") if approval.decided_at else "earlier"
    return message_page(
        "Already decided",
        f"This approval was already {approval.status.value} by {approval.decided_by or 'someone'} ({when}). "
        "Approval links work once.",
    )


def heartbeat_pending_approvals(
    store: ApprovalStore, resumer: TaskResumer, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """SendTaskHeartbeat for every open approval whose links are still valid. Run it on a schedule shorter than the
    HumanApproval state's HeartbeatSeconds; a workflow that stopped waiting is reported, not retried."""
    sent, gone = 0, []
    for approval in store.list_pending():
        if clock() >= approval.expires_at.timestamp():
            continue
        try:
            resumer.heartbeat(approval.task_token)
            sent += 1
        except Exception as error:  # TaskTimedOut / TaskDoesNotExist: the execution is over
            gone.append(f"{approval.approval_id}: {type(error).__name__}")
    return {"heartbeats": sent, "not_waiting": gone}
