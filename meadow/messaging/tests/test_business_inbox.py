"""The business inbox (issue #19): the "Ask" button's card, the away message, team members (invite, accept,
answer as the business, assign, "Assigned to me", removal ends access at once — and 404 for every non-member),
response-time figures, "Report conversation" and the moderators' audited view of a reported conversation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import Http404
from django.test import Client
from django.utils import timezone

from meadow.accounts.models import Follow, User
from meadow.core.errors import ValidationFailed
from meadow.enforcement.models import Decision, ReviewItem
from meadow.messaging import selectors, services
from meadow.messaging.models import Conversation, Message, TeamMember
from meadow.notes.tests.factories import NoteFactory
from meadow.store.tests.factories import make_product, make_shop, verified_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def business(db):
    return verified_user()


@pytest.fixture
def customer(db):
    return UserFactory()


def customer_writes(customer, business, text="Hello, is this in stock?", client_id="c1"):
    conv, _ = services.conversation_open(user=customer, other=business)
    services.message_send(sender=customer, conversation=conv, text=text, client_id=client_id)
    return conv


# --- Ask -----------------------------------------------------------------------------------------------------
def test_ask_about_a_product_opens_the_conversation_with_its_card_once(api_for, business, customer):
    product = make_product(shop=make_shop(owner=business))
    first = api_for(customer).post(
        "/api/v1/messages/ask", {"type": "product", "id": product.pk}, content_type=JSON
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["conversation"]["with"]["handle"] == business.handle
    assert body["message"]["card"]["type"] == "product" and body["message"]["card"]["available"] is True
    assert body["message"]["card"]["title"] == product.title
    again = api_for(customer).post(
        "/api/v1/messages/ask", {"type": "product", "id": product.pk}, content_type=JSON
    )
    assert again.status_code == 201 and again.json()["message"]["id"] == body["message"]["id"]
    assert Message.objects.filter(conversation_id=body["conversation"]["id"]).count() == 1
    # the card does not use up the request's two messages
    conv = Conversation.objects.get(pk=body["conversation"]["id"])
    assert conv.state == Conversation.State.REQUEST
    for n in range(2):
        services.message_send(sender=customer, conversation=conv, text=f"question {n}", client_id=f"q{n}")


def test_ask_is_refused_for_own_items_policy_and_plain_notes(api_for, business, customer):
    product = make_product(shop=make_shop(owner=business))
    own = api_for(business).post(
        "/api/v1/messages/ask", {"type": "product", "id": product.pk}, content_type=JSON
    )
    assert own.status_code == 400 and own.json()["error"]["code"] == "own_item"
    plain_note = NoteFactory(author=UserFactory())
    assert (
        api_for(customer).post(
            "/api/v1/messages/ask", {"type": "note", "id": plain_note.pk}, content_type=JSON
        )
    ).status_code == 404
    business.message_policy = User.MessagePolicy.NOBODY
    business.save(update_fields=["message_policy"])
    refused = api_for(customer).post(
        "/api/v1/messages/ask", {"type": "product", "id": product.pk}, content_type=JSON
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_allowed"
    assert Conversation.objects.count() == 0
    # the client_id prefixes of the Ask card and the away reply are reserved
    conv, _ = services.conversation_open(user=customer, other=UserFactory())
    with pytest.raises(ValidationFailed) as exc:
        services.message_send(sender=customer, conversation=conv, text="hi", client_id="away:1")
    assert exc.value.code == "reserved"


def test_ask_button_shows_on_product_and_business_note_pages_only_when_allowed(business, customer):
    product = make_product(shop=make_shop(owner=business))
    page = web(customer).get(f"/products/{product.pk}/")
    assert page.status_code == 200 and b'data-testid="ask-button"' in page.content
    assert b'data-testid="ask-button"' not in web(business).get(f"/products/{product.pk}/").content
    note = NoteFactory(author=business)
    assert b'data-testid="ask-button"' in web(customer).get(f"/notes/{note.pk}/").content
    other_note = NoteFactory(author=UserFactory())
    assert b'data-testid="ask-button"' not in web(customer).get(f"/notes/{other_note.pk}/").content
    business.message_policy = User.MessagePolicy.FOLLOWING
    business.save(update_fields=["message_policy"])
    assert b'data-testid="ask-button"' not in web(customer).get(f"/products/{product.pk}/").content
    Follow.objects.create(follower=business, followee=customer)
    posted = web(customer).post("/messages/ask/", {"type": "note", "id": note.pk})
    assert posted.status_code == 302
    conv = Conversation.objects.get()
    assert posted["Location"] == f"/messages/{conv.pk}/"
    assert Message.objects.get(conversation=conv).card == {"type": "note", "id": note.pk}


# --- away message ----------------------------------------------------------------------------------------------
def test_away_reply_once_per_conversation_and_period(business, customer):
    services.away_set(owner=business, text="We are closed until Monday.", enabled=True)
    conv = customer_writes(customer, business)
    services.message_send(sender=customer, conversation=conv, text="hello?", client_id="c2")
    autos = list(Message.objects.filter(conversation=conv, automatic=True))
    assert (
        len(autos) == 1
        and autos[0].sender_id == business.pk
        and autos[0].text == "We are closed until Monday."
    )
    conv.refresh_from_db()
    assert conv.state == Conversation.State.REQUEST  # an automatic reply accepts nothing
    # back, then away again: a new period, one more automatic reply
    services.away_set(owner=business, text="We are closed until Monday.", enabled=False)
    services.conversation_accept(user=business, conversation=conv)
    services.message_send(sender=customer, conversation=conv, text="third", client_id="c3")
    assert Message.objects.filter(conversation=conv, automatic=True).count() == 1
    services.away_set(owner=business, text="On holiday.", enabled=True)
    services.message_send(sender=customer, conversation=conv, text="fourth", client_id="c4")
    services.message_send(sender=customer, conversation=conv, text="fifth", client_id="c5")
    assert list(Message.objects.filter(conversation=conv, automatic=True).values_list("text", flat=True)) == [
        "We are closed until Monday.",
        "On holiday.",
    ]


def test_away_message_api_is_for_verified_businesses_and_checks_its_text(api_for, business, customer):
    refused = api_for(customer).put(
        "/api/v1/me/away-message", {"text": "away", "enabled": True}, content_type=JSON
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_verified"
    empty = api_for(business).put(
        "/api/v1/me/away-message", {"text": " ", "enabled": True}, content_type=JSON
    )
    assert empty.status_code == 400
    ok = api_for(business).put(
        "/api/v1/me/away-message", {"text": "Back soon", "enabled": True}, content_type=JSON
    )
    assert ok.status_code == 200 and ok.json()["text"] == "Back soon" and ok.json()["enabled"] is True
    stored = api_for(business).get("/api/v1/me/away-message").json()
    assert stored["enabled"] is True and stored["away_now"] is True and stored["hours_start"] is None
    # the automatic reply is marked in the customer's page
    conv = customer_writes(customer, business)
    page = web(customer).get(f"/messages/{conv.pk}/")
    assert b'data-testid="dm-automatic"' in page.content


# --- team members ------------------------------------------------------------------------------------------------
@pytest.fixture
def team(business):
    member = UserFactory()
    services.team_invite(business=business, handle=member.handle)
    services.team_accept(member=member, business=business)
    return member


def test_invited_member_reads_nothing_until_accepting(api_for, business, customer):
    member = UserFactory()
    invited = api_for(business).post("/api/v1/me/team", {"handle": "@" + member.handle}, content_type=JSON)
    assert invited.status_code == 201 and invited.json()["state"] == "invited"
    again = api_for(business).post("/api/v1/me/team", {"handle": member.handle}, content_type=JSON)
    assert again.status_code == 409
    customer_writes(customer, business)
    assert api_for(member).get(f"/api/v1/teams/{business.handle}/conversations").status_code == 404
    accepted = api_for(member).post(f"/api/v1/teams/{business.handle}/accept")
    assert accepted.status_code == 200 and accepted.json()["state"] == "active"
    listed = api_for(member).get(f"/api/v1/teams/{business.handle}/conversations?box=requests")
    assert listed.status_code == 200 and [i["with"]["handle"] for i in listed.json()["items"]] == [
        customer.handle
    ]
    not_verified = api_for(customer).post("/api/v1/me/team", {"handle": member.handle}, content_type=JSON)
    assert not_verified.status_code == 403


def test_member_answers_as_the_business_and_only_the_team_sees_who(api_for, business, customer, team):
    conv = customer_writes(customer, business)
    sent = api_for(team).post(
        f"/api/v1/teams/{business.handle}/conversations/{conv.pk}/messages",
        {"text": "Yes, in stock!", "client_id": "t1"},
        content_type=JSON,
    )
    assert sent.status_code == 201, sent.content
    assert sent.json()["sender"]["handle"] == business.handle
    assert sent.json()["answered_by"]["handle"] == team.handle
    # the customer sees the business, never the member
    theirs = api_for(customer).get(f"/api/v1/conversations/{conv.pk}/messages").json()["items"]
    assert theirs[-1]["sender"]["handle"] == business.handle and "answered_by" not in theirs[-1]
    assert team.handle.encode() not in web(customer).get(f"/messages/{conv.pk}/").content
    team_page = web(team).get(f"/messages/teams/{business.handle}/{conv.pk}/")
    assert team_page.status_code == 200 and b'data-testid="dm-answered-by"' in team_page.content
    conv.refresh_from_db()
    assert conv.state == Conversation.State.ACTIVE  # answering accepts the request, as the business would


def test_assign_and_assigned_to_me(api_for, business, customer, team):
    conv = customer_writes(customer, business)
    other_conv = customer_writes(UserFactory(), business)
    base = f"/api/v1/teams/{business.handle}/conversations"
    assert (
        api_for(business)
        .post(f"{base}/{conv.pk}/assign", {"assignee": team.handle}, content_type=JSON)
        .status_code
        == 204
    )
    mine = api_for(team).get(f"{base}?box=requests&assigned=me").json()["items"]
    assert [i["id"] for i in mine] == [conv.pk] and mine[0]["assigned_to"]["handle"] == team.handle
    everything = api_for(team).get(f"{base}?box=requests").json()["items"]
    assert {i["id"] for i in everything} == {conv.pk, other_conv.pk}
    stranger = UserFactory()
    bad = api_for(business).post(f"{base}/{conv.pk}/assign", {"assignee": stranger.handle}, content_type=JSON)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "not_member"
    conv.refresh_from_db()
    assert conv.assigned_to_id == team.pk
    page = web(team).get(f"/messages/teams/{business.handle}/?assigned=me")
    # "Assigned to me" holds requests and accepted conversations alike
    assert page.status_code == 200 and page.content.count(b'data-testid="team-row"') == 1
    assert (
        api_for(team).post(f"{base}/{conv.pk}/assign", {"assignee": None}, content_type=JSON).status_code
        == 204
    )
    conv.refresh_from_db()
    assert conv.assigned_to_id is None


def test_removing_a_member_ends_access_at_once_and_non_members_get_404_everywhere(
    api_for, business, customer, team
):
    conv = customer_writes(customer, business)
    services.conversation_assign(business=business, conversation=conv, assignee=team)
    outsider = UserFactory(is_staff=True)
    base = f"/api/v1/teams/{business.handle}/conversations"

    def all_404(person):
        client = api_for(person)
        answers = [
            client.get(base),
            client.get(f"{base}/{conv.pk}/messages"),
            client.post(f"{base}/{conv.pk}/messages", {"text": "x", "client_id": "z"}, content_type=JSON),
            client.post(f"{base}/{conv.pk}/assign", {"assignee": None}, content_type=JSON),
        ]
        pages = web(person)
        answers += [
            pages.get(f"/messages/teams/{business.handle}/"),
            pages.get(f"/messages/teams/{business.handle}/{conv.pk}/"),
            pages.post(f"/messages/teams/{business.handle}/{conv.pk}/send/", {"text": "x", "client_id": "w"}),
            pages.post(f"/messages/teams/{business.handle}/{conv.pk}/assign/", {"assignee": ""}),
        ]
        return [a.status_code for a in answers]

    assert all_404(outsider) == [404] * 8
    assert api_for(team).get(f"{base}/{conv.pk}/messages").status_code == 200
    assert api_for(business).delete(f"/api/v1/me/team/{team.handle}").status_code == 204
    assert all_404(team) == [404] * 8
    conv.refresh_from_db()
    assert conv.assigned_to_id is None
    assert not Message.objects.filter(conversation=conv, sender=business).exists()
    assert not TeamMember.objects.exists()


def test_team_pages_work_without_javascript(business, customer):
    member = UserFactory()
    owner = web(business)
    assert owner.post("/messages/business/team/", {"handle": member.handle}).status_code == 302
    page = web(member).get("/messages/business/")
    assert b'data-testid="team-accept"' in page.content
    web(member).post(f"/messages/teams/{business.handle}/respond/", {"accept": "1"})
    conv = customer_writes(customer, business)
    sent = web(member).post(
        f"/messages/teams/{business.handle}/{conv.pk}/send/", {"text": "Hi from the team", "client_id": "p1"}
    )
    assert sent.status_code == 302
    message = Message.objects.get(conversation=conv, sender=business)
    assert message.sent_by_id == member.pk and message.text == "Hi from the team"
    assert b"business-inbox-link" in web(member).get("/messages/").content


# --- response times ------------------------------------------------------------------------------------------------
def test_response_times_median_and_share_within_an_hour(business):
    now = timezone.now()
    waits = [timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=3)]
    for n, wait in enumerate(waits):
        conv = customer_writes(UserFactory(), business, client_id=f"a{n}")
        Message.objects.filter(conversation=conv).update(created_at=now - timedelta(days=2))
        reply, _ = services.message_send(sender=business, conversation=conv, text="hi", client_id=f"r{n}")
        Message.objects.filter(pk=reply.pk).update(created_at=now - timedelta(days=2) + wait)
    unanswered = customer_writes(UserFactory(), business, client_id="u")
    Message.objects.filter(conversation=unanswered).update(created_at=now - timedelta(days=2))
    old = customer_writes(UserFactory(), business, client_id="o")
    Message.objects.filter(conversation=old).update(created_at=now - timedelta(days=20))
    week = selectors.response_times(business=business, days=7, now=now)
    assert week["conversations"] == 4 and week["answered"] == 3
    assert week["median_seconds"] == 30 * 60
    assert week["within_hour"] == pytest.approx(2 / 4)
    month = selectors.response_times(business=business, days=30, now=now)
    assert month["conversations"] == 5 and month["within_hour"] == pytest.approx(2 / 5)
    empty = selectors.response_times(business=verified_user(), days=7)
    assert empty["median_seconds"] is None and empty["within_hour"] is None


def test_automatic_replies_do_not_count_as_answers(business, customer, api_for):
    services.away_set(owner=business, text="Away", enabled=True)
    customer_writes(customer, business)
    figures = selectors.response_times(business=business, days=7)
    assert figures["conversations"] == 1 and figures["answered"] == 0
    body = api_for(business).get("/api/v1/me/response-times").json()
    assert [p["days"] for p in body["periods"]] == [7, 30]
    assert api_for(customer).get("/api/v1/me/response-times").status_code == 403
    page = web(business).get("/me/creator/messages/")
    assert page.status_code == 200 and b'data-testid="within-hour-7"' in page.content
    assert web(customer).get("/me/creator/messages/").status_code == 404
    assert b"creator-response-times" in web(business).get("/me/creator/").content


# --- reports and the moderators' view ------------------------------------------------------------------------------
def test_report_conversation_then_moderator_reads_last_50_with_an_audit_entry(api_for, moderator, customer):
    abuser = UserFactory()
    conv = customer_writes(abuser, customer, text="first", client_id="m0")
    services.conversation_accept(user=customer, conversation=conv)
    for n in range(1, 60):
        services.message_send(sender=abuser, conversation=conv, text=f"message {n}", client_id=f"m{n}")
    path = f"/api/v1/moderation/conversations/{conv.pk}"
    # before any report: nobody, not even a moderator, reads it
    assert api_for(moderator).get(path).status_code == 404
    assert web(moderator).get(f"/moderation/conversations/{conv.pk}/").status_code == 404
    assert not Decision.objects.filter(action="conversation_read").exists()
    reported = api_for(customer).post(
        f"/api/v1/conversations/{conv.pk}/report",
        {"reason": "abuse", "text": "keeps writing"},
        content_type=JSON,
    )
    assert reported.status_code == 201
    item = ReviewItem.objects.get(pk=reported.json()["id"])
    assert item.account_id == abuser.pk and item.target == conv
    # a participant, staff without the moderator permission, and an outsider still get 404
    for person in (customer, abuser, UserFactory(is_staff=True), UserFactory()):
        assert api_for(person).get(path).status_code == 404
        assert web(person).get(f"/moderation/conversations/{conv.pk}/").status_code == 404
    assert not Decision.objects.filter(action="conversation_read").exists()
    body = api_for(moderator).get(path).json()
    assert len(body["messages"]) == 50
    assert [m["seq"] for m in body["messages"]] == list(range(11, 61))
    page = web(moderator).get(f"/moderation/conversations/{conv.pk}/")
    assert (
        page.status_code == 200
        and b"message 59" in page.content
        and page["Cache-Control"] == "private, no-store"
    )
    audit = list(Decision.objects.filter(action="conversation_read").order_by("id"))
    assert len(audit) == 2 and all(d.moderator_id == moderator.pk and d.target == conv for d in audit)
    # a report about a conversation feeds the ladder like any other: the moderator's decision records a violation
    from meadow.enforcement.services import review_decide

    review_decide(item=item, moderator=moderator, decision="violation", type="behaviour")
    assert abuser.violations.count() == 1


def test_report_conversation_errors_and_non_participants(api_for, customer):
    other = UserFactory()
    conv = customer_writes(customer, other)
    bad = api_for(customer).post(
        f"/api/v1/conversations/{conv.pk}/report", {"reason": "policy"}, content_type=JSON
    )
    assert bad.status_code == 400
    outsider = api_for(UserFactory()).post(
        f"/api/v1/conversations/{conv.pk}/report", {"reason": "spam"}, content_type=JSON
    )
    assert outsider.status_code == 404
    assert not ReviewItem.objects.exists()
    page = web(other).post(f"/messages/{conv.pk}/report/", {"reason": "spam"})
    assert page.status_code == 302 and ReviewItem.objects.filter(reporter=other, reason="spam").count() == 1


def test_a_message_report_by_the_recipient_works(api_for, customer):
    sender = UserFactory()
    conv = customer_writes(sender, customer, text="buy now", client_id="s1")
    message = Message.objects.get(conversation=conv)
    made = api_for(customer).post(
        "/api/v1/reports",
        {"target_type": "message", "target_id": str(message.pk), "reason": "spam"},
        content_type=JSON,
    )
    assert made.status_code in (200, 201), made.content
    assert ReviewItem.objects.get(kind="report").account_id == sender.pk


def test_an_invitation_is_notified_and_the_console_links_the_reported_conversation(
    business, customer, moderator, django_capture_on_commit_callbacks
):
    from meadow.notifications.models import Notification

    member = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.team_invite(business=business, handle=member.handle)
    told = Notification.objects.get(recipient=member)
    assert told.actor_id == business.pk and told.data["url"] == "/messages/business/"
    conv = customer_writes(customer, business)
    services.conversation_report(user=business, conversation=conv, reason="spam")
    queue = web(moderator).get("/admin/enforcement/reviewitem/?state__exact=pending")
    assert queue.status_code == 200
    assert f"/moderation/conversations/{conv.pk}/".encode() in queue.content
    # the link alone reads nothing: only opening it writes the audit entry
    assert not Decision.objects.filter(action="conversation_read").exists()


def test_opening_hours_make_the_business_away_once_per_closed_stretch(business, customer):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    away = services.away_set(
        owner=business,
        text="Closed now, we open at 9.",
        enabled=False,
        hours_start=time(9),
        hours_end=time(18),
    )
    kl = ZoneInfo("Asia/Kuala_Lumpur")
    assert services.away_period_now(away, now=datetime(2026, 12, 7, 12, 0, tzinfo=kl)) is None
    evening = services.away_period_now(away, now=datetime(2026, 12, 7, 20, 0, tzinfo=kl))
    morning = services.away_period_now(away, now=datetime(2026, 12, 8, 7, 0, tzinfo=kl))
    assert evening == morning == "h2026-12-07"  # one night is one away period
    assert services.away_period_now(away, now=datetime(2026, 12, 8, 19, 0, tzinfo=kl)) == "h2026-12-08"
    # whether a customer writing right now gets the reply follows the current local time
    conv = customer_writes(customer, business)
    expected = 0 if services.away_period_now(away) is None else 1
    assert Message.objects.filter(conversation=conv, automatic=True).count() == expected


def test_opening_hours_refuse_bad_input_and_keep_the_old_setting(api_for, business):
    from meadow.messaging.models import AwayMessage

    api_for(business).put("/api/v1/me/away-message", {"text": "Away", "enabled": True}, content_type=JSON)
    cases = [
        {"text": "Away", "enabled": False, "hours_start": "09:00"},
        {"text": "Away", "enabled": False, "hours_start": "18:00", "hours_end": "09:00"},
        {
            "text": "Away",
            "enabled": False,
            "hours_start": "09:00",
            "hours_end": "18:00",
            "time_zone": "Mars/Base",
        },
        {"text": "", "enabled": False, "hours_start": "09:00", "hours_end": "18:00"},
    ]
    for body in cases:
        answer = api_for(business).put("/api/v1/me/away-message", body, content_type=JSON)
        assert answer.status_code == 400, body
    kept = AwayMessage.objects.get(owner=business)
    assert kept.enabled is True and kept.hours_start is None and kept.text == "Away"
    page = web(business).post(
        "/messages/business/away/", {"text": "Away", "hours_start": "9am", "hours_end": ""}
    )
    assert page.status_code == 302 and AwayMessage.objects.get(owner=business).enabled is True


def test_team_data_in_export_and_erasure(business, customer, team):
    from meadow.core.privacy import erasure_steps, export_sections

    conv = customer_writes(customer, business)
    services.message_send(
        sender=business, conversation=conv, text="From the team", client_id="t", sent_by=team
    )
    records = dict(export_sections())["messages"](team).records["business_inbox"]
    assert records["teams"] == [{"business": business.handle, "state": "active"}]
    assert [m["text"] for m in records["written_for_businesses"]] == ["From the team"]
    owner = dict(export_sections())["messages"](business).records["business_inbox"]
    assert owner["team"] == [{"member": team.handle, "state": "active"}]
    erase = dict(erasure_steps())["messages"]
    assert erase(team) == 2  # the team place, the attribution
    assert erase(team) == 0
    kept = Message.objects.get(conversation=conv, sender=business)
    assert kept.text == "From the team" and kept.sent_by_id is None
    with pytest.raises(Http404):
        selectors.team_business_get(member=team, handle=business.handle)


def test_a_banned_member_cannot_write_for_the_business(api_for, business, customer, team):
    from meadow.enforcement.models import Sanction

    Sanction.objects.create(
        account=team, kind=Sanction.Kind.POSTING_BAN, ends_at=timezone.now() + timedelta(days=1)
    )
    conv = customer_writes(customer, business)
    refused = api_for(team).post(
        f"/api/v1/teams/{business.handle}/conversations/{conv.pk}/messages",
        {"text": "hello", "client_id": "b1"},
        content_type=JSON,
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "posting_banned"
    assert not Message.objects.filter(conversation=conv, sender=business).exists()
