"""Reads about messages: the one access function (a conversation for its participants only — 404 for anyone
else, and for a person the other participant blocked), the inbox and requests boxes with unread counts in one
query, and a conversation's messages after or before a sequence number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Greatest
from django.http import Http404
from django.utils.translation import gettext as _

from meadow.accounts.models import Block, User
from meadow.core.errors import ValidationFailed
from meadow.core.pagination import clamp_limit, decode_cursor, encode_cursor
from meadow.messaging.models import (
    AwayMessage,
    Conversation,
    Message,
    MessageImage,
    Participant,
    QuickReply,
    TeamMember,
)

BOXES = ("inbox", "requests")
SEARCH_MAX = 100


def _blocked_by_other(user: User) -> Exists:
    """The other participant of the row's *direct* conversation blocked ``user``. A group is not hidden by a
    block between two of its members: both keep seeing it (docs/architecture.md, "Blocks in groups")."""
    others = Participant.objects.filter(
        conversation_id=OuterRef(OuterRef("conversation_id")), conversation__kind=Conversation.Kind.DIRECT
    ).exclude(user_id=user.pk)
    return Exists(Block.objects.filter(blocked_id=user.pk, blocker_id__in=others.values("user_id")))


def others_with_blocks(*, conversation_id: int, user: User) -> list[User]:
    """The conversation's other participants, each with ``blocked``: a block either way between them and
    ``user`` (one query for the whole conversation, where a send used to ask once per person)."""
    return list(
        User.objects.filter(
            pk__in=Participant.objects.filter(conversation_id=conversation_id)
            .exclude(user_id=user.pk)
            .values("user_id")
        )
        .annotate(
            blocked=Exists(
                Block.objects.filter(
                    Q(blocker_id=user.pk, blocked_id=OuterRef("pk"))
                    | Q(blocker_id=OuterRef("pk"), blocked_id=user.pk)
                )
            )
        )
        .order_by("pk")
    )


def _blocked_with_customer(member: User) -> Exists:
    """A block either way between ``member`` (a business's team member) and the customer of the row's
    conversation (the participants who are not the business)."""
    others = Participant.objects.filter(conversation_id=OuterRef(OuterRef("conversation_id"))).exclude(
        user_id=OuterRef(OuterRef("user_id"))
    )
    return Exists(
        Block.objects.filter(
            Q(blocker_id=member.pk, blocked_id__in=others.values("user_id"))
            | Q(blocked_id=member.pk, blocker_id__in=others.values("user_id"))
        )
    )


def participant_get(*, user: User, conversation_id: int) -> Participant:
    """``user``'s place in the conversation, with the conversation and the other person; 404 when ``user`` is
    not in it, or the other person blocked them (the conversation disappears for the blocked person)."""
    if user is None or not user.is_authenticated:
        raise Http404
    found = (
        Participant.objects.filter(user=user, conversation_id=conversation_id)
        .select_related("conversation")
        .annotate(blocked_by_other=_blocked_by_other(user))
        .first()
    )
    if found is None or found.blocked_by_other:
        raise Http404
    return found


def conversation_get_for_participant(*, user: User, conversation_id: int) -> Conversation:
    """THE access function: the conversation for one of its participants; 404 for everyone else."""
    return participant_get(user=user, conversation_id=conversation_id).conversation


def conversation_other(*, conversation: Conversation, user: User) -> User:
    """The other person of a one-to-one conversation."""
    other = (
        User.objects.filter(
            pk__in=Participant.objects.filter(conversation=conversation)
            .exclude(user_id=user.pk)
            .values("user_id")
        )
        .order_by("pk")
        .first()
    )
    if other is None:
        raise Http404
    return other


def _unread_expr():
    return Greatest(F("conversation__last_seq") - Greatest(F("last_read_seq"), F("deleted_before_seq")), 0)


def _listed(user: User) -> QuerySet[Participant]:
    """``user``'s conversations that have something to show (not deleted for them since the last message),
    without those whose other person blocked them."""
    return Participant.objects.filter(user=user, conversation__last_seq__gt=F("deleted_before_seq")).exclude(
        _blocked_by_other(user)
    )


def conversations_for_user(
    *,
    user: User,
    box: str = "inbox",
    cursor: str | None = None,
    limit: int | None = None,
    q: str = "",
    assigned_to: User | None = None,
    direct_only: bool = False,
    team_member: User | None = None,
) -> dict[str, Any]:
    """One page of a box, latest activity first: ``inbox`` (accepted conversations and the requests one sent)
    or ``requests`` (first messages from people one does not follow). Each item is a ``Participant`` with
    ``conversation``, ``other`` (the other person), ``last_message`` and ``unread``; the number of queries does
    not grow with the page size. ``q`` keeps the conversations whose other person's name or handle, or one of
    whose messages (not deleted for ``user``), contains it. ``direct_only`` leaves groups out (the business
    inbox: a business's team never sees the groups the business account is in). ``team_member``: the business's
    team member reading its inbox — the conversations of customers who blocked them (or whom they blocked) are
    left out."""
    size = clamp_limit(limit)
    state = Participant.State.REQUEST if box == "requests" else Participant.State.INBOX
    qs = (
        _listed(user)
        .select_related("conversation", "conversation__assigned_to")
        .annotate(unread=_unread_expr())
    )
    if direct_only:
        qs = qs.filter(conversation__kind=Conversation.Kind.DIRECT)
    if team_member is not None and team_member.pk != user.pk:
        qs = qs.exclude(_blocked_with_customer(team_member))
    if assigned_to is not None:  # the business inbox's "Assigned to me": requests and inbox alike
        qs = qs.filter(conversation__assigned_to=assigned_to)
    else:
        qs = qs.filter(state=state)
    if len(q or "") > SEARCH_MAX:
        raise ValidationFailed(
            _("Search for at most %(max)d characters.") % {"max": SEARCH_MAX}, field="q", code="too_long"
        )
    q = (q or "").strip()
    if q:
        # search in my conversations: the other person's name or handle, or a message I can still see
        others = Participant.objects.filter(conversation_id=OuterRef("conversation_id")).exclude(
            user_id=user.pk
        )
        qs = qs.filter(
            Q(conversation__kind=Conversation.Kind.GROUP, conversation__name__icontains=q)
            | Exists(
                others.filter(Q(user__handle__icontains=q.lstrip("@")) | Q(user__display_name__icontains=q))
            )
            | Exists(
                Message.objects.filter(
                    conversation_id=OuterRef("conversation_id"),
                    seq__gt=OuterRef("deleted_before_seq"),
                    withdrawn_at__isnull=True,
                    text__icontains=q,
                )
            )
        )
    after = decode_cursor(cursor)
    if after is not None:
        qs = qs.filter(activity_key__lt=after)
    rows = list(qs.order_by("-activity_key")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    _attach(rows, user=user)
    return {
        "items": rows,
        "next_cursor": encode_cursor(rows[-1].activity_key) if more and rows else None,
    }


def _attach(rows: Sequence[Any], *, user: User) -> None:
    """The other person (a group's other members) and the last message of each row: three queries for the whole
    page."""
    ids = [row.conversation_id for row in rows]
    others: dict[int, User] = {}
    members: dict[int, list[User]] = {}
    for p in (
        Participant.objects.filter(conversation_id__in=ids)
        .exclude(user_id=user.pk)
        .select_related("user")
        .order_by("joined_at", "pk")
    ):
        others.setdefault(p.conversation_id, p.user)
        members.setdefault(p.conversation_id, []).append(p.user)
    lasts = (
        {
            (m.conversation_id, m.seq): m
            for m in Message.objects.filter(
                Q(
                    *[Q(conversation_id=row.conversation_id, seq=row.conversation.last_seq) for row in rows],
                    _connector=Q.OR,
                )
            )
            .select_related("sender")
            .prefetch_related("images")
        }
        if rows
        else {}
    )
    for row in rows:
        row.other = others.get(row.conversation_id)
        row.members = members.get(row.conversation_id, [])
        last = lasts.get((row.conversation_id, row.conversation.last_seq))
        row.last_message = last if last is not None and last.seq > row.deleted_before_seq else None


def messages_unread_total(*, user_id: int) -> int:
    """The navigation badge: how many conversations (inbox and requests, muted ones aside) have unread
    messages."""
    user = User(pk=user_id)
    return (
        _listed(user)
        .filter(muted=False, conversation__last_seq__gt=Greatest(F("last_read_seq"), F("deleted_before_seq")))
        .count()
    )


def requests_count(*, user: User) -> int:
    return _listed(user).filter(state=Participant.State.REQUEST).count()


def messages_for_participant(
    *,
    participant: Participant,
    after: int | None = None,
    before: int | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """A page of the conversation's messages in ascending ``seq``: those after ``after`` (a reconnecting client's
    last seen seq; ``next_cursor`` continues forward), or the latest before ``before`` (history, scrolling up;
    ``next_cursor`` continues further back). Messages deleted for this person are not shown."""
    size = clamp_limit(limit)
    qs = (
        Message.objects.filter(
            conversation_id=participant.conversation_id, seq__gt=participant.deleted_before_seq
        )
        .select_related("sender")
        .prefetch_related("images")
    )
    position = decode_cursor(cursor)
    if before is not None:
        upper = position if position is not None else before
        rows = list(qs.filter(seq__lt=upper).order_by("-seq")[: size + 1])
        more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return {"items": rows, "next_cursor": encode_cursor(rows[0].seq) if more and rows else None}
    lower = position if position is not None else (after or 0)
    rows = list(qs.filter(seq__gt=lower).order_by("seq")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].seq) if more and rows else None}


def messages_latest(*, participant: Participant, limit: int = 30) -> list[Message]:
    """The latest messages of a conversation for its page (ascending)."""
    qs = (
        Message.objects.filter(
            conversation_id=participant.conversation_id, seq__gt=participant.deleted_before_seq
        )
        .select_related("sender", "sent_by")
        .prefetch_related("images")
    )
    return list(reversed(list(qs.order_by("-seq")[:limit])))


def other_read_seq(*, participant: Participant) -> int | None:
    """How far the other person has read ("Seen") — ``None`` for the sender of a request that is not accepted
    yet (a request's sender never learns whether it was read)."""
    conversation = participant.conversation
    if conversation.state == Conversation.State.REQUEST and conversation.created_by_id == participant.user_id:
        return None
    if conversation.kind == Conversation.Kind.GROUP:
        return None  # a group's read state is per member: ``group_members``
    seq = (
        Participant.objects.filter(conversation_id=participant.conversation_id)
        .exclude(user_id=participant.user_id)
        .values_list("last_read_seq", flat=True)
        .first()
    )
    return seq


def message_get(*, participant: Participant, message_id: int) -> Message:
    """A message of the participant's conversation that they can still see; 404 otherwise."""
    found = (
        Message.objects.filter(
            pk=message_id, conversation_id=participant.conversation_id, seq__gt=participant.deleted_before_seq
        )
        .select_related("sender")
        .first()
    )
    if found is None:
        raise Http404
    return found


def group_members(*, conversation: Conversation) -> list[Any]:
    """Everyone in a conversation (with ``user``), earliest first. A member who has not accepted the group yet
    keeps their read state to themselves: their ``shown_read_seq`` is ``None``."""
    rows: list[Any] = list(
        Participant.objects.filter(conversation=conversation)
        .select_related("user")
        .order_by("joined_at", "pk")
    )
    for row in rows:
        row.shown_read_seq = None if row.state == Participant.State.REQUEST else row.last_read_seq
    return rows


def seen_by(*, members: Sequence[Any], user: User, seq: int) -> int:
    """How many of the other members have read up to ``seq`` ("Seen by n")."""
    return len(
        [
            m
            for m in members
            if m.user_id != user.pk and m.shown_read_seq is not None and m.shown_read_seq >= seq
        ]
    )


def message_image_get(*, user: User, conversation_id: int, image_id: int) -> MessageImage:
    """An image of a message in a conversation ``user`` is in, that they can still see (not deleted for them, not
    withdrawn); 404 for everyone else."""
    participant = participant_get(user=user, conversation_id=conversation_id)
    found = (
        MessageImage.objects.filter(
            pk=image_id,
            message__conversation_id=participant.conversation_id,
            message__seq__gt=participant.deleted_before_seq,
            message__withdrawn_at__isnull=True,
        )
        .select_related("message")
        .first()
    )
    if found is None:
        raise Http404
    return found


UNREAD_CACHE_SECONDS = 300


def unread_key(user_id: int) -> str:
    return f"messaging:unread:{user_id}"


def messages_unread_total_cached(*, user_id: int) -> int:
    """``messages_unread_total`` through the cache (the services forget it when it changes)."""
    from django.core.cache import cache

    value = cache.get(unread_key(user_id))
    if value is None:
        value = messages_unread_total(user_id=user_id)
        cache.set(unread_key(user_id), value, UNREAD_CACHE_SECONDS)
    return int(value)


def can_message(*, viewer: User | None, other: User) -> bool:
    """Whether the profile shows a "Message" button: not oneself, no block either way, and either a
    conversation exists already or the other person's "who may message me" lets the viewer start one."""
    from meadow.accounts.models import Follow
    from meadow.accounts.selectors import is_blocked_between

    if viewer is None or not viewer.is_authenticated or viewer.pk == other.pk or not other.is_active:
        return False
    if is_blocked_between(a=viewer, b=other):
        return False
    low, high = sorted((viewer.pk, other.pk))
    if Conversation.objects.filter(pair_key=f"{low}:{high}").exists():
        return True
    if other.message_policy == User.MessagePolicy.NOBODY:
        return False
    if other.message_policy == User.MessagePolicy.FOLLOWING:
        return Follow.objects.filter(follower=other, followee=viewer, status=Follow.Status.ACTIVE).exists()
    return True


def quick_replies_for(*, owner: User) -> list[QuickReply]:
    """A verified business's saved answers, oldest first (none for anyone else)."""
    if not owner.is_verified_enterprise:
        return []
    return list(QuickReply.objects.filter(owner=owner).order_by("id"))


# --- the business inbox ---------------------------------------------------------------------------------------------
def away_for(*, owner: User) -> AwayMessage | None:
    return AwayMessage.objects.filter(owner=owner).first()


def team_business_get(*, member: User, handle: str) -> User:
    """THE access function of a business inbox: the verified business ``handle`` when ``member`` is the business
    itself or an active member of its team; 404 for everyone else (checked on every request, so a removed member
    loses access at once)."""
    if member is None or not member.is_authenticated:
        raise Http404
    business = User.objects.filter(
        handle=(handle or "").lstrip("@").lower(), is_active=True, is_verified_enterprise=True
    ).first()
    if business is None:
        raise Http404
    if (
        business.pk != member.pk
        and not TeamMember.objects.filter(
            business=business, member=member, state=TeamMember.State.ACTIVE
        ).exists()
    ):
        raise Http404
    return business


def team_participant_get(*, member: User, handle: str, conversation_id: int) -> tuple[User, Participant]:
    """THE access function of one business-inbox conversation: the business (see ``team_business_get``) and its
    place in the conversation — a one-to-one conversation with a customer only. 404 for anyone outside the team,
    and for a group the business account is in: its members wrote to the people in it, not to the business's
    team."""
    business = team_business_get(member=member, handle=handle)
    participant = participant_get(user=business, conversation_id=conversation_id)
    if participant.conversation.kind != Conversation.Kind.DIRECT:
        raise Http404
    if (
        member.pk != business.pk
        and Participant.objects.filter(pk=participant.pk).filter(_blocked_with_customer(member)).exists()
    ):
        raise Http404  # the customer blocked this member (or the member them): the business and others still answer
    return business, participant


def team_members(*, business: User) -> list[TeamMember]:
    return list(TeamMember.objects.filter(business=business).select_related("member").order_by("id"))


def teams_of(*, member: User) -> list[TeamMember]:
    """The teams ``member`` belongs to or is invited to (invitations first)."""
    if member is None or not member.is_authenticated:
        return []
    return list(
        TeamMember.objects.filter(member=member, business__is_verified_enterprise=True)
        .select_related("business")
        .order_by("-state", "id")
    )


def team_assignable(*, business: User) -> list[User]:
    """Whom a business conversation may be assigned to: the business and its active members."""
    members = [
        t.member
        for t in TeamMember.objects.filter(business=business, state=TeamMember.State.ACTIVE)
        .select_related("member")
        .order_by("id")
    ]
    return [business, *members]


RESPONSE_PERIODS = (7, 30)
RESPONSE_SCAN_MAX = 5000  # conversations looked at per period (a business's busiest month)


def response_times(*, business: User, days: int, now: Any = None) -> dict[str, Any]:
    """How fast a business answers, from its messages over the last ``days`` days: for each conversation in
    which a customer wrote in the period, the time from the customer's first message in the period to the
    business's first reply after it (automatic away replies do not count). ``median_seconds`` is the median over
    answered conversations (``None`` without any); ``within_hour`` the share of conversations answered within an
    hour (unanswered ones count as not answered), ``None`` without any conversation."""
    from datetime import timedelta

    from django.db.models import Min
    from django.utils import timezone

    now = now or timezone.now()
    since = now - timedelta(days=days)
    mine = Participant.objects.filter(user=business).values("conversation_id")
    firsts = list(
        Message.objects.filter(conversation_id__in=mine, created_at__gte=since, created_at__lte=now)
        .exclude(sender=business)
        .values("conversation_id")
        .annotate(first_seq=Min("seq"), first_at=Min("created_at"))
        .order_by("conversation_id")[:RESPONSE_SCAN_MAX]
    )
    if not firsts:
        return {"days": days, "conversations": 0, "answered": 0, "median_seconds": None, "within_hour": None}
    by_conv = {row["conversation_id"]: row for row in firsts}
    replies: dict[int, Any] = {}
    for row in (
        Message.objects.filter(
            conversation_id__in=list(by_conv), sender=business, automatic=False, created_at__gte=since
        )
        .values("conversation_id", "seq", "created_at")
        .order_by("conversation_id", "seq")
    ):
        first = by_conv[row["conversation_id"]]
        if row["seq"] > first["first_seq"] and row["conversation_id"] not in replies:
            replies[row["conversation_id"]] = row["created_at"]
    waits = sorted(max(0.0, (replies[cid] - by_conv[cid]["first_at"]).total_seconds()) for cid in replies)
    median: float | None = None
    if waits:
        mid = len(waits) // 2
        median = waits[mid] if len(waits) % 2 else (waits[mid - 1] + waits[mid]) / 2
    fast = sum(1 for w in waits if w <= 3600)
    return {
        "days": days,
        "conversations": len(firsts),
        "answered": len(waits),
        "median_seconds": median,
        "within_hour": fast / len(firsts),
    }


def participant_handles(*, conversation: Conversation) -> list[str]:
    return list(
        Participant.objects.filter(conversation=conversation)
        .order_by("user_id")
        .values_list("user__handle", flat=True)
    )


def can_ask(*, viewer: User | None, kind: str, owner: User) -> bool:
    """Whether a product page or a note shows the "Ask" button: a product's seller, or a verified business's note,
    not one's own, and only when the owner's "who may message me" lets ``viewer`` write (or a conversation exists)."""
    if kind == "note" and not owner.is_verified_enterprise:
        return False
    return can_message(viewer=viewer, other=owner)
