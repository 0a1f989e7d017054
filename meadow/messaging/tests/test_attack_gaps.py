"""Regression tests for the gaps the attack pass found in messages (issue #19): a team member the customer
blocked, blocks inside groups, group renames, invisible formatting characters, refused images on the enforcement
ladder, the WebSocket frame limit, rate-limited resumes and a moderator's "remove" on a reported conversation."""

from __future__ import annotations

import pytest
from django.test import Client

from meadow.accounts.models import Block, Follow, User
from meadow.messaging import services
from meadow.messaging.models import Conversation, Message
from meadow.store.tests.factories import verified_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(api_for, user: User, conv_id: int, text: str, client_id: str):
    return api_for(user).post(
        f"/api/v1/conversations/{conv_id}/messages", {"text": text, "client_id": client_id}, content_type=JSON
    )


# --- 1. a team member the customer blocked -------------------------------------------------------------------------
@pytest.fixture
def shop_team(db):
    business = verified_user()
    members = []
    for _ in range(2):
        member = UserFactory()
        services.team_invite(business=business, handle=member.handle)
        services.team_accept(member=member, business=business)
        members.append(member)
    customer = UserFactory()
    conv, _ = services.conversation_open(user=customer, other=business)
    services.message_send(sender=customer, conversation=conv, text="Is this in stock?", client_id="c1")
    return business, members, customer, conv


@pytest.mark.parametrize("direction", ["customer_blocked_member", "member_blocked_customer"])
def test_a_team_member_blocked_by_the_customer_neither_sees_nor_answers_them(api_for, shop_team, direction):
    business, (blocked, other_member), customer, conv = shop_team
    if direction == "customer_blocked_member":
        Block.objects.create(blocker=customer, blocked=blocked)
    else:
        Block.objects.create(blocker=blocked, blocked=customer)
    base = f"/api/v1/teams/{business.handle}/conversations"
    # the blocked member: not in the list, 404 on the messages, the answer and the assignment, pages too
    listed = api_for(blocked).get(f"{base}?box=requests").json()["items"]
    assert conv.pk not in [c["id"] for c in listed]
    assert api_for(blocked).get(f"{base}/{conv.pk}/messages").status_code == 404
    answer = api_for(blocked).post(
        f"{base}/{conv.pk}/messages", {"text": "Yes!", "client_id": "t1"}, content_type=JSON
    )
    assert answer.status_code == 404
    assert (
        api_for(blocked).post(f"{base}/{conv.pk}/assign", {"assignee": None}, content_type=JSON).status_code
        == 404
    )
    assert web(blocked).get(f"/messages/teams/{business.handle}/{conv.pk}/").status_code == 404
    assert (
        web(blocked)
        .post(f"/messages/teams/{business.handle}/{conv.pk}/send/", {"text": "Yes!", "client_id": "t2"})
        .status_code
        == 404
    )
    page = web(blocked).get(f"/messages/teams/{business.handle}/?box=requests")
    assert page.status_code == 200 and f"/{conv.pk}/".encode() not in page.content
    theirs = web(other_member).get(f"/messages/teams/{business.handle}/?box=requests")
    assert f"/{conv.pk}/".encode() in theirs.content
    # the service refuses it too, whoever calls it
    with pytest.raises(services.Blocked):
        services.message_send(
            sender=business, conversation=conv, text="Yes!", client_id="t3", sent_by=blocked
        )
    assert not Message.objects.filter(conversation=conv, sender=business).exists()
    # the business itself and the other member still see and answer it
    assert conv.pk in [c["id"] for c in api_for(other_member).get(f"{base}?box=requests").json()["items"]]
    ok = api_for(other_member).post(
        f"{base}/{conv.pk}/messages", {"text": "Yes, in stock", "client_id": "t4"}, content_type=JSON
    )
    assert ok.status_code == 201, ok.content
    assert send(api_for, business, conv.pk, "Thanks for asking", "b1").status_code == 201


