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


@shared_task(name="meadow.notifications.tasks.push_notification")
def push_notification(*, notification_id: int) -> int:
    """Queued after a notification of a pushable kind commits: one delivery task per subscription of the
    recipient, if they opted in to the kind. Returns how many were queued."""
    from meadow.core.tasks import enqueue
    from meadow.notifications.push import push_targets

    found = push_targets(notification_id=notification_id)
    if found is None:
        return 0
    payload, subscriptions = found
    for subscription_id in subscriptions:
        enqueue(push_send, subscription_id=subscription_id, payload=payload)
    return len(subscriptions)


@shared_task(name="meadow.notifications.tasks.push_send", bind=True, max_retries=6)
def push_send(self, *, subscription_id: int, payload: dict) -> str:
    """Deliver one push. 404/410 deletes the subscription; other failures retry with exponential backoff
    (``push.retry_countdown``) on a worker and give up after ``max_retries`` (the push is then lost, as pushes
    may be). Inline (``MEADOW_TASKS_EAGER``, the test suite) a failure is counted but not retried: the request
    that caused the notification must not wait for a push service."""
    from meadow.notifications.push import PushRetry, push_deliver, retry_countdown

    try:
        return push_deliver(subscription_id=subscription_id, payload=payload).status
    except PushRetry as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            return "failed"
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
