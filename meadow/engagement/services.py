"""Every engagement write: like, save into a board, share, comment (two levels), comment like, pin, follow from a
note, video completion, "not interested", impressions and reads.

Each action is idempotent (liking twice is one like) and writes, in one short transaction:
the action's row (guarded by a unique constraint, never check-then-act), an ``EngagementEvent`` with the weight
in force, and F() updates of the note's counters, its ``NoteStats`` (``signal_score`` …) and the author's
``likes_saves_received_count``. Rows are always updated in the same order (note, stats, author, then the
rest), so concurrent actions never deadlock.

The apps above learn of it from the log this app keeps (``meadow.core.outbox``): distribution's interest
learning reads ``EngagementEvent``, notifications read ``EngagementEvent`` (likes, saves, comments) and
``CommentLike``. A write kicks their drain after the commit (``outbox_kick``, no query); this app imports none
of them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import Follow, User
from meadow.accounts.selectors import is_blocked_between
from meadow.core.errors import Conflict, PermissionDenied, ValidationFailed
from meadow.core.outbox import outbox_consumed, outbox_kick
from meadow.core.text import visible_length
from meadow.engagement.models import (
    BOARD_NAME_MAX,
    COMMENT_MAX,
    Board,
    Comment,
    CommentLike,
    CommentMention,
    Completion,
    EngagementEvent,
    Like,
    NoteFollow,
    NoteStats,
    NotInterested,
    Save,
    Share,
    Signal,
    Source,
)
from meadow.notes.models import Note
from meadow.notes.text import parse_mentions

IMPRESSIONS_MAX = 100
MENTIONS_MAX = 10

# The undo of an action carries the negative weight of the action.
_UNDO_OF: dict[str, str] = {
    Signal.UNLIKE: "like",
    Signal.UNSAVE: "save",
    Signal.UNCOMMENT: "comment",
    Signal.NOT_INTERESTED_UNDONE: "not_interested",
}


def signal_weight(kind: str) -> float:
    """The weight of a signal from ``MEADOW_SIGNAL_WEIGHTS`` (impressions and reads weigh 0)."""
    weights = getattr(settings, "MEADOW_SIGNAL_WEIGHTS", {})
    if kind in _UNDO_OF:
        return -float(weights.get(_UNDO_OF[kind], 0))
    return float(weights.get(kind, 0))


def source_clean(value: str | None) -> str:
    """A known traffic source, or ``direct``."""
    return value if value in Source.values else Source.DIRECT


# --- plumbing -----------------------------------------------------------------------------------------------------
def _stats_add(note_id: int, **deltas: float) -> None:
    """Add to a note's stats with one UPDATE (the row is created on first use, race-free)."""
    if not deltas:
        return
    updates = {name: F(name) + delta for name, delta in deltas.items()}
    if not NoteStats.objects.filter(note_id=note_id).update(**updates):
        NoteStats.objects.bulk_create([NoteStats(note_id=note_id)], ignore_conflicts=True)
        NoteStats.objects.filter(note_id=note_id).update(**updates)


def _record(
    *,
    user: User | None,
    note: Note,
    kind: str,
    source: str,
    share: Share | None = None,
    comment: Comment | None = None,
    **stats: float,
) -> None:
    weight = signal_weight(kind)
    EngagementEvent.objects.create(
        user=user,
        note_id=note.pk,
        kind=kind,
        source=source_clean(source),
        weight=weight,
        share=share,
        comment=comment,
    )
    if weight:
        stats["signal_score"] = stats.get("signal_score", 0) + weight
    _stats_add(note.pk, **stats)
    if user is not None:  # the reader's interest profile learns from it, the note's author may be told
        outbox_kick(EngagementEvent)


def _note_add(note: Note, **deltas: int) -> None:
    Note.objects.filter(pk=note.pk).update(**{name: F(name) + delta for name, delta in deltas.items()})


def _author_received(note: Note, delta: int) -> None:
    User.objects.filter(pk=note.author_id).update(
        likes_saves_received_count=F("likes_saves_received_count") + delta
    )