def test_the_blocked_members_socket_cannot_resume_the_customers_conversation(shop_team):
    """A team member never reads a business conversation through their own socket (it is the business's)."""
    from meadow.messaging.selectors import participant_get

    _business, (blocked, _other), customer, conv = shop_team
    Block.objects.create(blocker=customer, blocked=blocked)
    from django.http import Http404

    with pytest.raises(Http404):
        participant_get(user=blocked, conversation_id=conv.pk)


# --- 2. blocks inside groups ---------------------------------------------------------------------------------------
@pytest.fixture
def group_of_four(api_for):
    creator = UserFactory()
    people = [UserFactory() for _ in range(3)]
    for p in people:
        Follow.objects.create(follower=p, followee=creator)
    made = api_for(creator).post(
        "/api/v1/conversations/groups",
        {"with": [p.handle for p in people], "name": "Hiking club"},
        content_type=JSON,
    )
    assert made.status_code == 201, made.content
    return creator, people, made.json()["id"]


def test_a_block_between_two_members_hides_the_group_from_neither(api_for, group_of_four):
    _creator, (b, c, _d), conv_id = group_of_four
    assert send(api_for, b, conv_id, "hello all", "b1").status_code == 201
    Block.objects.create(blocker=b, blocked=c)
    for person in (b, c):
        assert api_for(person).get(f"/api/v1/conversations/{conv_id}").status_code == 200
        assert conv_id in [i["id"] for i in api_for(person).get("/api/v1/conversations").json()["items"]]
        assert web(person).get(f"/messages/{conv_id}/").status_code == 200
    # both keep writing in it, and both read each other's messages there
    assert send(api_for, c, conv_id, "from c", "c1").status_code == 201
    assert send(api_for, b, conv_id, "from b", "b2").status_code == 201
    texts = [m["text"] for m in api_for(c).get(f"/api/v1/conversations/{conv_id}/messages").json()["items"]]
    assert "from b" in texts
    # ...but no direct conversation between them, either way
    for one, other in ((b, c), (c, b)):
        refused = api_for(one).post("/api/v1/conversations", {"with": other.handle}, content_type=JSON)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked"


