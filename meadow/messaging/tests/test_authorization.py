"""The authorization matrix of messages (issue #19), over every messaging operation the OpenAPI document lists
(a new one fails here until it is added), the pages and the WebSocket: someone else's conversation answers 404
and its body names nothing of it (no text, no handle, no display name), an anonymous caller gets 401 (the pages:
the login redirect), a person the other participant blocked is treated like a stranger, and nothing changes. A
realtime ticket carries exactly its own person's events, works once, and not after it expires."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any, NamedTuple

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from meadow.accounts.models import Block, Follow
from meadow.enforcement.models import Decision, ReviewItem
from meadow.messaging import services
from meadow.messaging.models import AwayMessage, Conversation, Message, MessageImage, Participant, TeamMember
from meadow.messaging.tests.test_realtime import Socket, cookie_for
from meadow.store.tests.factories import verified_user
from tests.factories import UserFactory

JSON = "application/json"
SECRET = "the-secret-text-Zq7"
GROUP_NAME = "Secret Circle Qx4"
FRIENDS, FRIENDS_TEXT = "Friends Only Kp2", "friends-only-text-Rw5"


def _operations() -> set[tuple[str, str]]:
    from meadow.api import api

    schema = api.get_openapi_schema()
    return {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if "messages" in op.get("tags", [])
    }


# Every messaging operation: (method, path template, body, scope). "conversation" operations name a conversation
# (404 for anyone but its participants), "group" ones a group (404 for outsiders, 403 ``not_admin`` for members who
# are not admins where marked), "team" ones a business inbox (404 for anyone but the business and its active team
# members), "moderator" the moderators' view of a reported conversation; "own" ones act on the caller's own things.
MULTIPART = object()  # the body is a multipart form with one image
MATRIX = [
    ("GET", "/api/v1/conversations", None, "own"),
    ("POST", "/api/v1/conversations", {"with": "{b}"}, "own"),
    ("GET", "/api/v1/conversations/{conversation_id}", None, "conversation"),
    ("DELETE", "/api/v1/conversations/{conversation_id}", None, "conversation"),
    ("GET", "/api/v1/conversations/{conversation_id}/messages", None, "conversation"),
    (
        "POST",
        "/api/v1/conversations/{conversation_id}/messages",
        {"text": "intrude", "client_id": "z"},
        "conversation",
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/messages/images", MULTIPART, "conversation"),
    ("GET", "/api/v1/conversations/{conversation_id}/images/{image_id}", None, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/accept", None, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/read", {"seq": 1}, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/mute", {"muted": True}, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/unsend", None, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/report", {"reason": "spam"}, "conversation"),
    ("POST", "/api/v1/conversations/groups", {"name": "Mine", "with": ["{b}", "{c}"]}, "own"),
    ("POST", "/api/v1/conversations/{conversation_id}/members", {"with": ["{d}"]}, "group"),
    ("PATCH", "/api/v1/conversations/groups/{conversation_id}", {"name": "Renamed"}, "group"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/members/{handle}", None, "group"),
    ("POST", "/api/v1/conversations/{conversation_id}/leave", None, "group"),
    ("POST", "/api/v1/realtime/ticket", None, "own"),
    ("GET", "/api/v1/me/quick-replies", None, "own"),
    ("POST", "/api/v1/me/quick-replies", {"title": "t", "text": "x"}, "own"),
    ("DELETE", "/api/v1/me/quick-replies/{reply_id}", None, "own"),
    ("GET", "/api/v1/me/away-message", None, "own"),
    ("PUT", "/api/v1/me/away-message", {"text": "away", "enabled": True}, "own"),
    ("GET", "/api/v1/me/response-times", None, "own"),
    ("POST", "/api/v1/messages/ask", {"type": "note", "id": 1}, "own"),
    ("GET", "/api/v1/me/team", None, "own"),
    ("POST", "/api/v1/me/team", {"handle": "{d}"}, "own"),
    ("DELETE", "/api/v1/me/team/{handle}", None, "my-team"),
    ("GET", "/api/v1/me/teams", None, "own"),
    ("POST", "/api/v1/teams/{handle}/accept", None, "their-team"),
    ("DELETE", "/api/v1/teams/{handle}", None, "their-team"),
    ("GET", "/api/v1/teams/{handle}/conversations", None, "team"),
    ("GET", "/api/v1/teams/{handle}/conversations/{conversation_id}/messages", None, "team"),
    (
        "POST",
        "/api/v1/teams/{handle}/conversations/{conversation_id}/messages",
        {"text": "intrude", "client_id": "z-{d}"},
        "team",
    ),
    (
        "POST",
        "/api/v1/teams/{handle}/conversations/{conversation_id}/assign",
        {"assignee": "{member}"},
        "team",
    ),
    ("GET", "/api/v1/moderation/conversations/{conversation_id}", None, "moderator"),
]
NOT_ADMIN = {
    ("POST", "/api/v1/conversations/{conversation_id}/members"),
    ("PATCH", "/api/v1/conversations/groups/{conversation_id}"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/members/{handle}"),
}
PAGES = [
    ("get", "/messages/{conversation_id}/"),
    ("post", "/messages/{conversation_id}/send/"),
    ("post", "/messages/{conversation_id}/accept/"),
    ("post", "/messages/{conversation_id}/delete/"),
    ("post", "/messages/{conversation_id}/block/"),
    ("post", "/messages/{conversation_id}/mute/"),
    ("post", "/messages/{conversation_id}/report/"),
    ("post", "/messages/{group_id}/members/"),
    ("post", "/messages/{group_id}/rename/"),
    ("post", "/messages/{group_id}/members/{c}/remove/"),
    ("post", "/messages/{group_id}/leave/"),
]
TEAM_PAGES = [
    ("get", "/messages/teams/{business}/"),
    ("get", "/messages/teams/{business}/{inbox_id}/"),
    ("post", "/messages/teams/{business}/{inbox_id}/send/"),
    ("post", "/messages/teams/{business}/{inbox_id}/assign/"),
]
OWN_PAGES = [
    ("get", "/messages/"),
    ("post", "/messages/groups/new/"),
    ("get", "/messages/business/"),
    ("post", "/messages/business/away/"),
    ("post", "/messages/business/team/"),
    ("post", "/messages/business/team/{member}/remove/"),
    ("post", "/messages/teams/{business}/respond/"),
    ("post", "/messages/ask/"),
    ("get", "/me/creator/messages/"),
    ("get", "/moderation/conversations/{conversation_id}/"),
]


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(buf, "JPEG")
    return buf.getvalue()


def _world():
    """A and B's conversation (a secret text and an image), their group with C ("Secret Circle", A its admin), and
    a verified business whose customer is B, with an active team member."""
    a = UserFactory(display_name="Alice Secretname")
    b = UserFactory(display_name="Bob Hiddenname")
    c = UserFactory(display_name="Carol Quietname")
    for x, y in [(a, b), (b, a), (a, c), (c, a), (b, c), (c, b)]:
        Follow.objects.create(follower=x, followee=y)
    conversation, _ = services.conversation_open(user=a, other=b)
    message, _ = services.message_send(sender=a, conversation=conversation, text=SECRET, client_id="m1")
    pictured, _ = services.message_send(
        sender=a,
        conversation=conversation,
        text="",
        client_id="m2",
        images=[SimpleUploadedFile("p.jpg", _jpeg(), content_type="image/jpeg")],
    )
    group = services.group_create(user=a, members=[b, c], name=GROUP_NAME)
    services.message_send(sender=b, conversation=group, text=SECRET, client_id="g1")
    business = verified_user(display_name="Kedai Secretshop")
    member = UserFactory(display_name="Mina Teamname")
    services.team_invite(business=business, handle=member.handle)
    services.team_accept(member=member, business=business)
    inbox, _ = services.conversation_open(user=b, other=business)
    services.message_send(sender=b, conversation=inbox, text=SECRET, client_id="b1")
    d = UserFactory()
    return World(a, b, c, d, conversation, message, pictured.images.get(), group, business, member, inbox)


class World(NamedTuple):
    a: Any
    b: Any
    c: Any
    d: Any
    conversation: Conversation
    message: Message
    image: MessageImage
    group: Conversation
    business: Any
    member: Any
    inbox: Conversation

    def names(self, scope: str = "conversation") -> dict[str, Any]:
        """What fills an operation's path and body: the conversation, group or business inbox its scope names."""
        conversation_id, handle = {
            "group": (self.group.pk, self.c.handle),
            "team": (self.inbox.pk, self.business.handle),
            "their-team": (self.conversation.pk, self.business.handle),
            "my-team": (self.conversation.pk, self.member.handle),
        }.get(scope, (self.conversation.pk, self.c.handle))
        return {
            "conversation_id": conversation_id,
            "handle": handle,
            "message_id": self.message.pk,
            "image_id": self.image.pk,
            "group_id": self.group.pk,
            "inbox_id": self.inbox.pk,
            "reply_id": 1,
            "b": self.b.handle,
            "c": self.c.handle,
            "d": self.d.handle,
            "business": self.business.handle,
            "member": self.member.handle,
        }

    def secrets(self) -> list[str]:
        people = (self.a, self.b, self.c, self.business, self.member)
        return [SECRET, GROUP_NAME, *(p.handle for p in people), *(p.display_name for p in people)]


