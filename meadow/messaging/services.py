"""Every write about messages: open a conversation (or a request), send, accept, read, unsend, delete for me,
mute — and the realtime ticket. Rules (PRODUCT.md §8, issue #19):

* A first message from someone the recipient does not follow is a **request**: it lands in the recipient's
  Requests box; its sender may send ``REQUEST_MESSAGES_MAX`` messages until the recipient accepts (replying
  accepts too), and never learns whether they were read.
* "Who may message me" (everyone / people I follow / nobody) is checked when a conversation is opened (403
  ``not_allowed``); a block either way refuses opening and sending (403 ``blocked``) and hides the
  conversation from the blocked person.
* New accounts open at most ``MEADOW_MESSAGE_REQUESTS_PER_DAY`` requests a day (a conditional UPDATE).
* Every message passes the moderation engine with field ``dm`` and the sender's account kind before it is
  stored: ``block`` refuses it (400 ``moderation_blocked`` with the findings); in a request, any redirect hit
  refuses it whatever the table says; ``review`` stores and delivers it, held in the review queue like a
  comment (docs/architecture.md, "Messages").
* Store first, then deliver: ``seq`` comes from a conditional update of the conversation's counter in the
  insert's transaction; a repeated ``client_id`` returns the stored message; events go to the channel layer
  after commit; a person with no open socket gets a notification (once per unread run).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import Follow, User
from meadow.accounts.selectors import is_blocked_between
from meadow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from meadow.core.tasks import enqueue
from meadow.core.text import visible_length
from meadow.enforcement.services import (
    ModerationBlocked,
    enforcement_assert_can_post,
    enforcement_check_text,
    enforcement_hold,
)
from meadow.messaging.cards import card_clean, card_for_reader
from meadow.messaging.events import event_send, events_send
from meadow.messaging.models import (
    Conversation,
    Message,
    Participant,
    QuickReply,
    RequestAllowance,
    activity_key_now,
)
from meadow.messaging.shapes import message_data

MESSAGE_MAX = 2000  # characters as a person counts them
CLIENT_ID_MAX = 64
REQUEST_MESSAGES_MAX = 2  # the first message and one more, until the recipient accepts
TICKET_SECONDS = 60


class Blocked(PermissionDenied):
    code = "blocked"


def _follows(*, follower: User, followee: User) -> bool:
    return Follow.objects.filter(follower=follower, followee=followee, status=Follow.Status.ACTIVE).exists()


def _pair_key(a: User, b: User) -> str:
    low, high = sorted((a.pk, b.pk))
    return f"{low}:{high}"


def _is_new_account(user: User) -> bool:
    if user.is_verified_enterprise or user.is_staff:
        return False
    return user.date_joined > timezone.now() - timedelta(days=settings.MEADOW_MESSAGE_NEW_ACCOUNT_DAYS)


def _request_allowance_take(user: User) -> None:
    """Count one request opened today by a new account; 429 ``request_limit`` past the daily limit (a
    conditional UPDATE, so two opens at once cannot both take the last one)."""
    if not _is_new_account(user):
        return
    today = timezone.now().date()
    limit = settings.MEADOW_MESSAGE_REQUESTS_PER_DAY
    RequestAllowance.objects.bulk_create([RequestAllowance(user=user, day=today)], ignore_conflicts=True)
    taken = RequestAllowance.objects.filter(user=user, day=today, opened__lt=limit).update(
        opened=F("opened") + 1
    )
    if not taken:
        error = PermissionDenied(
            _("New accounts can start %(count)d conversations with strangers a day. Try again tomorrow.")
            % {"count": limit},
            code="request_limit",
        )
        error.status = 429
        raise error


def conversation_open(*, user: User, other: User) -> tuple[Conversation, bool]:
    """The one-to-one conversation of ``user`` with ``other``, opened if new (then ``True``). A new one is a
    request when ``other`` does not follow ``user``."""
    if other.pk == user.pk:
        raise ValidationFailed(_("You cannot message yourself."), field="with", code="self")
    if not other.is_active:
        raise NotFound(_("This account does not exist."), field="with")
    if is_blocked_between(a=user, b=other):
        raise Blocked(_("You cannot message this account."))
    existing = Conversation.objects.filter(pair_key=_pair_key(user, other)).first()
    if existing is not None:
        return existing, False
    other_follows = _follows(follower=other, followee=user)
    policy = other.message_policy
    if policy == User.MessagePolicy.NOBODY or (policy == User.MessagePolicy.FOLLOWING and not other_follows):
        raise PermissionDenied(_("This account does not accept messages from you."), code="not_allowed")
    is_request = not other_follows
    now = timezone.now()
    try:
        with transaction.atomic():
            if is_request:
                _request_allowance_take(user)
            key = activity_key_now()
            conversation = Conversation.objects.create(
                pair_key=_pair_key(user, other),
                created_by=user,
                state=Conversation.State.REQUEST if is_request else Conversation.State.ACTIVE,
                opened_as_request=is_request,
                activity_key=key,
                created_at=now,
                accepted_at=None if is_request else now,
            )
            Participant.objects.bulk_create(
                [
                    Participant(conversation=conversation, user=user, activity_key=key),
                    Participant(
                        conversation=conversation,
                        user=other,
                        activity_key=key,
                        state=Participant.State.REQUEST if is_request else Participant.State.INBOX,
                    ),
                ]
            )
    except IntegrityError:  # the other person opened it a moment ago
        return Conversation.objects.get(pair_key=_pair_key(user, other)), False
    return conversation, True


def _participant(conversation: Conversation, user: User) -> Participant:
    found = Participant.objects.filter(conversation=conversation, user=user).first()
    if found is None:
        raise NotFound(_("This conversation does not exist."))
    return found


def _others(conversation: Conversation, user: User) -> list[int]:
    return list(
        Participant.objects.filter(conversation=conversation)
        .exclude(user_id=user.pk)
        .values_list("user_id", flat=True)
    )


def _next_seq(conversation_id: int, key: int) -> int:
    """Take the next sequence number: read the counter, then raise it only if nobody else did meanwhile
    (``UPDATE … WHERE last_seq = n``); a lost race reads again. Runs inside the insert's transaction, so a
    rolled-back insert gives its number back."""
    for _attempt in range(100):
        current = Conversation.objects.filter(pk=conversation_id).values_list("last_seq", flat=True).get()
        if Conversation.objects.filter(pk=conversation_id, last_seq=current).update(
            last_seq=current + 1, activity_key=key
        ):
            return current + 1
    raise Conflict(_("This conversation is busy. Please try again."), code="busy")


def message_send(
    *, sender: User, conversation: Conversation, text: str, client_id: str, card: dict[str, Any] | None = None
) -> tuple[Message, bool]:
    """Store a message and deliver it after commit. Returns ``(message, created)``: a ``client_id`` this sender
    already used in this conversation returns the stored message and ``False`` (a retry never doubles)."""
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > CLIENT_ID_MAX:
        raise ValidationFailed(
            _("client_id is 1 to %(max)d characters.") % {"max": CLIENT_ID_MAX}, field="client_id"
        )
    me = _participant(conversation, sender)
    existing = Message.objects.filter(conversation=conversation, sender=sender, client_id=client_id).first()
    if existing is not None:
        return existing, False
    text = (text or "").strip()
    card = card_clean(card, sender=sender)
    if not text and card is None:
        raise ValidationFailed(_("Write something first."), field="text", code="required")
    if visible_length(text) > MESSAGE_MAX:
        raise ValidationFailed(
            _("A message has at most %(max)d characters.") % {"max": MESSAGE_MAX},
            field="text",
            code="too_long",
        )
    other_ids = _others(conversation, sender)
    others = list(User.objects.filter(pk__in=other_ids))
    if any(is_blocked_between(a=sender, b=other) for other in others):
        raise Blocked(_("You cannot message this account."))
    enforcement_assert_can_post(user=sender)
    conversation.refresh_from_db(fields=["state", "created_by", "last_seq"])
    is_request = conversation.state == Conversation.State.REQUEST
    if is_request and conversation.created_by_id == sender.pk:
        sent = Message.objects.filter(conversation=conversation, sender=sender).count()
        if sent >= REQUEST_MESSAGES_MAX:
            raise PermissionDenied(
                _("You can send more once they accept your message request."), code="request_pending"
            )
    screening = None
    if text:
        try:
            screening = enforcement_check_text(
                user=sender,
                text=text,
                field="dm",
                error_field="text",
                target=conversation,
                # a redirect to someone who has not accepted the conversation is never delivered
                block_categories=frozenset({"redirect"}) if is_request else frozenset(),
            )
        except ModerationBlocked as exc:
            words = ", ".join(f"“{h['match']}”" for h in exc.moderation["hits"][:5])
            raise ModerationBlocked(
                _("This message was not sent: rewrite %(words)s.") % {"words": words},
                moderation=exc.moderation,
                field="text",
            ) from exc
    try:
        with transaction.atomic():
            if is_request and me.state == Participant.State.REQUEST:
                _accept(conversation=conversation, participant=me)  # replying to a request accepts it
            key = activity_key_now()
            seq = _next_seq(conversation.pk, key)
            message = Message.objects.create(
                conversation=conversation, seq=seq, sender=sender, client_id=client_id, text=text, card=card
            )
            Participant.objects.filter(conversation=conversation).update(activity_key=key)
            # one's own message is read; writing also reads what came before it
            Participant.objects.filter(pk=me.pk).update(last_read_seq=Greatest(F("last_read_seq"), seq))
            enforcement_hold(obj=message, account=sender, screening=screening)
            _forget_badges(other_ids)
            message_id = message.pk
            transaction.on_commit(lambda: _deliver(message_id))
    except IntegrityError:
        existing = Message.objects.filter(
            conversation=conversation, sender=sender, client_id=client_id
        ).first()
        if existing is None:
            raise
        return existing, False
    message.sender = sender
    return message, True


def _deliver(message_id: int) -> None:
    """After commit: the message to every participant's sockets; a notification for whoever has none open."""
    message = Message.objects.select_related("sender").filter(pk=message_id).first()
    if message is None:
        return
    user_ids = list(
        Participant.objects.filter(conversation_id=message.conversation_id).values_list("user_id", flat=True)
    )
    data = message_data(message)
    readers = User.objects.in_bulk(user_ids) if message.card else {}
    events: list[tuple[int, dict[str, Any]]] = []
    for user_id in user_ids:
        # a card reads as each person may see it (a note one of them may not see is "unavailable")
        shown = (
            {**data, "card": card_for_reader(message.card, reader=readers[user_id])} if message.card else data
        )
        events.append((user_id, {"type": "message", "message": shown}))
    recipients = [u for u in user_ids if u != message.sender_id]
    # the message first, then each recipient's new badge: one hop to the channel layer for all of them
    events += _badge_events(user_ids=recipients)
    events_send(events)
    for user_id in recipients:
        enqueue_notify(message_id=message.pk, recipient_id=user_id)