def test_a_group_may_hold_two_people_who_blocked_each_other_but_the_adder_is_checked(api_for, group_of_four):
    creator, (b, _c, _d), conv_id = group_of_four
    newcomer, blocker_of_creator, blocked_by_creator = UserFactory(), UserFactory(), UserFactory()
    for p in (newcomer, blocker_of_creator, blocked_by_creator):
        Follow.objects.create(follower=p, followee=creator)
    Block.objects.create(blocker=newcomer, blocked=b)  # a block with another member: added all the same
    added = api_for(creator).post(
        f"/api/v1/conversations/{conv_id}/members", {"with": [newcomer.handle]}, content_type=JSON
    )
    assert added.status_code == 200, added.content
    Block.objects.create(blocker=blocker_of_creator, blocked=creator)
    Block.objects.create(blocker=creator, blocked=blocked_by_creator)
    for person in (blocker_of_creator, blocked_by_creator):
        refused = api_for(creator).post(
            f"/api/v1/conversations/{conv_id}/members", {"with": [person.handle]}, content_type=JSON
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked"
        assert person.handle in refused.json()["error"]["message"]
    assert Conversation.objects.get(pk=conv_id).participants.count() == 5


# --- 5. refused images count on the enforcement ladder like refused texts -----------------------------------------
def _image(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")


def test_refused_dm_images_are_blocked_attempts_and_reach_a_violation_like_texts(
    api_for, private_media, settings
):
    from meadow.enforcement.models import BlockedAttempt, Violation
    from meadow.moderation.tests import imagegen

    settings.MEADOW_BLOCKED_ATTEMPTS_LIMIT = 3
    sender, stranger = UserFactory(), UserFactory()
    conv, _ = services.conversation_open(user=sender, other=stranger)  # a request: any redirect is refused
    code = imagegen.encode(imagegen.qr("https://wa.me/60123456789"))

    def refused_image(n: int):
        r = api_for(sender).post(
            f"/api/v1/conversations/{conv.pk}/messages/images",
            {"client_id": f"img{n}", "images": [_image(code, "qr.png")]},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "image_refused", r.content

    refused_image(1)
    attempt = BlockedAttempt.objects.get(account=sender)
    assert attempt.field == "dm" and attempt.category == "redirect" and attempt.violation_id is None
    # a refused text and a refused image are the same ladder: the third refusal within the window is a violation
    text = send(api_for, sender, conv.pk, "add my wechat abc12345", "t1")
    assert text.status_code == 400 and text.json()["error"]["code"] == "moderation_blocked"
    assert not Violation.objects.filter(account=sender).exists()
    refused_image(2)
    violation = Violation.objects.get(account=sender)
    assert violation.category == "redirect" and violation.evidence["blocked_attempts"] == 3
    assert violation.evidence["text"].startswith("[image ")  # the image's digest, not the image
    assert BlockedAttempt.objects.filter(account=sender).count() == 3
    assert not Message.objects.exists()


# --- 4. invisible formatting characters ------------------------------------------------------------------------------
SPOOFS = ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\ufeff", "\u2060"]
# blank look-alikes: a group name of nothing but Hangul fillers or braille blanks rendered as no name at all
SPOOFS += ["\u3164", "\u2800", "\u115f", "\u1160", "\uffa0", "\u00ad", "\u034f", "\u180e"]


@pytest.mark.parametrize("char", SPOOFS)
def test_messages_group_names_display_names_and_note_titles_refuse_spoofing_controls(api_for, char):
    from meadow.core.errors import ValidationFailed
    from meadow.notes.services import note_validate_text

    a, b, c = UserFactory(), UserFactory(), UserFactory()
    for p in (b, c):
        Follow.objects.create(follower=p, followee=a)
    conv, _ = services.conversation_open(user=a, other=b)
    sent = send(api_for, a, conv.pk, f"invoice{char}fdp.exe", "m1")
    assert sent.status_code == 400, sent.content
    assert sent.json()["error"]["code"] == "invisible_characters" and sent.json()["error"]["field"] == "text"
    assert not Message.objects.exists()
    group = api_for(a).post(
        "/api/v1/conversations/groups",
        {"with": [b.handle, c.handle], "name": f"club{char}"},
        content_type=JSON,
    )
    assert group.status_code == 400 and group.json()["error"]["code"] == "invisible_characters"
    assert group.json()["error"]["field"] == "name"
    assert not Conversation.objects.filter(kind="group").exists()
    name_before = a.display_name
    renamed = api_for(a).patch("/api/v1/me", {"display_name": f"ad{char}min"}, content_type=JSON)
    assert renamed.status_code == 400 and renamed.json()["error"]["code"] == "invisible_characters"
    a.refresh_from_db()
    assert a.display_name == name_before
    with pytest.raises(ValidationFailed) as refused:
        note_validate_text(title=f"sale{char}", body="text")
    assert refused.value.code == "invisible_characters" and refused.value.field == "title"


def test_joiners_and_right_to_left_marks_stay_accepted(api_for):
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=b, followee=a)
    conv, _ = services.conversation_open(user=a, other=b)
    text = "family \U0001f468\u200d\U0001f469\u200d\U0001f467 and \u05e9\u05dc\u05d5\u05dd\u200f ok"
    sent = send(api_for, a, conv.pk, text, "m1")
    assert sent.status_code == 201 and sent.json()["text"] == text


def test_the_openapi_patterns_state_the_same_rule():
    import re

    from meadow.api import api

    schema = api.get_openapi_schema()
    comps = schema["components"]["schemas"]
    patterns = {
        "SendIn.text": comps["SendIn"]["properties"]["text"]["pattern"],
        "GroupIn.name": comps["GroupIn"]["properties"]["name"]["pattern"],
        "MePatch.display_name": comps["MePatch"]["properties"]["display_name"]["anyOf"][0]["pattern"],
    }
    for where, pattern in patterns.items():
        for char in SPOOFS:
            assert not re.search(pattern, f"a{char}b"), where
        assert re.search(pattern, "a\u200db \u05e9\u200f"), where


# --- 3. renaming a group --------------------------------------------------------------------------------------------
def test_an_admin_renames_a_group_with_a_system_line_and_members_cannot(api_for, group_of_four):
    creator, (b, _c, _d), conv_id = group_of_four
    path = f"/api/v1/conversations/groups/{conv_id}"
    refused = api_for(b).patch(path, {"name": "Mine now"}, content_type=JSON)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_admin"
    renamed = api_for(creator).patch(path, {"name": "  Weekend   walkers "}, content_type=JSON)
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "Weekend walkers"
    assert Conversation.objects.get(pk=conv_id).name == "Weekend walkers"
    line = Message.objects.get(conversation_id=conv_id, system="renamed")
    assert line.sender_id == creator.pk and line.text == "Weekend walkers"
    # every member reads the line (in the API and on the page, in their language)
    items = api_for(b).get(f"/api/v1/conversations/{conv_id}/messages").json()["items"]
    assert items[-1]["system"] == "renamed" and items[-1]["text"] == "Weekend walkers"
    client = web(b)
    client.cookies["meadow_language"] = "zh-hans"
    page = client.get(f"/messages/{conv_id}/")
    who = creator.display_name or creator.handle
    assert f"{who} 将群聊名称改为“Weekend walkers”".encode() in page.content
    # the line cannot be unsent, and the same name again adds nothing
    unsend = api_for(creator).post(f"/api/v1/conversations/{conv_id}/messages/{line.pk}/unsend")
    assert unsend.status_code in (403, 404)
    assert api_for(creator).patch(path, {"name": "Weekend walkers"}, content_type=JSON).status_code == 200
    assert Message.objects.filter(conversation_id=conv_id, system="renamed").count() == 1


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "required"), ("x" * 61, "too_long"), ("add my wechat abc12345", "moderation_blocked")],
)
def test_a_bad_group_name_is_refused_and_the_old_one_kept(api_for, group_of_four, name, code):
    creator, _people, conv_id = group_of_four
    r = api_for(creator).patch(f"/api/v1/conversations/groups/{conv_id}", {"name": name}, content_type=JSON)
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.content
    assert Conversation.objects.get(pk=conv_id).name == "Hiking club"
    assert not Message.objects.filter(conversation_id=conv_id, system="renamed").exists()