def _call(client, method: str, template: str, body, names: dict):
    url = template.format(**names)
    if body is MULTIPART:
        upload = SimpleUploadedFile("x.jpg", _jpeg(), content_type="image/jpeg")
        return url, client.post(url, {"client_id": "zi", "text": "", "images": [upload]})
    if body is None:
        return url, getattr(client, method.lower())(url)
    return url, getattr(client, method.lower())(url, data=_fill(body, names), content_type=JSON)


def _fill(value, names):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _state():
    return (
        list(Message.objects.values_list("pk", "text", "withdrawn_at", "sender_id").order_by("pk")),
        list(
            Participant.objects.values_list(
                "conversation_id", "user_id", "last_read_seq", "deleted_before_seq", "muted", "state", "role"
            ).order_by("pk")
        ),
        list(
            Conversation.objects.values_list("pk", "state", "last_seq", "name", "assigned_to").order_by("pk")
        ),
        list(Block.objects.values_list("blocker_id", "blocked_id")),
        list(MessageImage.objects.values_list("pk", "message_id", "file").order_by("pk")),
        list(TeamMember.objects.values_list("business_id", "member_id", "state").order_by("pk")),
        list(AwayMessage.objects.values_list("owner_id", "text", "enabled").order_by("pk")),
        list(ReviewItem.objects.values_list("pk", "target_id").order_by("pk")),
        list(Decision.objects.values_list("pk", "action").order_by("pk")),
    )