def enqueue_notify(*, message_id: int, recipient_id: int) -> None:
    from meadow.messaging.tasks import message_notify

    enqueue(message_notify, message_id=message_id, recipient_id=recipient_id)


def _forget_badges(user_ids: list[int]) -> None:
    """Forget the cached badges at once (and again after commit, in ``_badges_changed``), as notifications do."""
    from meadow.messaging.selectors import unread_key

    cache.delete_many([unread_key(user_id) for user_id in user_ids])


def _badges_changed(*, user_ids: list[int]) -> None:
    """After a commit: forget the cached badge and push the new count to the person's sockets."""
    events_send(_badge_events(user_ids=user_ids))


def _badge_events(*, user_ids: list[int]) -> list[tuple[int, dict[str, Any]]]:
    """Forget each person's cached badge and compute the new one (the ``unread`` event to send)."""
    from meadow.messaging.selectors import messages_unread_total, unread_key

    cache.delete_many([unread_key(user_id) for user_id in user_ids])
    return [
        (user_id, {"type": "unread", "total": messages_unread_total(user_id=user_id)}) for user_id in user_ids
    ]


def _accept(*, conversation: Conversation, participant: Participant) -> None:
    Conversation.objects.filter(pk=conversation.pk, state=Conversation.State.REQUEST).update(
        state=Conversation.State.ACTIVE, accepted_at=timezone.now()
    )
    Participant.objects.filter(pk=participant.pk).update(state=Participant.State.INBOX)
    conversation.state = Conversation.State.ACTIVE
    participant.state = Participant.State.INBOX