def _insert_once(model, **fields) -> object | None:
    """Insert a row guarded by a unique constraint; ``None`` if it already exists (idempotent, race-free)."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        return None


def _assert_can_comment(user: User) -> None:
    """A banned or suspended account may not comment (``PostingBanned``, 403, from enforcement)."""
    from meadow.enforcement.services import enforcement_assert_can_post

    enforcement_assert_can_post(user=user)


# --- likes --------------------------------------------------------------------------------------------------------
LIKES_CONSUMER = "engagement.likes"  # the consumer of the likes log (registered in EngagementConfig.ready)


def note_like(*, user: User, note: Note, source: str = Source.DIRECT) -> bool:
    """Like a note once. Returns True if this call created the like. The caller has checked visibility with
    ``note_get_for_viewer``.

    What people do most costs one INSERT (the like, once: the unique constraint decides, no savepoint) and one
    UPDATE of the note's counter, in one transaction; :attr:`Note.counts` (``like_count``) is then returned
    by :func:`note_like_counts` without another read. The event (interest learning and notifications read it),
    the note's score and the author's total follow from the like row after the commit (:func:`like_recorded`,
    the consumer ``engagement.likes`` of the likes log)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = Like._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, note_id, source, created_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (user_id, note_id) DO NOTHING RETURNING id",
            [user.pk, note.pk, source_clean(source), now],
        )
        created = cursor.fetchone() is not None
        if created:
            cursor.execute(
                f"UPDATE {Note._meta.db_table} SET like_count = like_count + 1 WHERE id = %s "
                "RETURNING like_count, save_count, comment_count, share_count",
                [note.pk],
            )
            counts = cursor.fetchone()
            if counts is not None:
                note.like_count, note.save_count, note.comment_count, note.share_count = counts
                note.counts_fresh = True  # type: ignore[attr-defined]
            outbox_kick(Like)
    return created


def like_recorded(like: Like) -> None:
    """After the commit of a like (the consumer ``engagement.likes``, in order, once): its event, the note's
    score and the author's total — what the like request used to write itself."""
    author_id = Note.objects.filter(pk=like.note_id).values_list("author_id", flat=True).first()
    if author_id is None:
        return
    note = Note(pk=like.note_id, author_id=author_id)
    _record(user=User(pk=like.user_id), note=note, kind=Signal.LIKE, source=like.source)
    _author_received(note, 1)  # the author is told (notifications read the like from the event log)


def note_unlike(*, user: User, note: Note, source: str = Source.DIRECT) -> bool:
    """Withdraw a like. Returns True if a like was removed (idempotent). If the like's own effects were
    recorded (``like_recorded`` ran), they are undone here (an ``unlike`` event, the score, the author's total);
    if not, deleting the row is enough: the consumer never sees it."""
    with transaction.atomic():
        pk = Like.objects.filter(user=user, note=note).values_list("pk", flat=True).first()
        removed = Like.objects.filter(pk=pk).delete()[0] if pk is not None else 0
        if removed:
            _note_add(note, like_count=-1)
            if outbox_consumed(LIKES_CONSUMER, pk):  # type: ignore[arg-type]
                _record(user=user, note=note, kind=Signal.UNLIKE, source=source)
                _author_received(note, -1)
    return bool(removed)


# --- boards and saves ---------------------------------------------------------------------------------------------
def board_default(*, owner: User) -> Board:
    """The owner's default board ("Saved"), created on first use."""
    board = Board.objects.filter(owner=owner, is_default=True).first()
    if board is None:
        Board.objects.bulk_create(
            [Board(owner=owner, name="", is_default=True, is_private=False)], ignore_conflicts=True
        )
        board = Board.objects.get(owner=owner, is_default=True)
    return board