def _leaks(body: str, world: World) -> list[str]:
    return [word for word in world.secrets() if word in body]


@pytest.mark.django_db
def test_the_matrix_covers_every_messaging_operation_in_the_openapi_document():
    documented = _operations()
    covered = {(method, path) for method, path, _body, _scope in MATRIX}
    assert documented == covered, f"not in the matrix: {documented - covered}; gone: {covered - documented}"


def _web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _refused(response, status: int, code: str, world: World, where, caller=None) -> None:
    assert response.status_code == status, (where, response.status_code, response.content[:300])
    if response.get("Content-Type", "").startswith(JSON):
        assert response.json()["error"]["code"] == code, where
    # (a handle the caller wrote in the address may come back in the 404 page; nothing else may)
    url = where[1] if isinstance(where, tuple) else where
    # (nor does the caller's own name in the page's header count)
    own = (caller.handle, caller.display_name) if caller is not None else ()
    leaked = [
        w for w in _leaks(response.content.decode(errors="replace"), world) if w not in url and w not in own
    ]
    assert leaked == [], where


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "blocked"])
def test_someone_elses_conversation_answers_404_naming_nothing_and_changes_nothing(
    who, api_for, private_media
):
    world = _world()
    if who == "stranger":
        caller = UserFactory()
        scopes = {"conversation", "group"}
    else:  # B blocked A: for A the conversation is gone, exactly as for a stranger
        Block.objects.create(blocker=world.b, blocked=world.a)
        caller = world.a
        scopes = {"conversation"}
    before = _state()
    client = api_for(caller)
    for method, template, body, scope in MATRIX:
        if scope not in scopes:
            continue
        url, response = _call(client, method, template, body, world.names(scope))
        _refused(response, 404, "not_found", world, (method, url), caller)
    pages = _web(caller)
    for method, template in PAGES:
        if who == "blocked" and "{group_id}" in template:
            continue
        url = template.format(**world.names())
        response = getattr(pages, method)(url, {"text": "x", "with": world.d.handle, "reason": "spam"})
        _refused(response, 404, "not_found", world, (method, url), caller)
    # the caller's own lists do not show it either
    items = (
        client.get("/api/v1/conversations").json()["items"]
        + client.get("/api/v1/conversations?box=requests").json()["items"]
    )
    found = [i["id"] for i in client.get(f"/api/v1/conversations?q={SECRET}").json()["items"]]
    if who == "blocked":
        # B's block hides their direct conversation from A, not the group both are in (docs/architecture.md,
        # "Blocks in groups")
        assert [i["id"] for i in items] == [world.group.pk] and found == [world.group.pk]
        items, found = [], []
    listed = json.dumps(items)
    assert SECRET not in listed and world.b.handle not in listed and GROUP_NAME not in listed
    assert found == []
    assert _state() == before