def conversation_accept(*, user: User, conversation: Conversation) -> Conversation:
    """Accept a message request: it moves to the inbox, its sender may write freely and sees read state."""
    participant = _participant(conversation, user)
    if participant.state != Participant.State.REQUEST:
        return conversation
    with transaction.atomic():
        _accept(conversation=conversation, participant=participant)
        others = _others(conversation, user)
        conversation_id = conversation.pk
        transaction.on_commit(
            lambda: event_send(
                user_ids=[user.pk, *others], event={"type": "accepted", "conversation": conversation_id}
            )
        )
    return conversation


def conversation_read(*, user: User, conversation: Conversation, seq: int) -> int:
    """Mark the conversation read up to ``seq`` (never backwards, never past its last message). The other
    person hears of it ("Seen") unless this is a request not yet accepted. Returns the read seq."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        raise ValidationFailed(_("seq is a message's sequence number."), field="seq")
    participant = _participant(conversation, user)
    conversation.refresh_from_db(fields=["last_seq", "state"])
    seq = min(seq, conversation.last_seq)
    with transaction.atomic():
        moved = Participant.objects.filter(pk=participant.pk, last_read_seq__lt=seq).update(last_read_seq=seq)
        if moved:
            _forget_badges([user.pk])
            others = _others(conversation, user)
            conversation_id, user_id, handle = conversation.pk, user.pk, user.handle
            tell_others = participant.state != Participant.State.REQUEST
            event = {"type": "read", "conversation": conversation_id, "reader": handle, "seq": seq}

            def after() -> None:
                event_send(user_ids=[user_id, *(others if tell_others else [])], event=event)
                _badges_changed(user_ids=[user_id])

            transaction.on_commit(after)
    return max(seq, participant.last_read_seq)


def message_unsend(*, user: User, message: Message) -> Message:
    """Unsend one's own message within ``MEADOW_MESSAGE_UNSEND_SECONDS``: the text is erased and readers see
    "message withdrawn" in its place."""
    if message.sender_id != user.pk:
        raise PermissionDenied(_("You can only unsend your own messages."))
    if message.withdrawn_at is not None:
        return message
    window = timedelta(seconds=settings.MEADOW_MESSAGE_UNSEND_SECONDS)
    now = timezone.now()
    if now - message.created_at > window:
        raise PermissionDenied(_("Messages can be unsent for 2 minutes after sending."), code="too_late")
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=now, text="", card=None
        )
        message.refresh_from_db()
        user_ids = list(
            Participant.objects.filter(conversation_id=message.conversation_id).values_list(
                "user_id", flat=True
            )
        )
        data = message_data(message)
        transaction.on_commit(
            lambda: event_send(user_ids=user_ids, event={"type": "withdrawn", "message": data})
        )
    return message


def conversation_delete_for_me(*, user: User, conversation: Conversation) -> None:
    """Delete the conversation for oneself: its messages so far are gone for ``user`` and it leaves their lists
    until a new message arrives. The other person keeps theirs. Deleting a request declines it."""
    participant = _participant(conversation, user)
    conversation.refresh_from_db(fields=["last_seq"])
    Participant.objects.filter(pk=participant.pk).update(
        deleted_before_seq=Greatest(F("deleted_before_seq"), conversation.last_seq),
        last_read_seq=Greatest(F("last_read_seq"), conversation.last_seq),
    )
    _forget_badges([user.pk])
    transaction.on_commit(lambda: _badges_changed(user_ids=[user.pk]))


def conversation_mute(*, user: User, conversation: Conversation, muted: bool) -> None:
    """Mute (no notifications, not in the badge) or unmute a conversation for oneself."""
    participant = _participant(conversation, user)
    Participant.objects.filter(pk=participant.pk).update(muted=bool(muted))
    _forget_badges([user.pk])
    transaction.on_commit(lambda: _badges_changed(user_ids=[user.pk]))


def typing_send(*, user: User, conversation: Conversation) -> None:
    """Tell the other person that ``user`` is typing (nothing stored)."""
    participant = _participant(conversation, user)
    if conversation.state == Conversation.State.REQUEST and participant.state == Participant.State.REQUEST:
        return  # reading a request quietly: its sender does not learn it was opened
    others = _others(conversation, user)
    if any(is_blocked_between(a=user, b=other) for other in User.objects.filter(pk__in=others)):
        return  # a block either way: like a message, no typing goes through
    event_send(
        user_ids=others,
        event={"type": "typing", "conversation": conversation.pk, "who": user.handle},
    )


# --- realtime tickets ------------------------------------------------------------------------------------------
def _ticket_key(ticket: str) -> str:
    return f"messaging:ticket:{ticket}"


def realtime_ticket_issue(*, user: User) -> tuple[str, int]:
    """A short-lived, single-use ticket for an API client's WebSocket (``/ws/messages/?ticket=…``)."""
    ticket = secrets.token_urlsafe(32)
    cache.set(_ticket_key(ticket), user.pk, timeout=TICKET_SECONDS)
    return ticket, TICKET_SECONDS


