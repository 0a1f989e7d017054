"""Never lose or double a message under concurrency (PostgreSQL, real transactions): two people send 20 messages
each at once, and every sender retries each send with the same client_id from a second thread — the sequence is
1..40 with no gap and no duplicate, each client_id stored once, and each retry got the stored message back."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from meadow.accounts.models import Follow
from meadow.messaging import services
from meadow.messaging.models import Conversation, Message
from tests.factories import UserFactory

PER_PERSON = 20


@pytest.mark.skipif(
    not os.environ.get("MEADOW_TEST_POSTGRES"), reason="needs PostgreSQL (MEADOW_TEST_POSTGRES)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_and_retries_keep_one_gapless_sequence():
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    conversation, _ = services.conversation_open(user=a, other=b)
    jobs = [
        (sender, f"{sender.handle}-{i}") for sender in (a, b) for i in range(PER_PERSON)
    ] * 2  # each sent twice
    barrier = threading.Barrier(8)
    results: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(job) -> None:
        sender, client_id = job
        try:
            with contextlib.suppress(threading.BrokenBarrierError):  # rounds of 8 sends start together
                barrier.wait(timeout=0.5)
            found = Conversation.objects.get(pk=conversation.pk)
            message, _created = services.message_send(
                sender=sender, conversation=found, text=client_id, client_id=client_id
            )
            with lock:
                results.append((client_id, message.pk))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, jobs))
    assert not errors, errors
    seqs = sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, 2 * PER_PERSON + 1))
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 2 * PER_PERSON
    by_client: dict[str, set[int]] = {}
    for client_id, pk in results:
        by_client.setdefault(client_id, set()).add(pk)
    assert len(by_client) == 2 * PER_PERSON and all(len(ids) == 1 for ids in by_client.values())


@pytest.mark.skipif(
    not os.environ.get("MEADOW_TEST_POSTGRES"), reason="needs PostgreSQL (MEADOW_TEST_POSTGRES)"
)
@pytest.mark.django_db(transaction=True)
def test_a_stranger_sending_at_once_cannot_pass_the_request_limit():
    """Eight sends of one request started together: only REQUEST_MESSAGES_MAX are stored, the rest are refused
    with ``request_pending`` (the count was once made before the sends took their seq, and five got through)."""
    from meadow.core.errors import PermissionDenied

    stranger, recipient = UserFactory(), UserFactory()
    conversation, _ = services.conversation_open(user=stranger, other=recipient)
    assert conversation.state == Conversation.State.REQUEST
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            found = Conversation.objects.get(pk=conversation.pk)
            services.message_send(sender=stranger, conversation=found, text=f"hello {i}", client_id=f"c{i}")
            outcomes.append("sent")
        except PermissionDenied as exc:
            outcomes.append(exc.code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert not errors, errors
    assert sorted(outcomes) == ["request_pending"] * 6 + ["sent"] * 2
    assert Message.objects.filter(conversation=conversation).count() == services.REQUEST_MESSAGES_MAX
    assert sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True)) == [1, 2]
