"""The approval request as people receive it: an email (SNS) and a Slack Block Kit message.

Both carry the summary and the signed review / approve / reject links, never the task token. Text that
came from recommendations is escaped for Slack's mrkdwn and trimmed to Block Kit's limits.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from slo_engine.approval.models import PendingApproval

SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
EMAIL_SUBJECT_LIMIT = 100  # SNS refuses longer subjects


class ApprovalMessage(BaseModel):
    approval_id: str
    subject: str = Field(max_length=EMAIL_SUBJECT_LIMIT)
    email_text: str
    slack: dict[str, Any]
    links: dict[str, str]


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) as entities, so recommendation text cannot inject links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_approval_message(approval: PendingApproval, links: dict[str, str]) -> ApprovalMessage:
    """The email and Slack renderings of one approval request; ``links`` maps review/approve/reject to URLs."""
    services = ", ".join(approval.services[:5]) + (" …" if len(approval.services) > 5 else "")
    count = len(approval.recommendation_ids)
    subject = _trim(f"SLO approval needed: {count} SLOs for {services or 'the fleet'}", EMAIL_SUBJECT_LIMIT)
    expires = approval.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    named = "\nA tier-0 service is included: the approver must give their own name.\n" * approval.needs_named_approver
    email_text = (
        f"{approval.summary}\n{named}\n"
        f"Review and decide (the page asks for your name and a reason):\n{links['review']}\n\n"
        f"Approve: {links['approve']}\nReject: {links['reject']}\n\n"
        f"These links expire at {expires} and work once. Approval id: {approval.approval_id}\n"
    )
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": action,
            "text": {"type": "plain_text", "text": label},
            "url": links[action],
            "value": approval.approval_id,
            **({"style": style} if style else {}),
        }
        for action, label, style in (
            ("approve", "Approve", "primary"),
            ("reject", "Reject", "danger"),
            ("review", "Review", None),
        )
    ]
    slack = {
        "text": subject,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _trim(subject, SLACK_HEADER_LIMIT)}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _trim(slack_escape(approval.summary), SLACK_SECTION_LIMIT)},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": slack_escape(f"Expires {expires}; single use. Id {approval.approval_id}.")
                        + (" *Tier-0: a named approver is required.*" if approval.needs_named_approver else ""),
                    }
                ],
            },
            {"type": "actions", "block_id": f"approval:{approval.approval_id}", "elements": buttons},
        ],
    }
    return ApprovalMessage(
        approval_id=approval.approval_id, subject=subject, email_text=email_text, slack=slack, links=links
    )