def test_a_direct_conversation_and_outsiders_cannot_be_renamed(api_for):
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=b, followee=a)
    conv, _ = services.conversation_open(user=a, other=b)
    r = api_for(a).patch(f"/api/v1/conversations/groups/{conv.pk}", {"name": "x"}, content_type=JSON)
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_group"
    r = api_for(UserFactory()).patch(
        f"/api/v1/conversations/groups/{conv.pk}", {"name": "x"}, content_type=JSON
    )
    assert r.status_code == 404


def test_the_page_renames_a_group_for_its_admin(group_of_four):
    creator, (b, _c, _d), conv_id = group_of_four
    page = web(creator).get(f"/messages/{conv_id}/")
    assert b'data-testid="dm-group-rename"' in page.content
    assert b'data-testid="dm-group-rename"' not in web(b).get(f"/messages/{conv_id}/").content
    r = web(creator).post(f"/messages/{conv_id}/rename/", {"name": "Trail team"})
    assert r.status_code == 302
    assert Conversation.objects.get(pk=conv_id).name == "Trail team"
    r = web(b).post(f"/messages/{conv_id}/rename/", {"name": "Hijack"}, follow=True)
    assert Conversation.objects.get(pk=conv_id).name == "Trail team"
    assert "Only the group" in r.content.decode()