def board_create(*, owner: User, name: str, is_private: bool = False) -> Board:
    """A named board. Names are 1–30 characters and unique per owner."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_("Give the board a name."), field="name", code="required")
    if visible_length(name) > BOARD_NAME_MAX:
        raise ValidationFailed(
            _("A board name has at most %(max)d characters.") % {"max": BOARD_NAME_MAX}, field="name"
        )
    board = _insert_once(Board, owner=owner, name=name, is_private=bool(is_private))
    if board is None:
        raise Conflict(_("You already have a board with this name."), field="name", code="board_exists")
    return board  # type: ignore[return-value]


def board_update(*, board: Board, name: str | None = None, is_private: bool | None = None) -> Board:
    changes: dict = {}
    if name is not None and not board.is_default:
        name = " ".join(name.split())
        if not name or visible_length(name) > BOARD_NAME_MAX:
            raise ValidationFailed(_("A board name has 1 to 30 characters."), field="name")
        changes["name"] = name
    if is_private is not None:
        changes["is_private"] = bool(is_private)
    if changes:
        try:
            with transaction.atomic():
                Board.objects.filter(pk=board.pk).update(**changes)
        except IntegrityError as exc:
            raise Conflict(_("You already have a board with this name."), field="name") from exc
        board.refresh_from_db()
    return board


def note_save(*, user: User, note: Note, board: Board | None = None, source: str = Source.DIRECT) -> bool:
    """Save a note (收藏) into ``board`` (default: the saver's default board). Saving an already saved note into
    another board moves it; counts move only on the first save. Returns True if this call created the save."""
    if board is not None and board.owner_id != user.pk:
        raise PermissionDenied(_("You can only save into your own boards."), field="board")
    target = board or board_default(owner=user)
    with transaction.atomic():
        created = _insert_once(Save, user=user, note=note, board=target) is not None
        if created:
            _note_add(note, save_count=1)
            _record(user=user, note=note, kind=Signal.SAVE, source=source)
            _author_received(note, 1)
            Board.objects.filter(pk=target.pk).update(note_count=F("note_count") + 1)  # the author is told
        else:
            existing = Save.objects.select_for_update().filter(user=user, note=note).first()
            if existing is not None and existing.board_id != target.pk:
                Save.objects.filter(pk=existing.pk).update(board=target)
                Board.objects.filter(pk=existing.board_id).update(note_count=F("note_count") - 1)
                Board.objects.filter(pk=target.pk).update(note_count=F("note_count") + 1)
    return created


def note_unsave(*, user: User, note: Note, source: str = Source.DIRECT) -> bool:
    """Take a note out of the saver's boards. Returns True if a save was removed (idempotent)."""
    with transaction.atomic():
        existing = Save.objects.select_for_update().filter(user=user, note=note).first()
        if existing is None:
            return False
        removed, _rows = Save.objects.filter(pk=existing.pk).delete()
        if removed:
            _note_add(note, save_count=-1)
            _record(user=user, note=note, kind=Signal.UNSAVE, source=source)
            _author_received(note, -1)
            Board.objects.filter(pk=existing.board_id).update(note_count=F("note_count") - 1)
    return bool(removed)


# --- shares, reads, impressions ------------------------------------------------------------------------------------
def note_share(*, user: User, note: Note, source: str = Source.DIRECT) -> Share:
    """The person's share link for a note (one per person and note; the first share counts)."""
    with transaction.atomic():
        share = _insert_once(Share, sharer=user, note=note, token=secrets.token_urlsafe(12))
        if share is not None:
            _note_add(note, share_count=1)
            _record(user=user, note=note, kind=Signal.SHARE, source=source, share=share)  # type: ignore[arg-type]
            return share  # type: ignore[return-value]
    return Share.objects.get(sharer=user, note=note)


def note_read(*, viewer: User | None, note: Note, source: str = Source.DIRECT, share_token: str = "") -> None:
    """A note was opened. Through a share link the read is attributed to the share (and its sharer). The
    author opening their own note is not a read: own views are not reach (the creator centre's click-through
    would pass 100 %), so nothing is recorded."""
    user = viewer if viewer is not None and viewer.is_authenticated else None
    if user is not None and user.pk == note.author_id:
        return
    share = None
    if share_token:
        share = Share.objects.filter(token=share_token[:32], note=note).first()
    with transaction.atomic():
        stats: dict[str, float] = {"read_count": 1}
        if share is not None and (user is None or user.pk != share.sharer_id):
            Share.objects.filter(pk=share.pk).update(visit_count=F("visit_count") + 1)
            stats["share_visit_count"] = 1
            source = Source.SHARE
        else:
            share = None
        # the stats are counters only (mypy cannot tell the dict's keys from _record's other parameters)
        _record(user=user, note=note, kind=Signal.READ, source=source, share=share, **stats)  # type: ignore[arg-type]


def impressions_record(*, viewer: User | None, note_ids: Iterable[int], source: str = Source.DIRECT) -> int:
    """Cards shown in a feed, in bulk: one SELECT of the published notes among ``note_ids`` (at most 100), one
    bulk INSERT of events and one UPDATE of their stats. Returns how many were counted. The viewer's own notes
    are not counted: own views are not reach."""
    ids = list(dict.fromkeys(int(i) for i in note_ids))
    if len(ids) > IMPRESSIONS_MAX:
        raise ValidationFailed(
            _("At most %(max)d notes at a time.") % {"max": IMPRESSIONS_MAX}, field="note_ids"
        )
    if not ids:
        return 0
    user = viewer if viewer is not None and viewer.is_authenticated else None
    shown = Note.objects.filter(pk__in=ids, status=Note.Status.PUBLISHED)
    if user is not None:
        shown = shown.exclude(author_id=user.pk)
    found = list(shown.values_list("pk", flat=True))
    if not found:
        return 0
    source = source_clean(source)
    with transaction.atomic():
        EngagementEvent.objects.bulk_create(
            [EngagementEvent(user=user, note_id=i, kind=Signal.IMPRESSION, source=source) for i in found]
        )
        NoteStats.objects.bulk_create([NoteStats(note_id=i) for i in found], ignore_conflicts=True)
        NoteStats.objects.filter(note_id__in=sorted(found)).update(impression_count=F("impression_count") + 1)
    return len(found)


# --- video completion, follow from a note, not interested ----------------------------------------------------------
def note_completion(*, user: User, note: Note, source: str = Source.DIRECT) -> bool:
    """A video note watched to ≥ 90 % — counted once per viewer and note."""
    if note.kind != Note.Kind.VIDEO:
        raise ValidationFailed(_("Only a video can be watched to the end."), code="not_video")
    with transaction.atomic():
        created = _insert_once(Completion, user=user, note=note) is not None
        if created:
            _record(user=user, note=note, kind=Signal.COMPLETION, source=source, completion_count=1)
    return created


def note_follow_author(*, user: User, note: Note, source: str = Source.DIRECT) -> str:
    """Follow a note's author from the note's page: a follow signal for that note, counted once."""
    from meadow.accounts.services import follow_create

    was_following = Follow.objects.filter(follower=user, followee_id=note.author_id).exists()
    status = follow_create(follower=user, followee=note.author)
    if not was_following:
        with transaction.atomic():
            if _insert_once(NoteFollow, user=user, note=note) is not None:
                _record(user=user, note=note, kind=Signal.FOLLOW, source=source, follow_count=1)
    return status  # the new-follower notification is sent by accounts' follow service, for every door


def note_not_interested(*, user: User, note: Note, source: str = Source.DIRECT) -> bool:
    """ "Not interested" (不喜欢): hide this note, its author's notes and its top category's notes from the
    reader's feeds; negative feedback for distribution. Idempotent."""
    top = note.category_links.order_by("-score", "id").values_list("category_id", flat=True).first()
    with transaction.atomic():
        created = (
            _insert_once(NotInterested, user=user, note=note, author_id=note.author_id, category_id=top)
            is not None
        )
        if created:
            _record(user=user, note=note, kind=Signal.NOT_INTERESTED, source=source, not_interested_count=1)
    return created


def note_not_interested_undo(*, user: User, note: Note, source: str = Source.DIRECT) -> bool:
    """Take "not interested" back (the card's Undo): the note, its author and its category return to the
    reader's feeds, and the negative signal is cancelled by an opposite event. Idempotent."""
    with transaction.atomic():
        removed, _rows = NotInterested.objects.filter(user=user, note=note).delete()
        if removed:
            _record(
                user=user,
                note=note,
                kind=Signal.NOT_INTERESTED_UNDONE,
                source=source,
                not_interested_count=-1,
            )
    return bool(removed)


# --- comments -----------------------------------------------------------------------------------------------------
def _mentioned_users(body: str, *, author: User) -> list[User]:
    handles = [h for h in parse_mentions(body) if h != author.handle][:MENTIONS_MAX]
    return list(User.objects.filter(handle__in=handles, is_active=True)) if handles else []


def comment_create(
    *, author: User, note: Note, body: str, parent: Comment | None = None, source: str = Source.DIRECT
) -> Comment:
    """Comment on a note, or reply to a comment (a reply to a reply joins the same thread and answers its
    author). @mentions are resolved and notified. The caller checked that ``author`` may see ``note``."""
    _assert_can_comment(author)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("Write something first."), field="body", code="required")
    if visible_length(body) > COMMENT_MAX:
        raise ValidationFailed(
            _("A comment has at most %(max)d characters.") % {"max": COMMENT_MAX}, field="body"
        )
    reply_to = None
    if parent is not None:
        if parent.note_id != note.pk:
            raise ValidationFailed(_("This comment belongs to another note."), field="parent")
        reply_to = parent.author
        if parent.parent_id is not None:
            parent = parent.parent
        if is_blocked_between(a=author, b=reply_to):
            raise PermissionDenied(_("You cannot reply to this person."), code="blocked")
    mentioned = _mentioned_users(body, author=author)
    # comments are checked like notes: a redirect or explicit text is refused with the findings
    from meadow.enforcement.services import enforcement_check_text, enforcement_hold

    screening = enforcement_check_text(user=author, text=body, field="comment", error_field="body")
    with transaction.atomic():
        _note_add(note, comment_count=1)
        comment = Comment.objects.create(
            note=note, author=author, parent=parent, reply_to=reply_to, body=body
        )
        # the event names the comment: notifications tell whom it answers, the note's author and the mentioned
        _record(user=author, note=note, kind=Signal.COMMENT, source=source, comment=comment)
        enforcement_hold(obj=comment, account=author, screening=screening)
        if parent is not None:
            Comment.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1)
        CommentMention.objects.bulk_create([CommentMention(comment=comment, user=u) for u in mentioned])
    return comment