@pytest.mark.django_db
def test_a_group_member_who_is_not_admin_gets_403_not_admin_and_changes_nothing(api_for, private_media):
    world = _world()
    before = _state()
    client = api_for(world.b)  # in the group, not its admin
    names = {**world.names("group"), "handle": world.c.handle}
    for method, template, body, _scope in MATRIX:
        if (method, template) in NOT_ADMIN:
            url, response = _call(client, method, template, body, names)
            assert response.status_code == 403 and response.json()["error"]["code"] == "not_admin", url
    pages = _web(world.b)
    pages.post(f"/messages/{world.group.pk}/members/", {"with": world.d.handle})
    pages.post(f"/messages/{world.group.pk}/members/{world.c.handle}/remove/")
    assert _state() == before
    # the admin may; the removed member gets 404 from then on, and a member may leave
    admin = api_for(world.a)
    assert admin.delete(f"/api/v1/conversations/{world.group.pk}/members/{world.c.handle}").status_code == 204
    removed = api_for(world.c)
    for method, template, body, scope in MATRIX:
        if scope in ("conversation", "group"):
            url, response = _call(removed, method, template, body, world.names("group"))
            _refused(response, 404, "not_found", world, (method, url), world.c)
    assert client.post(f"/api/v1/conversations/{world.group.pk}/leave").status_code == 204
    assert client.get(f"/api/v1/conversations/{world.group.pk}").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "customer", "invited", "removed", "staff"])
