"""The Messages pages without JavaScript: inbox and Requests tabs, a conversation, the send box, accept and block
on a request, the profile's Message button (respecting "who may message me" and blocks) and the nav badge."""

from __future__ import annotations

import pytest

from meadow.accounts.models import Block, Follow
from meadow.messaging import services
from meadow.messaging.models import Conversation, Message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_a_request_shows_under_requests_and_is_accepted_from_the_conversation(client):
    stranger, me = UserFactory(display_name="Stranger Lin"), UserFactory()
    conversation, _ = services.conversation_open(user=stranger, other=me)
    services.message_send(sender=stranger, conversation=conversation, text="hello from afar", client_id="1")
    signed_in(client, me)
    inbox = client.get("/messages/").content.decode()
    assert "Stranger Lin" not in inbox and 'data-testid="messages-badge"' in inbox
    requests = client.get("/messages/?box=requests").content.decode()
    assert "Stranger Lin" in requests and "hello from afar" in requests
    page = client.get(f"/messages/{conversation.pk}/").content.decode()
    assert (
        "hello from afar" in page
        and 'data-testid="dm-accept"' in page
        and 'data-testid="dm-input"' not in page
    )
    assert client.post(f"/messages/{conversation.pk}/accept/").status_code == 302
    assert Conversation.objects.get(pk=conversation.pk).state == "active"
    assert "Stranger Lin" in client.get("/messages/").content.decode()
    # the send box without JavaScript
    client.post(f"/messages/{conversation.pk}/send/", {"text": "welcome", "client_id": "abc"})
    client.post(
        f"/messages/{conversation.pk}/send/", {"text": "welcome", "client_id": "abc"}
    )  # a double post
    assert list(Message.objects.filter(sender=me).values_list("text", flat=True)) == ["welcome"]


def test_blocking_from_a_request(client):
    stranger, me = UserFactory(), UserFactory()
    conversation, _ = services.conversation_open(user=stranger, other=me)
    services.message_send(sender=stranger, conversation=conversation, text="buy now", client_id="1")
    signed_in(client, me)
    assert client.post(f"/messages/{conversation.pk}/block/").status_code == 302
    assert Block.objects.filter(blocker=me, blocked=stranger).exists()
    assert "buy now" not in client.get("/messages/?box=requests").content.decode()
    client.force_login(stranger)
    assert client.get(f"/messages/{conversation.pk}/").status_code == 404


def test_the_profile_message_button_respects_policy_and_blocks(client):
    me, other = UserFactory(), UserFactory()
    signed_in(client, me)
    assert 'data-testid="message-button"' in client.get(f"/@{other.handle}/").content.decode()
    other.message_policy = "nobody"
    other.save()
    assert 'data-testid="message-button"' not in client.get(f"/@{other.handle}/").content.decode()
    other.message_policy = "following"
    other.save()
    assert 'data-testid="message-button"' not in client.get(f"/@{other.handle}/").content.decode()
    Follow.objects.create(follower=other, followee=me)
    assert 'data-testid="message-button"' in client.get(f"/@{other.handle}/").content.decode()
    response = client.post(f"/@{other.handle}/message/")
    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/{conversation.pk}/"
    Block.objects.create(blocker=me, blocked=other)
    assert 'data-testid="message-button"' not in client.get(f"/@{other.handle}/").content.decode()


def test_someone_elses_conversation_page_is_404(client):
    a, b, snoop = UserFactory(), UserFactory(), UserFactory()
    conversation, _ = services.conversation_open(user=a, other=b)
    signed_in(client, snoop)
    for url in ("", "send/", "accept/", "delete/", "block/", "mute/"):
        method = client.get if not url else client.post
        assert method(f"/messages/{conversation.pk}/{url}").status_code == 404
    assert not Block.objects.exists() and Conversation.objects.get().state == "request"
    client.logout()
    assert client.get(f"/messages/{conversation.pk}/").status_code == 302


def test_the_nav_badge_counts_unread_conversations(client):
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=b, followee=a)
    conversation, _ = services.conversation_open(user=a, other=b)
    services.message_send(sender=a, conversation=conversation, text="hi", client_id="1")
    signed_in(client, b)
    page = client.get("/").content.decode()
    assert 'data-messages-badge data-testid="messages-badge">1<' in page
    client.get(f"/messages/{conversation.pk}/")  # opening it reads it
    assert 'data-testid="messages-badge" hidden>0<' in client.get("/").content.decode()