def can_moderate_comment(*, user: User | None, comment: Comment) -> bool:
    """The comment's author and the note's author may delete it."""
    if user is None or not user.is_authenticated:
        return False
    return user.pk in (comment.author_id, comment.note.author_id)


def comment_delete(*, user: User, comment: Comment) -> int:
    """Delete a comment (and its replies). Its author or the note's author only. Returns how many comments
    went (0 if it was already gone)."""
    if not can_moderate_comment(user=user, comment=comment):
        raise PermissionDenied(_("You can only delete your own comments or comments on your notes."))
    note = comment.note
    with transaction.atomic():
        locked = Comment.objects.select_for_update().filter(pk=comment.pk).first()
        if locked is None:
            return 0
        replies = list(Comment.objects.filter(parent=locked).values_list("author_id", flat=True))
        gone = 1 + len(replies)
        _note_add(note, comment_count=-gone)
        weight = signal_weight(Signal.UNCOMMENT)
        EngagementEvent.objects.bulk_create(
            [
                EngagementEvent(user_id=author_id, note_id=note.pk, kind=Signal.UNCOMMENT, weight=weight)
                for author_id in [locked.author_id, *replies]
            ]
        )
        _stats_add(note.pk, signal_score=weight * gone)
        if locked.parent_id is not None:
            Comment.objects.filter(pk=locked.parent_id).update(reply_count=F("reply_count") - 1)
        Comment.objects.filter(parent=locked).delete()
        locked.delete()
    return gone


