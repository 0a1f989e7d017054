"""The query budget of a send (issue #19's messages benchmark): ``POST …/messages`` answered and delivered —
access check, idempotency, blocks, posting ban, moderation, seq, insert, read state, then after commit the
message to both people's sockets and the recipient's badge — in a fixed number of queries, the same in a group
as between two people but for one badge query per recipient. A change that adds a query to every message fails
here, with the list of queries to look at."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meadow.accounts.models import Block, Follow
from meadow.messaging import services
from meadow.messaging.events import user_group
from meadow.messaging.models import Message, Participant
from meadow.messaging.presence import presence_join, presence_leave
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"

# A 1:1 send through the API, delivered, the recipient online: the bearer token and its user, the participant
# with its conversation, the client_id look-up, the other participants with their blocks, the posting ban, the
# seq (UPDATE … RETURNING), the insert, the participants' activity and read state, the recipient's badge.
SEND_BUDGET = 9


def _counted(queries) -> list[str]:
    """The statements a send runs (the test transaction's savepoints are not the send's)."""
    return [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def _listen(user_id: int) -> str:
    """A channel in ``user_id``'s group, as an open socket's (the in-memory layer of the embedded default)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user_id), channel)
    return channel


def _received(channel: str) -> list[dict]:
    """Every event waiting for ``channel``, in order."""
    layer = get_channel_layer()

    async def drain() -> list[dict]:
        got = []
        while True:
            try:
                got.append((await asyncio.wait_for(layer.receive(channel), 0.5))["event"])
            except TimeoutError:
                return got

    return async_to_sync(drain)()


@pytest.fixture
def pair(db):
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    conversation, _created = services.conversation_open(user=a, other=b)
    presence_join(user_id=b.pk)  # b has the messages page open: no notification task
    yield a, b, conversation
    presence_leave(user_id=b.pk)


def _send(client, conversation_id: int, client_id: str, captured, text: str = "hello 你好"):
    with captured(execute=True):
        return client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            {"text": text, "client_id": client_id},
            content_type=JSON,
        )


def test_a_send_and_its_delivery_stay_within_the_query_budget(
    api_for, pair, django_capture_on_commit_callbacks
):
    a, b, conversation = pair
    client = api_for(a)
    # warm: the token's first use records it (once a minute at most), not every send
    assert _send(client, conversation.pk, "warm", django_capture_on_commit_callbacks).status_code == 201
    to_a, to_b = _listen(a.pk), _listen(b.pk)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/api/v1/conversations/{conversation.pk}/messages",
            {"text": "hello 你好", "client_id": "budget-1"},
            content_type=JSON,
        )
    assert answer.status_code == 201, answer.content
    statements = _counted(queries.captured_queries)
    assert len(statements) <= SEND_BUDGET, "\n".join(statements)
    # and it did the whole job: stored with the next seq, the sender's read state moved, both people told live
    body = answer.json()
    stored = Message.objects.get(pk=body["id"])
    assert (stored.seq, stored.text, body["seq"]) == (2, "hello 你好", 2)
    assert Participant.objects.get(conversation=conversation, user=a).last_read_seq == 2
    assert Participant.objects.get(conversation=conversation, user=b).last_read_seq == 0
    for_b, for_a = _received(to_b), _received(to_a)
    assert [e["type"] for e in for_b] == ["message", "unread"]
    assert for_b[0]["message"]["seq"] == 2 and for_b[0]["message"]["images"] == []
    assert for_b[0]["message"]["sender"]["handle"] == a.handle
    assert for_b[1]["total"] == 1
    assert [e["type"] for e in for_a] == ["message"] and for_a[0]["message"] == for_b[0]["message"]


def test_a_retry_and_a_refusal_cost_less_and_change_nothing(
    api_for, pair, django_capture_on_commit_callbacks
):
    a, b, conversation = pair
    client = api_for(a)
    first = _send(client, conversation.pk, "same", django_capture_on_commit_callbacks)
    assert first.status_code == 201
    with CaptureQueriesContext(connection) as retry:
        again = client.post(
            f"/api/v1/conversations/{conversation.pk}/messages",
            {"text": "hello 你好", "client_id": "same"},
            content_type=JSON,
        )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(_counted(retry.captured_queries)) < SEND_BUDGET
    # a block refuses the send in the same one query that reads the other participants (the sender's own block
    # here: one by the other person hides the conversation from the sender, a 404 before any of this)
    Block.objects.create(blocker=a, blocked=b)
    refused = _send(client, conversation.pk, "blocked", django_capture_on_commit_callbacks)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked"
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert list(Message.objects.values_list("seq", flat=True)) == [1]


def test_a_group_send_costs_one_badge_query_per_recipient_more(api_for, django_capture_on_commit_callbacks):
    owner, *members = [UserFactory() for _ in range(5)]
    for member in members:
        Follow.objects.create(follower=member, followee=owner)
    group = services.group_create(user=owner, members=members, name="Budget")
    for member in members:
        presence_join(user_id=member.pk)
    try:
        client = api_for(owner)
        _send(client, group.pk, "warm", django_capture_on_commit_callbacks)
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            answer = client.post(
                f"/api/v1/conversations/{group.pk}/messages",
                {"text": "hello all", "client_id": "g-1"},
                content_type=JSON,
            )
        assert answer.status_code == 201, answer.content
        statements = _counted(queries.captured_queries)
        # a group also asks whether a member has not accepted it yet (a redirect never reaches them)
        assert len(statements) <= SEND_BUDGET + 1 + (len(members) - 1), "\n".join(statements)
    finally:
        for member in members:
            presence_leave(user_id=member.pk)
