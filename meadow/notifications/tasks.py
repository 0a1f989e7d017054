"""Background work for notifications: create one from ids (queued by engagement after commit; idempotent
enough to retry — a grouped notification does not count the same latest actor twice)."""

from __future__ import annotations

from celery import shared_task

from meadow.accounts.models import User


@shared_task(name="meadow.notifications.tasks.notify")
def notify(
    *,
    kind: str,
    recipient_id: int,
    actor_id: int | None = None,
    note_id: int | None = None,
    comment_id: int | None = None,
) -> int | None:
    from meadow.engagement.models import Comment
    from meadow.notes.models import Note
    from meadow.notifications.services import notification_create

    recipient = User.objects.filter(pk=recipient_id).first()
    if recipient is None:
        return None
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    note = Note.objects.filter(pk=note_id).first() if note_id else None
    comment = Comment.objects.filter(pk=comment_id).first() if comment_id else None
    if (note_id and note is None) or (comment_id and comment is None):
        return None  # deleted in the meantime
    found = notification_create(recipient=recipient, kind=kind, actor=actor, note=note, comment=comment)
    return found.pk if found else None


@shared_task(name="meadow.notifications.tasks.notify_note_mentions")
def notify_note_mentions(*, note_id: int) -> int:
    """Tell the people a published note @mentions (the notes app stores ``NoteMention`` rows at publish)."""
    from meadow.notes.models import Note, NoteMention
    from meadow.notifications.models import Notification
    from meadow.notifications.services import notification_create

    note = Note.objects.select_related("author").filter(pk=note_id, status=Note.Status.PUBLISHED).first()
    if note is None:
        return 0
    told = 0
    for link in NoteMention.objects.filter(note=note).select_related("user"):
        already = Notification.objects.filter(
            recipient=link.user, kind=Notification.Kind.MENTION, note=note, comment__isnull=True
        ).exists()
        if not already and notification_create(
            recipient=link.user, kind=Notification.Kind.MENTION, actor=note.author, note=note
        ):
            told += 1
    return told


@shared_task(name="meadow.notifications.tasks.notify_follow")
def notify_follow(*, follower_id: int, followee_id: int) -> int | None:
    """A new follower (for accounts' follow service to queue after a follow becomes active)."""
    return notify(kind="follow", recipient_id=followee_id, actor_id=follower_id)