def test_a_business_inbox_answers_404_to_anyone_but_its_team(who, api_for, private_media):
    """Everyone but the business and its active members gets 404 naming nothing on every team operation and page,
    a removed member at once; nobody but the business removes its members or accepts its invitations."""
    world = _world()
    caller = {
        "stranger": UserFactory,
        "customer": lambda: world.b,  # the business's own customer, reading its side of the inbox
        "staff": lambda: UserFactory(is_staff=True),
    }.get(who, UserFactory)()
    if who == "invited":
        services.team_invite(business=world.business, handle=caller.handle)
    if who == "removed":
        caller = world.member
        assert api_for(caller).get(f"/api/v1/teams/{world.business.handle}/conversations").status_code == 200
        assert api_for(world.business).delete(f"/api/v1/me/team/{caller.handle}").status_code == 204
    before = _state()
    client = api_for(caller)
    for method, template, body, scope in MATRIX:
        if scope == "team":
            url, response = _call(client, method, template, body, world.names("team"))
            _refused(response, 404, "not_found", world, (method, url), caller)
    pages = _web(caller)
    for method, template in TEAM_PAGES:
        url = template.format(**world.names())
        response = getattr(pages, method)(url, {"text": "x", "client_id": "w", "assignee": caller.handle})
        _refused(response, 404, "not_found", world, (method, url), caller)
    if who != "invited":  # (the invited person may accept; that is the next test's business)
        url, response = _call(
            client, "POST", "/api/v1/teams/{handle}/accept", None, world.names("their-team")
        )
        _refused(response, 404, "not_found", world, url, caller)
    # someone else's team member cannot be removed, nor made to leave, by anyone but the business and the member
    url, response = _call(client, "DELETE", "/api/v1/me/team/{handle}", None, world.names("my-team"))
    _refused(response, 404, "not_found", world, url, caller)
    response = pages.post(f"/messages/business/team/{world.member.handle}/remove/")
    assert response.status_code in (302, 404)
    listed = client.get("/api/v1/me/team").content.decode()
    if who != "invited":  # an invitation names its business to the invited person, and only that
        listed += client.get("/api/v1/me/teams").content.decode()
    assert world.member.handle not in listed and world.business.handle not in listed
    assert _state() == before


@pytest.mark.django_db
def test_team_operations_answer_the_business_and_its_active_members(api_for, private_media):
    """The other side of the rule above, so the 404s cannot come from a broken route."""
    world = _world()
    for person in (world.business, world.member):
        client = api_for(person)
        for method, template, body, scope in MATRIX:
            if scope == "team":
                names = {**world.names("team"), "member": world.member.handle}
                url, response = _call(client, method, template, body, {**names, "d": person.handle})
                assert response.status_code in (200, 201, 204), (person, url, response.content[:300])
    assert Message.objects.filter(
        conversation=world.inbox, sender=world.business, sent_by=world.member
    ).exists()
    world.inbox.refresh_from_db()
    assert world.inbox.assigned_to_id == world.member.pk


