"""A person's path through ``slo-engine serve`` in headless Chromium (Debian's /usr/bin/chromium driven by
Playwright): sign in, see the pending recommendations with their evidence and attainment plots, approve one,
and see it finalized - on the page, in the state store and in the audit log."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import sample_data_dir

from slo_engine.server.app import LocalApiServer, ServeSettings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApiServer]:
    data = sample_data_dir(tmp_path_factory.mktemp("browser") / "data")
    srv = LocalApiServer(ServeSettings(port=0, data_dir=data)).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def page(server: LocalApiServer) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: `make test` installs it (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=LAUNCH_FLAGS
        )
        tab = context.new_page()
        yield tab
        context.close()


def test_a_person_signs_in_sees_plots_approves_one_and_sees_it_finalized(
    server: LocalApiServer, page: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/login")
    page.fill("input[name=name]", "Alice Example")
    page.fill("input[name=token]", server.api.credentials.login_token)
    page.click("button[type=submit]")
    expect(page).to_have_url(server.url + "/ui/pending")

    cards = page.locator("section.recommendation")
    pending_before = len(server.api.service.pending())
    expect(cards).to_have_count(pending_before)
    first = cards.first
    expect(first.locator("svg.attainment-plot polyline.attainment")).to_have_count(1)
    expect(first.locator("svg.attainment-plot line.target")).to_have_count(1)
    expect(first.locator("table.evidence")).to_contain_text("Backtest")
    expect(first.locator("table.evidence")).to_contain_text("finding")
    page.screenshot(path=str(tmp_path / "pending.png"), full_page=False)

    rec_id = first.get_attribute("data-id")
    assert rec_id
    first.locator("textarea[name=reason]").fill("fits our on-call load")
    first.locator("button.approve").click()

    expect(page.locator(".flash")).to_contain_text("approved by Alice Example - finalized")
    expect(page.locator(f'section.recommendation[data-id="{rec_id}"]')).to_have_count(0)
    expect(page.locator(f'#decided tr[data-id="{rec_id}"] .status-approved')).to_have_text("approved")

    stored = server.api.engine.state.get_recommendation(rec_id)
    assert stored is not None and stored.status.value == "approved"
    assert (stored.decided_by, stored.decision_reason) == ("Alice Example", "fits our on-call load")
    audit = server.api.service.audit.for_actor("Alice Example")
    assert [(e.action, e.target_id) for e in audit] == [("recommendation.approve", rec_id)]
    assert len(server.api.service.pending()) == pending_before - 1


def test_deciding_the_same_recommendation_again_shows_already_decided(server: LocalApiServer, page: object) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    from slo_engine.api.models import Caller

    decided = server.api.service.pending()[-1]
    server.api.service.dispatch(
        "decide_recommendation", {"id": decided.id}, {"approve": True}, Caller(kind="person", id="carol")
    )
    page.goto(server.url + "/login")
    page.fill("input[name=name]", "Dave")
    page.fill("input[name=token]", server.api.credentials.login_token)
    page.click("button[type=submit]")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    reply = page.request.post(
        f"{server.url}/ui/recommendations/{decided.id}/decision",
        form={"decision": "reject", "reason": "late", "csrf": csrf or ""},
    )
    assert reply.status == 409 and "already approved" in reply.text()
    assert server.api.engine.state.get_recommendation(decided.id).status.value == "approved"  # type: ignore[union-attr]


def test_a_signed_approval_link_opens_the_approval_page_and_the_decision_is_finalized_and_audited(
    server: LocalApiServer, page: object
) -> None:
    from playwright.sync_api import Page, expect

    from slo_engine.api.models import StartRecommendationRequest

    assert isinstance(page, Page)
    started = server.api.runs.start(StartRecommendationRequest(services=["search"]), "setup")
    run = server.api.runs.wait(started.id, timeout=120)
    assert run is not None and run.status == "succeeded"
    approvals = server.api.approvals()
    opened = approvals.open_approval({"taskToken": "token-e2e", "executionId": run.id, "state": run.doc})
    review = approvals.links(opened["approval_id"], opened["expires"])["review"]
    assert review.startswith(server.url + "/approvals/")

    page.goto(review)
    page.fill("input[name=by]", "Erin Approver")
    page.fill("textarea[name=reason]", "matches the error budget we can afford")
    page.click("button[value=approve]")
    expect(page.locator("body")).to_contain_text("Approved")

    ids = run.doc["summary"]["recommendation_ids"]
    decided = [server.api.engine.state.get_recommendation(i) for i in ids]
    assert all(r is not None and r.status.value == "approved" and r.decided_by == "Erin Approver" for r in decided)
    (event,) = server.api.service.audit.for_actor("Erin Approver")
    assert (event.action, event.target_id) == ("approval.approve", opened["approval_id"])
    page.goto(review)  # the link works once
    expect(page.locator("body")).to_contain_text("already approved by Erin Approver")