# --- 6. the WebSocket frame limit -----------------------------------------------------------------------------------
def test_the_procfiles_limit_websocket_frames_to_what_the_consumer_reads():
    import shlex
    from pathlib import Path

    from meadow.messaging.consumers import FRAME_MAX, WS_MAX_SIZE

    root = Path(__file__).resolve().parents[3]
    for name in ("Procfile", "Procfile.scale"):
        web_line = next(line for line in (root / name).read_text().splitlines() if line.startswith("web:"))
        args = shlex.split(web_line.split(":", 1)[1])
        assert "--ws-max-size" in args, name
        assert int(args[args.index("--ws-max-size") + 1]) == WS_MAX_SIZE, name
    # the consumer's own limit (characters) fits in uvicorn's (bytes) even in 4-byte UTF-8
    assert FRAME_MAX * 4 <= WS_MAX_SIZE


# --- 8. a moderator's "remove" on a reported conversation ------------------------------------------------------------
def test_remove_on_a_reported_conversation_withdraws_the_reported_messages_with_an_audit_entry(
    api_for, moderator
):
    from meadow.enforcement.models import Decision, ReviewItem

    customer, abuser = UserFactory(), UserFactory()
    Follow.objects.create(follower=customer, followee=abuser)
    conv, _ = services.conversation_open(user=abuser, other=customer)
    for n in range(3):
        services.message_send(sender=abuser, conversation=conv, text=f"nasty {n}", client_id=f"a{n}")
    services.message_send(sender=customer, conversation=conv, text="please stop", client_id="c1")
    reported = api_for(customer).post(
        f"/api/v1/conversations/{conv.pk}/report", {"reason": "abuse"}, content_type=JSON
    )
    assert reported.status_code == 201
    services.message_send(sender=abuser, conversation=conv, text="after the report", client_id="a9")
    item = ReviewItem.objects.get(pk=reported.json()["id"])
    assert item.findings["messages"] == [1, 2, 3]
    decided = api_for(moderator).post(
        f"/api/v1/moderation/reviews/{item.pk}/decision", {"decision": "remove"}, content_type=JSON
    )
    assert decided.status_code == 200, decided.content
    by_seq = {m.seq: m for m in Message.objects.filter(conversation=conv)}
    assert [s for s, m in sorted(by_seq.items()) if m.withdrawn_at] == [1, 2, 3]
    assert all(by_seq[s].text == "" for s in (1, 2, 3))
    assert by_seq[4].text == "please stop" and by_seq[5].text == "after the report"  # not covered
    # everyone reads "withdrawn" in place of them
    items = api_for(customer).get(f"/api/v1/conversations/{conv.pk}/messages").json()["items"]
    assert [m["withdrawn"] for m in items] == [True, True, True, False, False]
    audit = Decision.objects.get(action="content_removed")
    assert audit.moderator_id == moderator.pk and audit.data["withdrawn"] == [1, 2, 3]
    assert abuser.violations.count() == 1


def test_remove_withdraws_the_messages_the_moderator_selects(api_for, moderator):
    from meadow.enforcement.models import Decision, ReviewItem

    customer, abuser = UserFactory(), UserFactory()
    Follow.objects.create(follower=customer, followee=abuser)
    conv, _ = services.conversation_open(user=abuser, other=customer)
    for n in range(4):
        services.message_send(sender=abuser, conversation=conv, text=f"message {n}", client_id=f"a{n}")
    item_id = (
        api_for(customer)
        .post(f"/api/v1/conversations/{conv.pk}/report", {"reason": "spam"}, content_type=JSON)
        .json()["id"]
    )
    decided = api_for(moderator).post(
        f"/api/v1/moderation/reviews/{item_id}/decision",
        {"decision": "remove", "messages": [2, 4, 99]},
        content_type=JSON,
    )
    assert decided.status_code == 200, decided.content
    withdrawn = sorted(
        Message.objects.filter(conversation=conv, withdrawn_at__isnull=False).values_list("seq", flat=True)
    )
    assert withdrawn == [2, 4]
    assert Decision.objects.get(action="content_removed").data["withdrawn"] == [2, 4]
    assert ReviewItem.objects.get(pk=item_id).state == "removed"