def _group_refused(response, world: World, where) -> None:
    """404 naming nothing of the group: neither its name, its messages nor its other members."""
    assert response.status_code == 404, (where, response.status_code, response.content[:300])
    body = response.content.decode(errors="replace")
    if response.get("Content-Type", "").startswith(JSON):
        assert response.json()["error"]["code"] == "not_found", where
    names = (
        FRIENDS,
        FRIENDS_TEXT,
        world.a.handle,
        world.a.display_name,
        world.c.handle,
        world.c.display_name,
    )
    assert [n for n in names if n in body] == [], where


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["business", "member"])
def test_a_group_the_business_account_is_in_is_not_part_of_its_team_inbox(who, api_for, private_media):
    """A group's members write to the people in it: the business's team neither lists it, reads it, writes into
    it as the business nor assigns it (404 naming nothing), and the business still reads it as a member."""
    world = _world()
    for person in (world.a, world.c):
        Follow.objects.create(follower=world.business, followee=person)
        Follow.objects.create(follower=person, followee=world.business)
    friends = services.group_create(user=world.a, members=[world.business, world.c], name=FRIENDS)
    services.message_send(sender=world.c, conversation=friends, text=FRIENDS_TEXT, client_id="f1")
    caller = world.business if who == "business" else world.member
    before = _state()
    client = api_for(caller)
    names = {**world.names("team"), "conversation_id": friends.pk, "member": world.member.handle}
    for method, template, body, scope in MATRIX:
        if scope == "team" and "{conversation_id}" in template:
            url, response = _call(client, method, template, body, names)
            _group_refused(response, world, (method, url))
    for box in ("inbox", "requests"):
        listed = client.get(f"/api/v1/teams/{world.business.handle}/conversations?box={box}")
        assert listed.status_code == 200 and friends.pk not in [i["id"] for i in listed.json()["items"]]
        assert FRIENDS not in listed.content.decode() and FRIENDS_TEXT not in listed.content.decode()
    pages = _web(caller)
    inbox_page = pages.get(f"/messages/teams/{world.business.handle}/")
    assert inbox_page.status_code == 200 and FRIENDS not in inbox_page.content.decode()
    for method, template in TEAM_PAGES[1:]:
        url = template.format(**{**world.names(), "inbox_id": friends.pk})
        response = getattr(pages, method)(
            url, {"text": "x", "client_id": "w", "assignee": world.member.handle}
        )
        _group_refused(response, world, (method, url))
    assert _state() == before
    # the customer's conversation (a request: the business does not follow them) is the team's
    requests = client.get(f"/api/v1/teams/{world.business.handle}/conversations?box=requests").json()["items"]
    assert [i["id"] for i in requests] == [world.inbox.pk]
    own = api_for(world.business).get(f"/api/v1/conversations/{friends.pk}/messages")
    assert own.status_code == 200 and own.json()["items"][-1]["text"] == FRIENDS_TEXT


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["participant", "other participant", "staff", "stranger", "moderator"])
def test_the_moderators_view_is_404_but_for_a_moderator_on_a_reported_conversation(who, api_for, moderator):
    from meadow.enforcement.services import moderator_group_ensure

    a, b = UserFactory(display_name="Alice Secretname"), UserFactory(display_name="Bob Hiddenname")
    Follow.objects.create(follower=b, followee=a)
    conversation, _ = services.conversation_open(user=a, other=b)
    services.message_send(sender=a, conversation=conversation, text=SECRET, client_id="m1")
    caller = {
        "participant": a,
        "other participant": b,
        "staff": UserFactory(is_staff=True),
        "stranger": UserFactory(),
        "moderator": moderator,
    }[who]
    if who == "participant":  # even a moderator who is in the conversation reads it only once it is reported
        caller.is_staff = True
        caller.save(update_fields=["is_staff"])
        caller.groups.add(moderator_group_ensure())
    api, page = (
        f"/api/v1/moderation/conversations/{conversation.pk}",
        f"/moderation/conversations/{conversation.pk}/",
    )

    def opened() -> list[int]:
        return [api_for(caller).get(api).status_code, _web(caller).get(page).status_code]

    def audit() -> int:
        return Decision.objects.filter(action="conversation_read", target_id=conversation.pk).count()

    first = opened()
    assert first == [404, 404] and audit() == 0  # nobody reads an unreported conversation
    services.conversation_report(user=b, conversation=conversation, reason="abuse")
    response = api_for(caller).get(api)
    if who in ("moderator", "participant"):
        assert response.status_code == 200 and response.json()["messages"][0]["text"] == SECRET
        assert audit() == 1
        assert opened() == [200, 200] and audit() == 3  # one entry per opening
    else:
        assert response.status_code == 404 and SECRET not in response.content.decode()
        assert opened() == [404, 404] and audit() == 0


@pytest.mark.django_db
def test_anonymous_gets_401_everywhere_and_the_pages_send_to_login(private_media):
    world = _world()
    before = _state()
    anonymous = Client()
    for method, template, body, scope in MATRIX:
        url, response = _call(anonymous, method, template, body, world.names(scope))
        assert response.status_code == 401, (method, url)
        assert _leaks(response.content.decode(), world) == []
    for method, template in [*PAGES, *TEAM_PAGES, *OWN_PAGES]:
        url = template.format(**world.names())
        response = getattr(anonymous, method)(url)
        assert response.status_code == 302 and "/login" in response["Location"], url
    assert _state() == before


