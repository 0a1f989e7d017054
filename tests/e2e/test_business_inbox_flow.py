"""The business inbox in a browser: a customer taps "Ask" on a product and lands in the conversation with the
product's card and the business's automatic away reply; a team member accepts the invitation, finds the
conversation under "Assigned to me", answers as the business, and the customer sees the business — never the
member's handle. Phone and desktop widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from meadow.messaging import services
from meadow.messaging.models import Conversation, Message
from meadow.store.tests.factories import make_product, make_shop, verified_user
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_ask_away_reply_and_a_team_member_answering(page, live_server, browser):
    business = verified_user(display_name="Kedai Mei")
    product = make_product(shop=make_shop(owner=business), title="Batik tote")
    services.away_set(owner=business, text="We are closed today, back tomorrow.", enabled=True)
    member = UserFactory()
    customer = UserFactory()

    login(page, live_server, customer.handle)
    page.goto(f"{live_server.url}/products/{product.pk}/")
    page.get_by_test_id("ask-button").click()
    expect(page).to_have_url(re.compile(r"/messages/\d+/$"))
    expect(page.get_by_test_id("dm-card").first).to_contain_text("Batik tote")
    page.get_by_test_id("dm-input").fill("Is the tote still available?")
    page.get_by_test_id("dm-send").click()
    expect(page.get_by_text("Is the tote still available?")).to_be_visible()
    conversation = Conversation.objects.get()
    for _attempt in range(100):  # the send is stored by the time the page shows it; the reply right after
        if Message.objects.filter(conversation=conversation, automatic=True).exists():
            break
        page.wait_for_timeout(100)
    page.reload()  # this live server has no WebSocket: the reply shows on the next load
    expect(page.get_by_test_id("dm-automatic")).to_have_count(1)
    assert Message.objects.filter(conversation=conversation, automatic=True).count() == 1

    services.team_invite(business=business, handle=member.handle)
    context = browser.new_context()
    team_page = context.new_page()
    try:
        login(team_page, live_server, member.handle)
        team_page.goto(f"{live_server.url}/messages/business/")
        team_page.get_by_test_id("team-accept").click()
        expect(team_page).to_have_url(re.compile(rf"/messages/teams/{business.handle}/$"))
        services.conversation_assign(business=business, conversation=conversation, assignee=member)
        team_page.get_by_test_id("team-assigned-me").click()
        team_page.get_by_test_id("team-row").first.click()
        team_page.get_by_test_id("dm-input").fill("Yes, we have three left.")
        team_page.get_by_test_id("dm-send").click()
        expect(team_page.get_by_test_id("dm-answered-by")).to_contain_text(member.handle)
    finally:
        context.close()

    page.reload()
    expect(page.get_by_text("Yes, we have three left.")).to_be_visible()
    assert member.handle not in page.content()