def realtime_ticket_redeem(*, ticket: str) -> User | None:
    """The active account a ticket was issued to, once; ``None`` for an unknown, used or expired ticket."""
    if not ticket or len(ticket) > 100:
        return None
    key = _ticket_key(ticket)
    user_id = cache.get(key)
    if user_id is None or not cache.delete(key):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


# --- the business inbox: quick replies ----------------------------------------------------------------------------
QUICK_REPLY_TITLE_MAX = 40
QUICK_REPLIES_MAX = 30


def quick_reply_create(*, owner: User, title: str, text: str) -> QuickReply:
    """Save an answer a verified business sends often (403 ``not_verified`` for anyone else). The text is
    checked when it is sent, like any message."""
    if not owner.is_verified_enterprise:
        raise PermissionDenied(_("Quick replies are for verified businesses."), code="not_verified")
    title, text = (title or "").strip(), (text or "").strip()
    if not title or len(title) > QUICK_REPLY_TITLE_MAX:
        raise ValidationFailed(
            _("A title has 1 to %(max)d characters.") % {"max": QUICK_REPLY_TITLE_MAX}, field="title"
        )
    if not text:
        raise ValidationFailed(_("Write something first."), field="text", code="required")
    if visible_length(text) > MESSAGE_MAX:
        raise ValidationFailed(
            _("A message has at most %(max)d characters.") % {"max": MESSAGE_MAX},
            field="text",
            code="too_long",
        )
    with transaction.atomic():
        # count under the owner's row lock, so two saves at once cannot both pass the limit
        User.objects.select_for_update().filter(pk=owner.pk).first()
        if QuickReply.objects.filter(owner=owner).count() >= QUICK_REPLIES_MAX:
            raise Conflict(  # a state of the data, not bad input: 409
                _("You can keep at most %(max)d quick replies.") % {"max": QUICK_REPLIES_MAX}, code="too_many"
            )
        return QuickReply.objects.create(owner=owner, title=title, text=text)


def quick_reply_delete(*, owner: User, reply_id: int) -> None:
    deleted, _n = QuickReply.objects.filter(owner=owner, pk=reply_id).delete()
    if not deleted:
        raise NotFound(_("Not found."))