def comment_pin(*, user: User, comment: Comment, pinned: bool = True) -> Comment:
    """The note's author pins one top-level comment (pinning another unpins the first) or unpins it."""
    if user.pk != comment.note.author_id:
        raise PermissionDenied(_("Only the note's author can pin a comment."))
    if comment.parent_id is not None:
        raise ValidationFailed(_("Only a comment, not a reply, can be pinned."), code="reply_pin")
    with transaction.atomic():
        Note.objects.select_for_update().filter(pk=comment.note_id).values_list("pk", flat=True).first()
        if pinned:
            Comment.objects.filter(note_id=comment.note_id, is_pinned=True).exclude(pk=comment.pk).update(
                is_pinned=False
            )
        Comment.objects.filter(pk=comment.pk).update(is_pinned=pinned)
    comment.is_pinned = pinned
    return comment


def comment_like(*, user: User, comment: Comment) -> bool:
    with transaction.atomic():
        created = _insert_once(CommentLike, user=user, comment=comment) is not None
        if created:
            Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + 1)
            outbox_kick(CommentLike)  # the comment's author is told (notifications read CommentLike)
    return created


def comment_unlike(*, user: User, comment: Comment) -> bool:
    with transaction.atomic():
        removed, _rows = CommentLike.objects.filter(user=user, comment=comment).delete()
        if removed:
            Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") - 1)
    return bool(removed)


# --- signals held out of counting (the integrity checks) ----------------------------------------------------------
# The kinds whose events count as interactions on the note row (like_count, save_count, comment_count, share_count)
INTERACTION_DELTA: dict[str, int] = {
    Signal.LIKE: 1,
    Signal.UNLIKE: -1,
    Signal.SAVE: 1,
    Signal.UNSAVE: -1,
    Signal.COMMENT: 1,
    Signal.UNCOMMENT: -1,
    Signal.SHARE: 1,
}


def event_effect(*, kind: str, weight: float) -> tuple[float, int, int]:
    """What one event adds to its note's counts: (score, interactions, reads)."""
    return float(weight), INTERACTION_DELTA.get(kind, 0), 1 if kind == Signal.READ else 0


def note_stats_withhold(*, deltas: dict[int, tuple[float, int, int]], release: bool = False) -> None:
    """Hold signals out of counting (or put them back with ``release``): per note, ``(score, interactions,
    reads)`` of the events held. The score leaves ``signal_score`` for ``held_score``, the reads leave
    ``read_count`` for ``held_reads``; the interactions are recorded in ``held_interactions`` (the note's public
    counters stay). One UPDATE per note, in note order, inside the caller's transaction."""
    sign = -1 if release else 1
    for note_id in sorted(deltas):
        score, interactions, reads = deltas[note_id]
        changes: dict[str, float] = {}
        if score:
            changes["signal_score"] = -sign * score
            changes["held_score"] = sign * score
        if reads:
            changes["read_count"] = -sign * reads
            changes["held_reads"] = sign * reads
        if interactions:
            changes["held_interactions"] = sign * interactions
        _stats_add(note_id, **changes)
