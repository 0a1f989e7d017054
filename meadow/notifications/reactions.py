"""What the notification centre does when a lower app records a fact (``meadow.core.outbox``): each handler runs
once per fact, in order, after the owner's commit. Registered in ``NotificationsConfig.ready``."""

from __future__ import annotations

from meadow.accounts.models import User
from meadow.core.models import OutboxEvent
from meadow.engagement.models import Comment, CommentLike, CommentMention, EngagementEvent, Signal
from meadow.notes.models import Note
from meadow.notifications.services import notification_create
from meadow.notifications.tasks import notify, notify_follow

# The engagement events someone is told about: the note's author of a like or a save; for a comment, whom it
# answers, the note's author and the people it mentions.
TOLD_OF = frozenset({Signal.LIKE, Signal.SAVE, Signal.COMMENT})


def engagement_wanted(event: EngagementEvent) -> bool:
    return event.user_id is not None and event.kind in TOLD_OF


def engagement_notify(event: EngagementEvent) -> None:
    if event.kind == Signal.COMMENT:
        _comment_notify(event)
        return
    author_id = Note.objects.filter(pk=event.note_id).values_list("author_id", flat=True).first()
    if author_id is not None:
        notify(kind=str(event.kind), recipient_id=author_id, actor_id=event.user_id, note_id=event.note_id)


def _comment_notify(event: EngagementEvent) -> None:
    """Whom a comment answers ("reply"), then the note's author ("comment"), then the people it mentions
    ("mention") — each person once, never its author."""
    comment = Comment.objects.select_related("note").filter(pk=event.comment_id).first()
    if comment is None:
        return  # deleted in the meantime
    told = {comment.author_id}
    ids = {"actor_id": comment.author_id, "note_id": comment.note_id, "comment_id": comment.pk}
    if comment.reply_to_id is not None and comment.reply_to_id not in told:
        notify(kind="reply", recipient_id=comment.reply_to_id, **ids)
        told.add(comment.reply_to_id)
    if comment.note.author_id not in told:
        notify(kind="comment", recipient_id=comment.note.author_id, **ids)
        told.add(comment.note.author_id)
    mentioned = (
        CommentMention.objects.filter(comment=comment).order_by("pk").values_list("user_id", flat=True)
    )
    for person in mentioned:
        if person not in told:
            notify(kind="mention", recipient_id=person, **ids)
            told.add(person)


def comment_like_notify(like: CommentLike) -> None:
    """A comment's author hears of a like of it."""
    comment = Comment.objects.filter(pk=like.comment_id).values("author_id", "note_id").first()
    if comment is not None:
        notify(
            kind="comment_like",
            recipient_id=comment["author_id"],
            actor_id=like.user_id,
            note_id=comment["note_id"],
            comment_id=like.comment_id,
        )


def follow_notify(event: OutboxEvent) -> None:
    """A new follower: the followee gets a notification."""
    notify_follow(follower_id=event.payload["follower_id"], followee_id=event.payload["followee_id"])


def account_notice(event: OutboxEvent) -> None:
    """Enforcement recorded a violation, voided one or rejected an appeal: the account gets the system notice,
    stored as enforcement's code and parameters (a fact recorded before codes carries its ``text``)."""
    payload = event.payload
    account = User.objects.filter(pk=payload["account_id"]).first()
    if account is not None:
        notification_create(
            recipient=account,
            kind="system",
            code=payload.get("code", ""),
            params=payload.get("params") or {},
            text="" if payload.get("code") else payload.get("text", ""),
            data=payload["data"],
        )
