"""Every write about messages: open a conversation (or a request), send, accept, read, unsend, delete for me,
mute — and the realtime ticket. Rules (PRODUCT.md §8, issue #19):

* A first message from someone the recipient does not follow is a **request**: it lands in the recipient's
  Requests box; its sender may send ``REQUEST_MESSAGES_MAX`` messages until the recipient accepts (replying
  accepts too), and never learns whether they were read.
* "Who may message me" (everyone / people I follow / nobody) is checked when a conversation is opened (403
  ``not_allowed``); a block either way refuses opening and sending (403 ``blocked``) and hides the
  conversation from the blocked person.
* New accounts open at most ``MEADOW_MESSAGE_REQUESTS_PER_DAY`` requests a day (a conditional UPDATE); each
  stranger (someone who does not follow them) they put in a group, at creation or later, counts as one.
* Every message passes the moderation engine with field ``dm`` and the sender's account kind before it is
  stored: ``block`` refuses it (400 ``moderation_blocked`` with the findings); in a request, any redirect hit
  refuses it whatever the table says; ``review`` stores and delivers it, held in the review queue like a
  comment (docs/architecture.md, "Messages").
* **Groups** (``group_create``): 3 to ``MEADOW_MESSAGE_GROUP_MAX`` people with a name; every invitee's "who may
  message me" is checked against the person adding them and a block either way between an invitee and the
  person adding them refuses the invitee (403 ``blocked`` / ``not_allowed``, naming them); a block between two
  members hides nothing of the group and stops nobody writing in it (it stops direct messages between them); an invitee who does not follow the adder finds the
  group in their Requests box. The creator is the admin; admins add and remove members, anyone may leave (the
  earliest member becomes admin when the last admin leaves; someone who left and is added back finds the group
  in Requests again, whoever adds them). A removed or departed member's ``Participant`` row is
  deleted, so every read and write answers them 404 from then on. New members see the messages sent after they
  joined.
* **Images** (``messaging/media.py``): re-encoded by the notes pipeline and scanned (QR redirect, explicit
  content) before anything is stored; a flagged image refuses the message (400 ``image_refused``).
* Store first, then deliver: ``seq`` comes from a conditional update of the conversation's counter in the
  insert's transaction; a repeated ``client_id`` returns the stored message; events go to the channel layer
  after commit; a person with no open socket gets a notification (once per unread run).
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import Follow, User
from meadow.accounts.selectors import is_blocked_between
from meadow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from meadow.core.tasks import enqueue
from meadow.core.text import refuse_spoofing, visible_length
from meadow.enforcement.services import (
    ModerationBlocked,
    enforcement_assert_can_post,
    enforcement_check_text,
    enforcement_hold,
    enforcement_record_refused_image,
)
from meadow.messaging.cards import card_clean, card_for_reader
from meadow.messaging.events import event_send, events_send
from meadow.messaging.media import ImageRefused, images_delete, images_prepare, images_store
from meadow.messaging.models import (
    AwayMessage,
    Conversation,
    GroupDeparture,
    Message,
    MessageImage,
    Participant,
    QuickReply,
    RequestAllowance,
    TeamMember,
    activity_key_now,
)
from meadow.messaging.presence import presence_online_many
from meadow.messaging.selectors import others_with_blocks
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


def _request_allowance_take(user: User, count: int = 1) -> None:
    """Count ``count`` requests opened today by a new account (a conversation with a stranger, or each stranger put
    in a group); 429 ``request_limit`` past the daily limit (a conditional UPDATE, so two opens at once cannot both
    take the last one, and a group never takes part of what it needs)."""
    if count <= 0 or not _is_new_account(user):
        return
    today = timezone.now().date()
    limit = settings.MEADOW_MESSAGE_REQUESTS_PER_DAY
    RequestAllowance.objects.bulk_create([RequestAllowance(user=user, day=today)], ignore_conflicts=True)
    taken = RequestAllowance.objects.filter(user=user, day=today, opened__lte=limit - count).update(
        opened=F("opened") + count
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


def _participant_fresh(conversation: Conversation, user: User) -> Participant:
    """``user``'s participant row and, read in the same query, the conversation's state as committed now (copied
    onto ``conversation``: the caller's object may be older than a concurrent accept)."""
    found = (
        Participant.objects.select_related("conversation")
        .filter(conversation=conversation, user=user)
        .first()
    )
    if found is None:
        raise NotFound(_("This conversation does not exist."))
    for field in ("state", "created_by_id", "last_seq", "kind"):
        setattr(conversation, field, getattr(found.conversation, field))
    return found


def _others(conversation: Conversation, user: User) -> list[int]:
    return list(
        Participant.objects.filter(conversation=conversation)
        .exclude(user_id=user.pk)
        .values_list("user_id", flat=True)
    )


def _next_seq(conversation_id: int, key: int) -> int:
    """Take the next sequence number in one statement: ``UPDATE … SET last_seq = last_seq + 1 … RETURNING
    last_seq`` (PostgreSQL and SQLite ≥ 3.35; the ORM's update() returns no row). The row stays locked until the
    insert's transaction ends, so concurrent sends in one conversation take consecutive numbers in commit order,
    and a rolled-back insert gives its number back. (It was a read, then ``UPDATE … WHERE last_seq = n`` retried
    on a lost race: two queries a send, and a retry storm when a conversation is busy.)"""
    table = connection.ops.quote_name(Conversation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1, activity_key = %s WHERE id = %s RETURNING last_seq",
            [key, conversation_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("This conversation does not exist."))
    return int(row[0])


RESERVED_CLIENT_IDS = ("ask:", "away:")  # the "Ask" button's card and the away message's automatic reply


def message_send(
    *,
    sender: User,
    conversation: Conversation,
    text: str,
    client_id: str,
    card: dict[str, Any] | None = None,
    sent_by: User | None = None,
    ask: bool = False,
    images: list[Any] | None = None,
    participant: Participant | None = None,
) -> tuple[Message, bool]:
    """Store a message and deliver it after commit. Returns ``(message, created)``: a ``client_id`` this sender
    already used in this conversation returns the stored message and ``False`` (a retry never doubles).
    ``sent_by``: the team member who wrote it for the business ``sender``; ``ask``: the "Ask" button's card
    (``client_id`` "ask:<type>:<id>"), which does not count against a request's two messages. ``images`` are
    uploaded files: validated, re-encoded and scanned before anything is stored. ``participant``: the
    sender's row with ``conversation`` as ``selectors.participant_get`` read them in this request (else read here)."""
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > CLIENT_ID_MAX:
        raise ValidationFailed(
            _("client_id is 1 to %(max)d characters.") % {"max": CLIENT_ID_MAX}, field="client_id"
        )
    if not ask and client_id.startswith(RESERVED_CLIENT_IDS):
        raise ValidationFailed(
            _("client_id may not start with “ask:” or “away:”."), field="client_id", code="reserved"
        )
    if (
        participant is not None
        and participant.user_id == sender.pk
        and participant.conversation_id == conversation.pk
        and participant.conversation is conversation
    ):
        me = participant
    else:
        me = _participant_fresh(conversation, sender)  # and the conversation's state as committed now
    existing = Message.objects.filter(conversation=conversation, sender=sender, client_id=client_id).first()
    if existing is not None:
        return existing, False
    text = refuse_spoofing((text or "").strip(), field="text")
    card = card_clean(card, sender=sender)
    images = list(images or [])
    if not text and card is None and not images:
        raise ValidationFailed(_("Write something first."), field="text", code="required")
    if visible_length(text) > MESSAGE_MAX:
        raise ValidationFailed(
            _("A message has at most %(max)d characters.") % {"max": MESSAGE_MAX},
            field="text",
            code="too_long",
        )
    others = others_with_blocks(conversation_id=conversation.pk, user=sender)  # one query, blocks included
    other_ids = [other.pk for other in others]
    # a block between two members of a group does not stop the group; a team member blocked by the customer
    # (or who blocked them) does not answer them as the business
    direct = conversation.kind == Conversation.Kind.DIRECT
    if direct and (
        any(other.blocked for other in others)  # type: ignore[attr-defined]  # annotated by the selector
        or (sent_by is not None and any(is_blocked_between(a=sent_by, b=other) for other in others))
    ):
        raise Blocked(_("You cannot message this account."))
    enforcement_assert_can_post(user=sender)
    if sent_by is not None:  # a team member under a posting ban does not write for the business either
        enforcement_assert_can_post(user=sent_by)
    is_request = conversation.state == Conversation.State.REQUEST
    request_pending = False
    if conversation.kind == Conversation.Kind.GROUP:
        # a redirect never reaches a member who has not accepted the group yet
        is_request = (
            Participant.objects.filter(conversation=conversation, state=Participant.State.REQUEST)
            .exclude(user_id=sender.pk)
            .exists()
        )
    else:
        request_pending = is_request and conversation.created_by_id == sender.pk and not ask
    if request_pending:
        _request_messages_check(conversation=conversation, sender=sender)  # early: before moderation's work
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
        prepared = images_prepare(images) if images else []
    except ImageRefused as exc:  # like a refused text: a blocked attempt on the enforcement ladder
        enforcement_record_refused_image(
            user=sender, field="dm", category=exc.reason, digest=exc.digest, target=conversation
        )
        raise
    saved: list[str] = []
    try:
        names = images_store(prepared, saved=saved)
        with transaction.atomic():
            if me.state == Participant.State.REQUEST:
                _accept(conversation=conversation, participant=me)  # replying to a request accepts it
            key = activity_key_now()
            seq = _next_seq(conversation.pk, key)
            if request_pending:
                # Counted again once this send holds the conversation's counter: every send that took a lower
                # seq has committed by now, so sends at once cannot all pass the count made above (the refusal
                # rolls back and gives the seq back).
                _request_messages_check(conversation=conversation, sender=sender)
            message = Message.objects.create(
                conversation=conversation,
                seq=seq,
                sender=sender,
                client_id=client_id,
                text=text,
                card=card,
                sent_by=sent_by,
            )
            stored = MessageImage.objects.bulk_create(
                [
                    MessageImage(message=message, position=i, file=name, width=p.width, height=p.height)
                    for i, (name, p) in enumerate(zip(names, prepared, strict=True))
                ]
            )
            # every participant's activity moves, and (one UPDATE) one's own message is read; writing also reads
            # what came before it
            Participant.objects.filter(conversation=conversation).update(
                activity_key=key,
                last_read_seq=Case(
                    When(pk=me.pk, then=Greatest(F("last_read_seq"), Value(seq))),
                    default=F("last_read_seq"),
                ),
            )
            enforcement_hold(obj=message, account=sender, screening=screening)
            _forget_badges(other_ids)
            message.sender = sender
            # the images are known: the answer and the delivery read none again (as prefetch_related fills it)
            images_known = message.images.all()
            images_known._result_cache = stored
            images_known._prefetch_done = True  # type: ignore[attr-defined]
            message._prefetched_objects_cache = {"images": images_known}  # type: ignore[attr-defined]
            delivered, user_ids = message, [sender.pk, *other_ids]
            transaction.on_commit(lambda: _deliver(delivered.pk, message=delivered, user_ids=user_ids))
    except IntegrityError:
        images_delete(saved)
        existing = Message.objects.filter(
            conversation=conversation, sender=sender, client_id=client_id
        ).first()
        if existing is None:
            raise
        return existing, False
    except BaseException:
        images_delete(saved)  # nothing of a refused or failed send stays behind
        raise
    message.sender = sender
    for other in others:
        _away_reply(conversation=conversation, business=other, customer=sender)
    return message, True


def _request_messages_check(*, conversation: Conversation, sender: User) -> None:
    """403 ``request_pending`` when the sender of a request not accepted yet has sent all they may."""
    sent = (
        Message.objects.filter(conversation=conversation, sender=sender, automatic=False)
        .exclude(client_id__startswith="ask:", text="")  # an Ask button's card alone is not one of the two
        .count()
    )
    if sent >= REQUEST_MESSAGES_MAX:
        raise PermissionDenied(
            _("You can send more once they accept your message request."), code="request_pending"
        )


def _deliver(message_id: int, *, message: Message | None = None, user_ids: list[int] | None = None) -> None:
    """After commit: the message to every participant's sockets, then each recipient's new badge; a
    notification for whoever has none open. ``message`` (with its sender and images) and ``user_ids`` (its
    participants) are what the sending transaction just stored: passed, they are not read again."""
    if message is None:
        message = Message.objects.select_related("sender").filter(pk=message_id).first()
        if message is None:
            return
    if user_ids is None:
        user_ids = list(
            Participant.objects.filter(conversation_id=message.conversation_id).values_list(
                "user_id", flat=True
            )
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
    # the message leaves first (its latency is what a reader waits for), then the badges, which take a query each
    events_send(events)
    events_send(_badge_events(user_ids=recipients))
    if message.system:
        return  # a system line (a group renamed) notifies nobody
    # a recipient with a socket open saw it there: no task is queued for them (the task checks again)
    online = presence_online_many(user_ids=recipients)
    for user_id in recipients:
        if user_id not in online:
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
    if message.sender_id != user.pk or message.system:
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
        names = list(MessageImage.objects.filter(message=message).values_list("file", flat=True))
        MessageImage.objects.filter(message=message).delete()
        transaction.on_commit(lambda: images_delete(names))
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
    if conversation.kind == Conversation.Kind.DIRECT and any(
        is_blocked_between(a=user, b=other) for other in User.objects.filter(pk__in=others)
    ):
        return  # a block either way: like a message, no typing goes through
    event_send(
        user_ids=others,
        event={"type": "typing", "conversation": conversation.pk, "who": user.handle},
    )


# --- groups ---------------------------------------------------------------------------------------------------------
GROUP_NAME_MAX = 60


def _group_max() -> int:
    return int(settings.MEADOW_MESSAGE_GROUP_MAX)


def _group_name_clean(name: str) -> str:
    name = refuse_spoofing(" ".join((name or "").split()), field="name")
    if not name:
        raise ValidationFailed(_("Give the group a name."), field="name", code="required")
    if visible_length(name) > GROUP_NAME_MAX:
        raise ValidationFailed(
            _("A group name has at most %(max)d characters.") % {"max": GROUP_NAME_MAX},
            field="name",
            code="too_long",
        )
    return name


def _invitee_check(*, adder: User, invitee: User, members: list[User]) -> bool:
    """Whether ``adder`` may put ``invitee`` in a group with ``members``: no block either way between the invitee
    and the adder (403 ``blocked``; a block between the invitee and another member does not keep them out, as
    on other platforms: docs/architecture.md, "Blocks in groups"), and the invitee's "who may message me" lets
    the adder in (403 ``not_allowed``). Returns whether the group is a request for the invitee (they do not
    follow the adder)."""
    if not invitee.is_active:
        raise NotFound(_("This account does not exist."), field="with")
    if is_blocked_between(a=invitee, b=adder):
        raise Blocked(
            _("@%(handle)s cannot be added to this group.") % {"handle": invitee.handle}, field="with"
        )
    follows_adder = _follows(follower=invitee, followee=adder)
    policy = invitee.message_policy
    if policy == User.MessagePolicy.NOBODY or (policy == User.MessagePolicy.FOLLOWING and not follows_adder):
        raise PermissionDenied(
            _("@%(handle)s does not accept messages from you.") % {"handle": invitee.handle},
            field="with",
            code="not_allowed",
        )
    return not follows_adder


def _too_many() -> ValidationFailed:
    return ValidationFailed(
        _("A group has at most %(max)d people.") % {"max": _group_max()}, field="with", code="too_many"
    )


def _members_changed(*, conversation_id: int, removed: list[int] | None = None) -> None:
    """After a commit: the members' list to everyone in the group; ``removed`` hear that they are out."""
    user_ids = list(
        Participant.objects.filter(conversation_id=conversation_id).values_list("user_id", flat=True)
    )
    handles = list(User.objects.filter(pk__in=user_ids).order_by("handle").values_list("handle", flat=True))
    event_send(
        user_ids=user_ids, event={"type": "members", "conversation": conversation_id, "members": handles}
    )
    if removed:
        event_send(user_ids=removed, event={"type": "removed", "conversation": conversation_id})
        _badges_changed(user_ids=removed)


def group_create(*, user: User, members: list[User], name: str) -> Conversation:
    """Open a group with ``members`` (besides ``user``, at least 2) under ``name``; ``user`` is its admin."""
    name = _group_name_clean(name)
    invitees: dict[int, User] = {m.pk: m for m in members if m.pk != user.pk}
    if len(invitees) < 2:
        raise ValidationFailed(_("A group needs at least 2 other people."), field="with", code="too_few")
    if len(invitees) + 1 > _group_max():
        raise _too_many()
    enforcement_assert_can_post(user=user)
    requests = {
        pk: _invitee_check(adder=user, invitee=invitee, members=[m for m in invitees.values() if m.pk != pk])
        for pk, invitee in invitees.items()
    }
    enforcement_check_text(
        user=user, text=name, field="dm", error_field="name", block_categories={"redirect"}
    )
    now = timezone.now()
    with transaction.atomic():
        # every stranger put in a group is a request opened: a group is no way around the daily limit
        _request_allowance_take(user, count=sum(requests.values()))
        key = activity_key_now()
        conversation = Conversation.objects.create(
            pair_key=f"g:{secrets.token_hex(16)}",
            kind=Conversation.Kind.GROUP,
            name=name,
            created_by=user,
            state=Conversation.State.ACTIVE,
            activity_key=key,
            created_at=now,
            accepted_at=now,
        )
        Participant.objects.bulk_create(
            [Participant(conversation=conversation, user=user, activity_key=key, role=Participant.Role.ADMIN)]
            + [
                Participant(
                    conversation=conversation,
                    user_id=pk,
                    activity_key=key,
                    state=Participant.State.REQUEST if requests[pk] else Participant.State.INBOX,
                )
                for pk in invitees
            ]
        )
        conversation_id = conversation.pk
        transaction.on_commit(lambda: _members_changed(conversation_id=conversation_id))
    return conversation


def _group_locked(conversation: Conversation) -> Conversation:
    """The group, its row locked for the rest of the transaction (so two changes at once cannot both pass the
    size limit); 400 ``not_group`` for a direct conversation."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.kind != Conversation.Kind.GROUP:
        raise ValidationFailed(_("This is not a group."), code="not_group")
    return locked


def _admin_check(conversation: Conversation, user: User) -> Participant:
    me = _participant(conversation, user)
    if me.role != Participant.Role.ADMIN:
        raise PermissionDenied(_("Only the group's admins can do this."), code="not_admin")
    return me


def group_members_add(*, user: User, conversation: Conversation, members: list[User]) -> list[User]:
    """Add people to a group (admins only). They see the messages sent from now on. Returns those added (people
    already in it are skipped)."""
    with transaction.atomic():
        group = _group_locked(conversation)
        _admin_check(group, user)
        current = list(
            User.objects.filter(pk__in=Participant.objects.filter(conversation=group).values("user_id"))
        )
        current_ids = {m.pk for m in current}
        new = {m.pk: m for m in members if m.pk not in current_ids}
        if not new:
            return []
        if len(current_ids) + len(new) > _group_max():
            raise _too_many()
        requests = {
            pk: _invitee_check(
                adder=user, invitee=m, members=[*current, *(o for o in new.values() if o.pk != pk)]
            )
            for pk, m in new.items()
        }
        # someone who left this group comes back only through Requests: leaving is undone by their consent alone
        for pk in GroupDeparture.objects.filter(conversation=group, user_id__in=list(new)).values_list(
            "user_id", flat=True
        ):
            requests[pk] = True
        _request_allowance_take(user, count=sum(requests.values()))
        Participant.objects.bulk_create(
            [
                Participant(
                    conversation=group,
                    user_id=pk,
                    activity_key=group.activity_key,
                    last_read_seq=group.last_seq,
                    deleted_before_seq=group.last_seq,
                    state=Participant.State.REQUEST if requests[pk] else Participant.State.INBOX,
                )
                for pk in new
            ]
        )
        conversation_id = group.pk
        transaction.on_commit(lambda: _members_changed(conversation_id=conversation_id))
    return list(new.values())


def group_rename(*, user: User, conversation: Conversation, name: str) -> Conversation:
    """Rename a group (its admins only: 403 ``not_admin``). The name is checked like a new group's (400
    ``required`` / ``too_long`` / ``invisible_characters``, and moderated: a redirect in it is refused, 400
    ``moderation_blocked``); everyone in the group gets a system line "<admin> renamed the group to <name>"
    (``Message.system`` ``renamed``, the new name as its text), delivered like a message. The same name again
    changes nothing."""
    if conversation.kind != Conversation.Kind.GROUP:
        raise ValidationFailed(_("This is not a group."), code="not_group")
    _admin_check(conversation, user)
    name = _group_name_clean(name)
    enforcement_assert_can_post(user=user)
    enforcement_check_text(
        user=user,
        text=name,
        field="dm",
        error_field="name",
        target=conversation,
        block_categories={"redirect"},
    )
    with transaction.atomic():
        group = _group_locked(conversation)
        _admin_check(group, user)  # still an admin, under the group's lock
        if group.name == name:
            return group
        key = activity_key_now()
        seq = _next_seq(group.pk, key)
        Conversation.objects.filter(pk=group.pk).update(name=name)
        message = Message.objects.create(
            conversation=group,
            seq=seq,
            sender=user,
            client_id=f"system:{secrets.token_hex(12)}",
            text=name,
            system="renamed",
        )
        Participant.objects.filter(conversation=group).update(activity_key=key)
        Participant.objects.filter(conversation=group, user=user).update(
            last_read_seq=Greatest(F("last_read_seq"), seq)
        )
        _forget_badges(_others(group, user))
        message_id = message.pk
        transaction.on_commit(lambda: _deliver(message_id))
    conversation.name = name
    return conversation


def group_member_remove(*, user: User, conversation: Conversation, member: User) -> None:
    """Remove ``member`` from a group (admins only; removing oneself is leaving). From then on the group answers
    them 404 and they receive nothing of it."""
    if member.pk == user.pk:
        group_leave(user=user, conversation=conversation)
        return
    with transaction.atomic():
        group = _group_locked(conversation)
        _admin_check(group, user)
        deleted, _n = Participant.objects.filter(conversation=group, user=member).delete()
        if not deleted:
            raise NotFound(_("@%(handle)s is not in this group.") % {"handle": member.handle}, field="handle")
        conversation_id, member_id = group.pk, member.pk
        transaction.on_commit(lambda: _members_changed(conversation_id=conversation_id, removed=[member_id]))


def group_leave(*, user: User, conversation: Conversation) -> None:
    """Leave a group: it disappears for ``user``. When the last admin leaves, the earliest member becomes admin."""
    with transaction.atomic():
        group = _group_locked(conversation)
        me = _participant(group, user)
        me.delete()
        GroupDeparture.objects.update_or_create(
            conversation=group, user=user, defaults={"left_at": timezone.now()}
        )
        remaining = Participant.objects.filter(conversation=group).order_by("joined_at", "pk")
        if not remaining.filter(role=Participant.Role.ADMIN).exists():
            first = remaining.first()
            if first is not None:
                Participant.objects.filter(pk=first.pk).update(role=Participant.Role.ADMIN)
        conversation_id, user_id = group.pk, user.pk
        transaction.on_commit(lambda: _members_changed(conversation_id=conversation_id, removed=[user_id]))


def resume_rate_check(*, user: User) -> None:
    """Count one catching-up read (a socket's ``?after=`` or ``resume``, a history page): 429 ``rate_limited``
    past ``messages:resume:account`` (``core.ratelimit.RATES``), per person."""
    from meadow.core.ratelimit import rate_limit_hit

    rate_limit_hit(scope="messages:resume:account", key=str(user.pk))


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


# --- the business inbox: the away message -------------------------------------------------------------------------
def away_set(
    *,
    owner: User,
    text: str,
    enabled: bool,
    hours_start: time | None = None,
    hours_end: time | None = None,
    time_zone: str = "",
) -> AwayMessage:
    """Set a verified business's away message (403 ``not_verified`` for anyone else). Its text passes the
    moderation engine like a message when saved; turning it on starts a new away period (each conversation gets
    one automatic reply per period). Optional opening hours (both or neither, opening before closing, in
    ``time_zone``): outside them the business is away too."""
    if not owner.is_verified_enterprise:
        raise PermissionDenied(_("The away message is for verified businesses."), code="not_verified")
    text = (text or "").strip()
    if (hours_start is None) != (hours_end is None):
        raise ValidationFailed(
            _("Give both opening and closing times, or neither."), field="hours_end", code="hours_pair"
        )
    if hours_start is not None and hours_end is not None and hours_start >= hours_end:
        raise ValidationFailed(
            _("Closing time comes after opening time."), field="hours_end", code="hours_order"
        )
    time_zone = (time_zone or "").strip() or "Asia/Kuala_Lumpur"
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(_("Unknown time zone."), field="time_zone", code="bad_time_zone") from None
    if (enabled or hours_start is not None) and not text:
        raise ValidationFailed(_("Write the away message first."), field="text", code="required")
    if visible_length(text) > MESSAGE_MAX:
        raise ValidationFailed(
            _("A message has at most %(max)d characters.") % {"max": MESSAGE_MAX},
            field="text",
            code="too_long",
        )
    if text:
        enforcement_check_text(user=owner, text=text, field="dm", error_field="text")
    with transaction.atomic():
        away, _created = AwayMessage.objects.select_for_update().get_or_create(owner=owner)
        if enabled and not away.enabled:
            away.period += 1
        away.text, away.enabled, away.updated_at = text, bool(enabled), timezone.now()
        away.hours_start, away.hours_end, away.time_zone = hours_start, hours_end, time_zone
        away.save()
    return away


def away_period_now(away: AwayMessage, *, now: datetime | None = None) -> str | None:
    """The current away period's key (``None``: not away). Turned on: its number; otherwise, outside the opening
    hours: ``h`` + the date the closed stretch began (a night from 18:00 to 09:00 is one period)."""
    if away.enabled:
        return str(away.period)
    if away.hours_start is None or away.hours_end is None:
        return None
    local = (now or timezone.now()).astimezone(ZoneInfo(away.time_zone))
    moment = local.time().replace(tzinfo=None)
    if away.hours_start <= moment < away.hours_end:
        return None
    began = local.date() if moment >= away.hours_end else local.date() - timedelta(days=1)
    return f"h{began.isoformat()}"


def _away_reply(*, conversation: Conversation, business: User, customer: User) -> Message | None:
    """The away message's automatic reply to ``customer``'s message, once per conversation and away period
    (``client_id`` "away:<period>" is unique per sender and conversation, so two messages at once still get
    one). Not a reply: a request stays a request."""
    if not business.is_verified_enterprise or business.pk == customer.pk:
        return None
    away = AwayMessage.objects.filter(owner=business).exclude(text="").first()
    period = away_period_now(away) if away is not None else None
    if away is None or period is None:
        return None
    client_id = f"away:{period}"
    if Message.objects.filter(conversation=conversation, sender=business, client_id=client_id).exists():
        return None
    try:
        with transaction.atomic():
            key = activity_key_now()
            seq = _next_seq(conversation.pk, key)
            message = Message.objects.create(
                conversation=conversation,
                seq=seq,
                sender=business,
                client_id=client_id,
                text=away.text,
                automatic=True,
            )
            Participant.objects.filter(conversation=conversation).update(activity_key=key)
            Participant.objects.filter(conversation=conversation, user=business).update(
                last_read_seq=Greatest(F("last_read_seq"), seq)
            )
            _forget_badges([customer.pk])
            message_id = message.pk
            transaction.on_commit(lambda: _deliver(message_id))
    except IntegrityError:
        return None
    return message


# --- the business inbox: team members -----------------------------------------------------------------------------
TEAM_MAX = 20


def team_invite(*, business: User, handle: str) -> TeamMember:
    """Invite a Meadow account to answer the business inbox; it joins when it accepts."""
    if not business.is_verified_enterprise:
        raise PermissionDenied(_("Team members are for verified businesses."), code="not_verified")
    handle = (handle or "").strip().lstrip("@").lower()
    member = User.objects.filter(handle=handle, is_active=True).first() if handle else None
    if member is None:
        raise NotFound(_("This account does not exist."), field="handle")
    if member.pk == business.pk:
        raise ValidationFailed(_("You cannot add yourself."), field="handle", code="self")
    if is_blocked_between(a=business, b=member):
        raise NotFound(_("This account does not exist."), field="handle")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=business.pk).first()
        if TeamMember.objects.filter(business=business, member=member).exists():
            raise Conflict(
                _("@%(handle)s is already in your team.") % {"handle": member.handle}, code="exists"
            )
        if TeamMember.objects.filter(business=business).count() >= TEAM_MAX:
            raise Conflict(_("A team has at most %(max)d members.") % {"max": TEAM_MAX}, code="too_many")
        row = TeamMember.objects.create(business=business, member=member)
        transaction.on_commit(lambda: _tell_invited(business=business, member=member))
    return row


def _tell_invited(*, business: User, member: User) -> None:
    """A notification for the invited account (in its language), pointing at the page where it accepts."""
    from django.utils import translation

    from meadow.notifications.services import notification_create

    with translation.override(member.language or settings.LANGUAGE_CODE):
        name = business.display_name or business.handle
        text = _("%(name)s invited you to answer their business inbox") % {"name": name}
    notification_create(
        recipient=member, kind="system", actor=business, text=text, data={"url": "/messages/business/"}
    )


def team_accept(*, member: User, business: User) -> TeamMember:
    """Accept an invitation to a business's team (404 without one)."""
    found = TeamMember.objects.filter(business=business, member=member).first()
    if found is None or not business.is_verified_enterprise:
        raise NotFound(_("Not found."))
    if found.state != TeamMember.State.ACTIVE:
        TeamMember.objects.filter(pk=found.pk).update(
            state=TeamMember.State.ACTIVE, accepted_at=timezone.now()
        )
        found.refresh_from_db()
    return found


def team_remove(*, business: User, member: User) -> None:
    """Remove a member (or, called by the member, leave): their access ends at once, and the business's
    conversations assigned to them are unassigned."""
    with transaction.atomic():
        deleted, _n = TeamMember.objects.filter(business=business, member=member).delete()
        if not deleted:
            raise NotFound(_("Not found."))
        Conversation.objects.filter(participants__user=business, assigned_to=member).update(assigned_to=None)


def conversation_assign(*, business: User, conversation: Conversation, assignee: User | None) -> Conversation:
    """Assign one of the business's conversations to a team member (or the business itself), or unassign it.
    The caller has checked that the acting person may read the business inbox."""
    if (
        assignee is not None
        and assignee.pk != business.pk
        and not TeamMember.objects.filter(
            business=business, member=assignee, state=TeamMember.State.ACTIVE
        ).exists()
    ):
        raise ValidationFailed(
            _("Assign conversations to members of your team."), field="assignee", code="not_member"
        )
    Conversation.objects.filter(pk=conversation.pk).update(assigned_to=assignee)
    conversation.assigned_to = assignee
    return conversation


# --- the "Ask" button ---------------------------------------------------------------------------------------------
def ask_target_owner(*, user: User, kind: str, ident: int) -> User:
    """Whom the "Ask" button on a product or a verified business's note writes to (404 when ``user`` may not see
    the item, or a note's author is not a verified business)."""
    from django.http import Http404

    if kind == "product":
        from meadow.store.selectors import product_get_for_viewer

        product = product_get_for_viewer(viewer=user, product_id=ident)
        return product.shop.owner
    if kind == "note":
        from meadow.notes.selectors import note_get_for_viewer

        note = note_get_for_viewer(viewer=user, note_id=ident)
        if not note.author.is_verified_enterprise:
            raise Http404
        return note.author
    raise ValidationFailed(_("This kind of card does not exist."), field="type", code="invalid_choice")


def conversation_ask(*, user: User, kind: str, ident: int) -> tuple[Conversation, Message]:
    """The "Ask" button: open (or reuse) the conversation with the item's owner and send the item's card as
    context — once per item and conversation (asking again about the same item reuses that message)."""
    owner = ask_target_owner(user=user, kind=kind, ident=ident)
    if owner.pk == user.pk:
        raise ValidationFailed(_("You cannot ask about your own item."), field="id", code="own_item")
    conversation, _created = conversation_open(user=user, other=owner)
    message, _new = message_send(
        sender=user,
        conversation=conversation,
        text="",
        client_id=f"ask:{kind}:{ident}",
        card={"type": kind, "id": ident},
        ask=True,
    )
    return conversation, message


# --- reports and the moderators' view -----------------------------------------------------------------------------
MODERATOR_MESSAGES = 50


def conversation_report(*, user: User, conversation: Conversation, reason: str, text: str = ""):
    """Report a conversation one is in: the other person is the account concerned, their latest messages are
    screened for the findings, and moderators may then open its last 50 messages (each opening audited)."""
    from meadow.enforcement.services import report_create_for

    _participant(conversation, user)
    other_ids = _others(conversation, user)
    other = User.objects.filter(pk__in=other_ids).first()
    covered = list(
        Message.objects.filter(
            conversation=conversation, sender_id__in=other_ids, withdrawn_at__isnull=True, system=""
        )
        .order_by("-seq")
        .values_list("seq", "text")[:MODERATOR_MESSAGES]
    )
    body = "\n".join(t for _s, t in reversed(covered) if t)
    return report_create_for(
        reporter=user,
        obj=conversation,
        account=other,
        reason=reason,
        text=text,
        body=body,
        covers=sorted(s for s, _t in covered),
    )


def conversation_moderator_open(
    *, moderator: User, conversation_id: int
) -> tuple[Conversation, list[Message]]:
    """A moderator opens a reported conversation's last 50 messages; every opening writes an audit-log entry
    (``Decision`` ``conversation_read``). 404 for anyone who is not a moderator, and for a conversation nobody
    reported (or none of whose messages was reported)."""
    from django.http import Http404

    from meadow.enforcement.services import audit_record, is_moderator, reported

    if not is_moderator(moderator):
        raise Http404
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404
    if not reported(obj=conversation) and not _a_message_reported(conversation):
        raise Http404
    items = list(
        Message.objects.filter(conversation=conversation)
        .select_related("sender", "sent_by")
        .order_by("-seq")[:MODERATOR_MESSAGES]
    )
    items.reverse()
    audit_record(
        moderator=moderator,
        action="conversation_read",
        target=conversation,
        data={"messages": [m.seq for m in items][:1] + [m.seq for m in items][-1:], "count": len(items)},
    )
    return conversation, items


def reported_messages_withdraw(*, obj, item, moderator, selected=None) -> dict[str, Any]:
    """A moderator's ``remove`` on a reported conversation (registered with enforcement's
    ``register_content_remover``; runs in the decision's transaction): withdraw, for everyone, the messages the
    moderator ``selected`` (seqs among its last 50, what the moderators' view shows), else those the report
    covered (the reported account's latest 50 at the time of the report) — the text, card and images are erased
    and every participant's page shows "message withdrawn" at once. A reported message (the target itself) is
    withdrawn alone. Returns the seqs withdrawn, for the audit log."""
    if isinstance(obj, Message):
        conversation_id, seqs = obj.conversation_id, [obj.seq]
    else:
        conversation_id = obj.pk
        if selected:
            latest = Message.objects.filter(conversation_id=conversation_id).order_by("-seq")
            shown = set(latest.values_list("seq", flat=True)[:MODERATOR_MESSAGES])
            seqs = sorted(shown.intersection(selected))
        else:
            seqs = sorted((item.findings or {}).get("messages") or [])
    rows = Message.objects.filter(conversation_id=conversation_id, seq__in=seqs, withdrawn_at__isnull=True)
    targets = list(rows.select_related("sender"))
    now = timezone.now()
    Message.objects.filter(pk__in=[m.pk for m in targets]).update(withdrawn_at=now, text="", card=None)
    images = MessageImage.objects.filter(message_id__in=[m.pk for m in targets])
    names = list(images.values_list("file", flat=True))
    images.delete()
    user_ids = list(
        Participant.objects.filter(conversation_id=conversation_id).values_list("user_id", flat=True)
    )
    events = []
    for message in targets:
        message.withdrawn_at, message.text, message.card = now, "", None
        events.append(message_data(message))

    def after() -> None:
        images_delete(names)
        for data in events:
            event_send(user_ids=user_ids, event={"type": "withdrawn", "message": data})

    transaction.on_commit(after)
    return {"conversation": conversation_id, "withdrawn": [m.seq for m in targets], "count": len(targets)}


def _a_message_reported(conversation: Conversation) -> bool:
    from django.contrib.contenttypes.models import ContentType

    from meadow.enforcement.models import ReviewItem

    return ReviewItem.objects.filter(
        kind=ReviewItem.Kind.REPORT,
        target_type=ContentType.objects.get_for_model(Message),
        target_id__in=Message.objects.filter(conversation=conversation).values("pk"),
    ).exists()
