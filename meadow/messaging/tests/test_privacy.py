"""Messages in "Download my data" and "Delete my account"."""

from __future__ import annotations

import pytest

from meadow.core.privacy import erasure_steps, export_sections
from meadow.messaging import services
from meadow.messaging.models import Message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_export_and_erasure_of_messages():
    a, b = UserFactory(), UserFactory()
    conversation, _ = services.conversation_open(user=a, other=b)
    services.message_send(sender=a, conversation=conversation, text="my words", client_id="1")
    services.message_send(sender=b, conversation=conversation, text="their words", client_id="2")
    build = dict(export_sections())["messages"]
    records = build(a).records
    assert records["conversations"][0]["with"] == [b.handle]
    assert [m["text"] for m in records["sent"]] == ["my words"]
    erase = dict(erasure_steps())["messages"]
    assert erase(a) == 2  # the message withdrawn, the daily request counter forgotten
    assert erase(a) == 0  # idempotent
    texts = dict(Message.objects.values_list("seq", "text"))
    assert texts == {1: "", 2: "their words"}
    assert Message.objects.get(seq=1).withdrawn_at is not None
