"""Slack interactive callbacks: request-signature verification and the decision a button click carries.

Slack signs ``v0:{timestamp}:{raw body}`` with the app's signing secret (HMAC-SHA256, header ``X-Slack-Signature``
= ``v0=<hex>``); requests older or newer than five minutes are refused as possible replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

from slo_engine.approval.models import HumanDecision

REPLAY_WINDOW_SECONDS = 300


class SlackRequestError(ValueError):
    """A Slack request that fails verification or carries no usable action."""


def slack_signature(signing_secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack_request(
    headers: Mapping[str, str], raw_body: str, signing_secret: str, now: float | None = None
) -> None:
    """Raise ``SlackRequestError`` unless the request is Slack's, signed within the replay window."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-slack-request-timestamp", "")
    signature = lowered.get("x-slack-signature", "")
    if not timestamp.isdigit() or not signature:
        raise SlackRequestError("missing Slack signature headers")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise SlackRequestError("Slack request timestamp is outside the five-minute window")
    if not hmac.compare_digest(slack_signature(signing_secret, timestamp, raw_body), signature):
        raise SlackRequestError("Slack request signature does not match")


class _SlackUser(BaseModel):
    id: str
    username: str | None = None
    name: str | None = None


class _SlackAction(BaseModel):
    action_id: str
    value: str | None = None


class _SlackPayload(BaseModel):
    type: str
    user: _SlackUser
    actions: list[_SlackAction]


SLACK_ROUTE_ID = "slack"
"""The path id of the Slack app's one Request URL (``/approvals/slack``): the approval id comes from the button."""


def slack_decision(raw_body: str, approval_id: str) -> tuple[str, HumanDecision]:
    """(approval id, decision) from a verified ``block_actions`` payload (``payload=<json>``).

    On a per-approval path the button's approval id must match it; on ``/approvals/slack`` the button names it.
    """
    form = dict(parse_qsl(raw_body, keep_blank_values=True))
    try:
        payload = _SlackPayload.model_validate(json.loads(form.get("payload", "")))
    except (ValueError, ValidationError) as error:
        raise SlackRequestError(f"not a Slack interaction payload: {error}") from error
    action = next((a for a in payload.actions if a.action_id in ("approve", "reject")), None)
    if action is None:
        raise SlackRequestError("the Slack payload has no approve or reject action")
    if not action.value or (approval_id != SLACK_ROUTE_ID and action.value != approval_id):
        raise SlackRequestError("the Slack action is for another approval")
    who = payload.user.username or payload.user.name or payload.user.id
    return action.value, HumanDecision(
        action="approve" if action.action_id == "approve" else "reject",
        by=f"slack:{who}",
        reason=f"decided in Slack by {who}",
        channel="slack",
        client=f"slack user {payload.user.id}",
    )