@pytest.mark.django_db
def test_a_quick_reply_of_someone_else_is_404_and_stays(api_for):
    business = UserFactory(is_verified_enterprise=True)
    reply = services.quick_reply_create(owner=business, title="Hours", text="9 to 5")
    other = api_for(UserFactory(is_verified_enterprise=True))
    response = other.delete(f"/api/v1/me/quick-replies/{reply.pk}")
    assert response.status_code == 404 and "9 to 5" not in response.content.decode()
    assert "9 to 5" not in other.get("/api/v1/me/quick-replies").content.decode()
    assert api_for(business).get("/api/v1/me/quick-replies").json()["items"][0]["text"] == "9 to 5"


@pytest.mark.django_db(transaction=True)
def test_a_sockets_events_are_its_own_persons_only():
    """A's socket (by ticket) and a stranger's (by session) hear nothing of B and C's conversation: no message,
    no typing, no read, no withdrawn, no accepted; asking to resume it answers ``not_found`` and nothing else."""
    from meadow.asgi import application

    a, stranger = UserFactory(), UserFactory()
    b, c = UserFactory(), UserFactory()
    # nobody follows anybody: B's first message to C is a request, which C accepts
    conversation, _ = services.conversation_open(user=b, other=c)
    ticket, _ = services.realtime_ticket_issue(user=a)
    cookie = cookie_for(stranger)

    async def scenario():
        sa = Socket(application, "/ws/messages/", query=f"ticket={ticket}".encode())
        ss = Socket(application, "/ws/messages/", cookie=cookie)
        sc = Socket(application, "/ws/messages/", cookie=await sync_to_async(cookie_for)(c))
        assert await sa.connect() and await ss.connect() and await sc.connect()
        for s in (sa, ss, sc):
            assert (await s.receive_json())["type"] == "unread"
        message, _ = await sync_to_async(services.message_send)(
            sender=b, conversation=conversation, text=SECRET, client_id="1"
        )
        assert (await sc.next_of("message"))["message"]["text"] == SECRET  # it was sent, to C
        await sync_to_async(services.conversation_accept)(user=c, conversation=conversation)
        await sc.send_json({"type": "typing", "conversation": conversation.pk})
        await sync_to_async(services.conversation_read)(user=c, conversation=conversation, seq=1)
        await sync_to_async(services.message_unsend)(user=b, message=message)
        heard = []
        for s in (sa, ss):
            await s.send_json({"type": "resume", "after": {str(conversation.pk): 0}})
            answer = [await s.receive_json(), await s.receive_json()]
            nothing = await s.receive_nothing(timeout=0.5)
            heard.append((answer, nothing))
        for s in (sa, ss, sc):
            await s.close()
        return heard

    for answer, nothing in asyncio.run(scenario()):
        assert answer == [
            {"type": "error", "code": "not_found", "conversation": str(conversation.pk)},
            {"type": "resumed"},
        ]
        assert nothing is True


@pytest.mark.django_db(transaction=True)
def test_a_ticket_works_once_not_after_it_expires_and_not_for_a_deactivated_account(monkeypatch):
    from meadow.asgi import application

    user, gone = UserFactory(), UserFactory()
    monkeypatch.setattr(services, "TICKET_SECONDS", 1)
    expiring, seconds = services.realtime_ticket_issue(user=user)
    assert seconds == 1
    monkeypatch.undo()
    fresh, _ = services.realtime_ticket_issue(user=user)
    deactivated, _ = services.realtime_ticket_issue(user=gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    time.sleep(1.5)  # past the first ticket's lifetime (the others live a minute)

    async def attempt(ticket: str) -> bool:
        sock = Socket(application, "/ws/messages/", query=f"ticket={ticket}".encode())
        accepted = await sock.connect()
        if accepted:
            await sock.close()
        return accepted

    async def scenario():
        return [await attempt(t) for t in (expiring, fresh, fresh, deactivated, "made-up", "x" * 200)]

    assert asyncio.run(scenario()) == [False, True, False, False, False, False]
