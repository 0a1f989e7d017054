"""Small groups through the API: creating one (who may be invited, blocks, size limits), sending with one seq,
unread and "Seen by n", members added and removed (a removed member gets 404 and nothing new), leaving, mute and
unsend, moderation (a redirect never reaches a member who has not accepted), search, and the settings check."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from meadow.accounts.models import Block, Follow, User
from meadow.messaging.models import Conversation, Message, Participant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def follow(a: User, b: User) -> None:
    Follow.objects.create(follower=a, followee=b)


def make_group(api_for, creator: User, members: list[User], name: str = "Hiking club"):
    return api_for(creator).post(
        "/api/v1/conversations/groups", {"with": [m.handle for m in members], "name": name}, content_type=JSON
    )


def send(api_for, user: User, conv_id: int, text: str, client_id: str):
    return api_for(user).post(
        f"/api/v1/conversations/{conv_id}/messages", {"text": text, "client_id": client_id}, content_type=JSON
    )


@pytest.fixture
def crew(db):
    """A creator and three people who follow the creator (the group lands in their inbox)."""
    creator = UserFactory()
    people = [UserFactory() for _ in range(3)]
    for p in people:
        follow(p, creator)
    return creator, people


def test_a_group_is_created_with_a_name_and_its_creator_as_admin(api_for, crew):
    creator, (b, c, _d) = crew
    made = make_group(api_for, creator, [b, c, b])  # a handle twice counts once
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["kind"] == "group" and body["name"] == "Hiking club" and body["with"] is None
    assert body["state"] == "active"
    assert sorted(m["handle"] for m in body["members"]) == sorted([b.handle, c.handle])
    roles = dict(Participant.objects.filter(conversation_id=body["id"]).values_list("user_id", "role"))
    assert roles == {creator.pk: "admin", b.pk: "member", c.pk: "member"}
    # a direct conversation keeps its body: kind direct, "with" the other person
    follow(creator, b)
    direct = api_for(creator).post("/api/v1/conversations", {"with": b.handle}, content_type=JSON).json()
    assert direct["kind"] == "direct" and direct["with"]["handle"] == b.handle and direct["name"] is None
    assert [m["handle"] for m in direct["members"]] == [b.handle]


def test_an_invitee_who_does_not_follow_the_creator_finds_it_in_requests(api_for, crew):
    creator, (b, _c, _d) = crew
    stranger = UserFactory()
    conv = make_group(api_for, creator, [b, stranger]).json()["id"]
    assert send(api_for, creator, conv, "welcome", "w").status_code == 201
    requests = api_for(stranger).get("/api/v1/conversations?box=requests").json()["items"]
    assert [i["id"] for i in requests] == [conv] and requests[0]["name"] == "Hiking club"
    inbox = api_for(b).get("/api/v1/conversations").json()["items"]
    assert [i["id"] for i in inbox] == [conv]
    # reading quietly: the others do not see the stranger's read position until they accept
    api_for(stranger).post(f"/api/v1/conversations/{conv}/read", {"seq": 1}, content_type=JSON)
    read = {
        r["handle"]: r["read_seq"]
        for r in api_for(creator).get(f"/api/v1/conversations/{conv}").json()["read"]
    }
    assert read[stranger.handle] is None
    assert api_for(stranger).post(f"/api/v1/conversations/{conv}/accept").status_code == 200
    read = {
        r["handle"]: r["read_seq"]
        for r in api_for(creator).get(f"/api/v1/conversations/{conv}").json()["read"]
    }
    assert read[stranger.handle] == 1


@pytest.mark.parametrize("case", ["nobody", "following", "blocked_creator", "creator_blocked"])
def test_invitees_are_refused_by_their_settings_and_blocks_and_nothing_is_created(api_for, crew, case):
    creator, (b, c, _d) = crew
    target = UserFactory()
    if case == "nobody":
        follow(target, creator)
        target.message_policy = User.MessagePolicy.NOBODY
        target.save()
    elif case == "following":
        target.message_policy = User.MessagePolicy.FOLLOWING
        target.save()
    elif case == "blocked_creator":
        Block.objects.create(blocker=target, blocked=creator)
    else:
        Block.objects.create(blocker=creator, blocked=target)
    refused = make_group(api_for, creator, [b, c, target])
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == ("not_allowed" if case in ("nobody", "following") else "blocked")
    # the message names the invitee who cannot join (a block with another invitee does not keep one out:
    # test_attack_gaps)
    assert target.handle in error["message"] and error["field"] == "with"
    assert not Conversation.objects.filter(kind="group").exists()


def test_bad_group_bodies_get_clear_errors(api_for, crew, settings):
    creator, (b, c, d) = crew
    unknown = make_group(api_for, creator, [b, User(handle="nobody_here")])
    assert unknown.status_code == 404 and "nobody_here" in unknown.json()["error"]["message"]
    too_few = make_group(api_for, creator, [b, creator])
    assert too_few.status_code == 400 and too_few.json()["error"]["code"] == "too_few"
    unnamed = make_group(api_for, creator, [b, c], name="   ")
    assert unnamed.status_code == 400 and unnamed.json()["error"]["field"] == "name"
    settings.MEADOW_MESSAGE_GROUP_MAX = 3
    too_many = make_group(api_for, creator, [b, c, d])
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "too_many"
    assert not Conversation.objects.filter(kind="group").exists()
    assert make_group(api_for, creator, [b, c]).status_code == 201  # exactly the limit


def test_messages_unread_and_seen_by_in_a_group(api_for, crew):
    creator, (b, c, _d) = crew
    conv = make_group(api_for, creator, [b, c]).json()["id"]
    assert send(api_for, creator, conv, "hello all", "1").json()["seq"] == 1
    assert send(api_for, b, conv, "hi!", "2").json()["seq"] == 2
    items = api_for(c).get("/api/v1/conversations").json()["items"]
    assert items[0]["unread"] == 2 and items[0]["last_message"]["text"] == "hi!"
    seen = api_for(c).get(f"/api/v1/conversations/{conv}/messages?after=0").json()["items"]
    assert [m["text"] for m in seen] == ["hello all", "hi!"]
    api_for(c).post(f"/api/v1/conversations/{conv}/read", {"seq": 2}, content_type=JSON)
    detail = api_for(creator).get(f"/api/v1/conversations/{conv}").json()
    reads = {r["handle"]: r["read_seq"] for r in detail["read"]}
    assert reads == {creator.handle: 1, b.handle: 2, c.handle: 2}  # sending reads what came before
    assert detail["seen_seq"] is None
    # the page says "Seen by 2" under the creator's message (b and c read past seq 1)
    page = Client()
    page.force_login(creator)
    html = page.get(f"/messages/{conv}/").content.decode()
    assert "Seen by 2" in html and "Hiking club" in html


def test_admins_add_and_remove_members_and_a_removed_member_sees_nothing_new(api_for, crew, settings):
    creator, (b, c, d) = crew
    conv = make_group(api_for, creator, [b, c]).json()["id"]
    send(api_for, creator, conv, "before d joined", "1")
    not_admin = api_for(b).post(
        f"/api/v1/conversations/{conv}/members", {"with": [d.handle]}, content_type=JSON
    )
    assert not_admin.status_code == 403 and not_admin.json()["error"]["code"] == "not_admin"
    added = api_for(creator).post(
        f"/api/v1/conversations/{conv}/members", {"with": [d.handle]}, content_type=JSON
    )
    assert added.status_code == 200 and d.handle in [m["handle"] for m in added.json()["members"]]
    send(api_for, creator, conv, "after d joined", "2")
    assert [m["text"] for m in api_for(d).get(f"/api/v1/conversations/{conv}/messages").json()["items"]] == [
        "after d joined"
    ]
    settings.MEADOW_MESSAGE_GROUP_MAX = 4
    full = api_for(creator).post(
        f"/api/v1/conversations/{conv}/members", {"with": [UserFactory().handle]}, content_type=JSON
    )
    assert full.status_code == 400 and full.json()["error"]["code"] == "too_many"
    # b cannot remove anyone; the admin removes c
    assert api_for(b).delete(f"/api/v1/conversations/{conv}/members/{c.handle}").status_code == 403
    assert api_for(creator).delete(f"/api/v1/conversations/{conv}/members/{c.handle}").status_code == 204
    send(api_for, creator, conv, "c is gone", "3")
    assert api_for(c).get(f"/api/v1/conversations/{conv}").status_code == 404
    assert api_for(c).get(f"/api/v1/conversations/{conv}/messages?after=0").status_code == 404
    assert send(api_for, c, conv, "let me back", "x").status_code == 404
    assert (
        api_for(c).post(f"/api/v1/conversations/{conv}/read", {"seq": 3}, content_type=JSON).status_code
        == 404
    )
    assert api_for(c).get("/api/v1/conversations").json()["items"] == []
    assert not Message.objects.filter(sender=c).exists()


def test_leaving_passes_the_admin_on_and_a_direct_conversation_is_no_group(api_for, crew):
    creator, (b, c, _d) = crew
    conv = make_group(api_for, creator, [b, c]).json()["id"]
    send(api_for, b, conv, "hi", "1")
    assert api_for(creator).post(f"/api/v1/conversations/{conv}/leave").status_code == 204
    assert api_for(creator).get(f"/api/v1/conversations/{conv}").status_code == 404
    roles = dict(Participant.objects.filter(conversation_id=conv).values_list("user_id", "role"))
    assert roles == {b.pk: "admin", c.pk: "member"}  # the earliest member
    assert api_for(b).delete(f"/api/v1/conversations/{conv}/members/{b.handle}").status_code == 204  # = leave
    assert list(Participant.objects.filter(conversation_id=conv).values_list("role", flat=True)) == ["admin"]
    follow(creator, b)
    direct = (
        api_for(creator).post("/api/v1/conversations", {"with": b.handle}, content_type=JSON).json()["id"]
    )
    refused = api_for(creator).post(f"/api/v1/conversations/{direct}/leave")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "not_group"


def test_mute_and_unsend_work_in_a_group(api_for, crew):
    creator, (b, c, _d) = crew
    conv = make_group(api_for, creator, [b, c]).json()["id"]
    api_for(c).post(f"/api/v1/conversations/{conv}/mute", {"muted": True}, content_type=JSON)
    sent = send(api_for, b, conv, "oops", "1").json()
    items = api_for(c).get("/api/v1/conversations").json()["items"]
    assert items[0]["muted"] is True and items[0]["unread"] == 1
    unsent = api_for(b).post(f"/api/v1/conversations/{conv}/messages/{sent['id']}/unsend")
    assert unsent.status_code == 200 and unsent.json()["withdrawn"] is True
    [seen] = api_for(creator).get(f"/api/v1/conversations/{conv}/messages").json()["items"]
    assert seen["withdrawn"] is True and seen["text"] == ""
    assert api_for(c).post(f"/api/v1/conversations/{conv}/messages/{sent['id']}/unsend").status_code == 403


def test_a_redirect_never_reaches_a_member_who_has_not_accepted(api_for, crew):
    creator, (b, _c, _d) = crew
    stranger = UserFactory()
    conv = make_group(api_for, creator, [b, stranger]).json()["id"]
    refused = send(api_for, creator, conv, "add my wechat abc12345", "1")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "moderation_blocked"
    assert not Message.objects.filter(conversation_id=conv).exists()
    api_for(stranger).post(f"/api/v1/conversations/{conv}/accept")
    assert send(api_for, creator, conv, "add my wechat abc12345", "2").status_code == 201  # held for review


def test_search_finds_groups_by_name_member_and_text(api_for, crew):
    creator, (b, c, _d) = crew
    conv = make_group(api_for, creator, [b, c], name="Durian fans").json()["id"]
    send(api_for, b, conv, "the musang king is here", "1")

    def found(q: str) -> list[int]:
        return [i["id"] for i in api_for(creator).get("/api/v1/conversations", {"q": q}).json()["items"]]

    assert found("durian") == [conv]
    assert found(c.handle) == [conv]
    assert found("musang") == [conv]
    assert found("rambutan") == []
    page = Client()
    page.force_login(creator)
    html = page.get("/messages/", {"q": "durian"}).content.decode()
    assert 'data-testid="dm-search"' in html and 'data-group="Durian fans"' in html
    assert 'data-group="Durian fans"' not in page.get("/messages/", {"q": "rambutan"}).content.decode()


def test_the_group_pages_create_add_remove_and_leave(crew):
    creator, (b, c, d) = crew
    page = Client()
    page.force_login(creator)
    made = page.post("/messages/groups/new/", {"name": "Book club", "with": f"@{b.handle}, {c.handle}"})
    group = Conversation.objects.get(kind="group")
    assert made.status_code == 302 and made["Location"] == f"/messages/{group.pk}/"
    assert page.post(f"/messages/{group.pk}/members/", {"with": d.handle}).status_code == 302
    assert page.post(f"/messages/{group.pk}/members/{c.handle}/remove/").status_code == 302
    members = set(Participant.objects.filter(conversation=group).values_list("user_id", flat=True))
    assert members == {creator.pk, b.pk, d.pk}
    refused = page.post("/messages/groups/new/", {"name": "X", "with": "ghost_account"}, follow=True)
    assert "@ghost_account does not exist." in refused.content.decode()
    assert page.post(f"/messages/{group.pk}/leave/").status_code == 302
    assert page.get(f"/messages/{group.pk}/").status_code == 404


@pytest.mark.parametrize(("value", "ok"), [(50, True), (2, True), (51, False), (1, False)])
def test_the_group_size_setting_is_checked_at_startup(settings, value, ok):
    settings.MEADOW_MESSAGE_GROUP_MAX = value
    if ok:
        call_command("check")
    else:
        with pytest.raises(SystemCheckError, match="MEADOW_MESSAGE_GROUP_MAX"):
            call_command("check")


def test_each_stranger_put_in_a_group_counts_against_a_new_accounts_daily_requests(api_for, settings):
    """A group of strangers was one request whatever its size, and adding strangers later took none: a new
    account reached 48 strangers in three groups within seconds (the attack pass of 2026-12-07)."""
    settings.MEADOW_MESSAGE_REQUESTS_PER_DAY = 4
    newcomer, friend = UserFactory(), UserFactory()
    follow(friend, newcomer)
    strangers = [UserFactory() for _ in range(6)]
    too_many = make_group(api_for, newcomer, [friend, *strangers[:5]])  # 5 strangers > 4 a day
    assert too_many.status_code == 429 and too_many.json()["error"]["code"] == "request_limit"
    assert not Conversation.objects.filter(kind="group").exists()
    made = make_group(api_for, newcomer, [friend, *strangers[:3]])  # 3 strangers: 3 of the 4
    assert made.status_code == 201
    group = made.json()["id"]
    add = api_for(newcomer).post(
        f"/api/v1/conversations/{group}/members",
        {"with": [s.handle for s in strangers[3:5]]},
        content_type=JSON,
    )
    assert add.status_code == 429 and add.json()["error"]["code"] == "request_limit"  # 2 more > the 1 left
    assert Participant.objects.filter(conversation_id=group).count() == 5  # nobody was added
    add = api_for(newcomer).post(
        f"/api/v1/conversations/{group}/members", {"with": [strangers[3].handle]}, content_type=JSON
    )
    assert add.status_code == 200
    # the limit is spent: no direct request either, while a follower can still be added
    direct = api_for(newcomer).post("/api/v1/conversations", {"with": strangers[5].handle}, content_type=JSON)
    assert direct.status_code == 429
    fan = UserFactory()
    follow(fan, newcomer)
    add = api_for(newcomer).post(
        f"/api/v1/conversations/{group}/members", {"with": [fan.handle]}, content_type=JSON
    )
    assert add.status_code == 200


def test_someone_who_left_comes_back_only_through_requests(api_for, crew):
    """Leaving was undone at once: an admin added the person straight back into their inbox (attack pass)."""
    creator, (b, c, _d) = crew
    group = make_group(api_for, creator, [b, c]).json()["id"]
    assert Participant.objects.get(conversation_id=group, user=c).state == "inbox"  # c follows the creator
    assert api_for(c).post(f"/api/v1/conversations/{group}/leave").status_code == 204
    back = api_for(creator).post(
        f"/api/v1/conversations/{group}/members", {"with": [c.handle]}, content_type=JSON
    )
    assert back.status_code == 200
    assert Participant.objects.get(conversation_id=group, user=c).state == "request"
    assert send(api_for, creator, group, "welcome back?", "wb1").status_code == 201
    boxes = {
        box: [item["id"] for item in api_for(c).get(f"/api/v1/conversations?box={box}").json()["items"]]
        for box in ("inbox", "requests")
    }
    assert boxes == {"inbox": [], "requests": [group]}
    # accepting brings it back to the inbox; someone removed by an admin (not a departure) is not affected
    assert api_for(c).post(f"/api/v1/conversations/{group}/accept").status_code == 200
    assert Participant.objects.get(conversation_id=group, user=c).state == "inbox"
    assert api_for(creator).delete(f"/api/v1/conversations/{group}/members/{b.handle}").status_code == 204
    api_for(creator).post(f"/api/v1/conversations/{group}/members", {"with": [b.handle]}, content_type=JSON)
    assert Participant.objects.get(conversation_id=group, user=b).state == "inbox"
