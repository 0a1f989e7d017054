"""Writes about notifications: create (grouped, muted, never to oneself or across a block), mark as read, mute
settings, and the real-time badge push through Channels after commit.

``notification_create`` is the one entry point other apps use (engagement, enforcement, store).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Case, F, When
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.accounts.selectors import is_blocked_between
from meadow.core.errors import ValidationFailed
from meadow.core.tasks import enqueue, task_by_name
from meadow.notifications.messages import message_known
from meadow.notifications.models import Notification, NotificationSettings, sort_key_now
from meadow.notifications.push import push_kind_of
from meadow.notifications.selectors import notifications_unread_counts
from meadow.notifications.unread import unread_key

logger = logging.getLogger(__name__)

Kind = Notification.Kind
Bucket = Notification.Bucket

BUCKET_OF: dict[str, str] = {
    Kind.COMMENT: Bucket.COMMENTS,
    Kind.REPLY: Bucket.COMMENTS,
    Kind.MENTION: Bucket.COMMENTS,
    Kind.LIKE: Bucket.LIKES,
    Kind.SAVE: Bucket.LIKES,
    Kind.COMMENT_LIKE: Bucket.LIKES,
    Kind.FOLLOW: Bucket.FOLLOWERS,
    Kind.SYSTEM: Bucket.SYSTEM,
    Kind.PENALTY: Bucket.SYSTEM,
    Kind.ORDER: Bucket.SYSTEM,
}
# Which mute setting silences a kind (system notices, penalties and orders cannot be muted).
SETTING_OF: dict[str, str] = {
    Kind.LIKE: "likes",
    Kind.SAVE: "likes",
    Kind.COMMENT_LIKE: "comment_likes",
    Kind.COMMENT: "comments",
    Kind.REPLY: "comments",
    Kind.MENTION: "mentions",
    Kind.FOLLOW: "follows",
}
GROUPED = {Kind.LIKE, Kind.SAVE, Kind.COMMENT_LIKE}
SETTING_FIELDS = ("likes", "comments", "mentions", "follows", "comment_likes")


def user_group(user_id: int) -> str:
    """The Channels group of one person's open pages."""
    return f"notifications.user.{user_id}"


def notification_settings_get(*, user: User) -> NotificationSettings:
    found = NotificationSettings.objects.filter(user=user).first()
    return found if found is not None else NotificationSettings(user=user)


def notification_settings_update(*, user: User, **changes: Any) -> NotificationSettings:
    """Mute or unmute kinds of notifications: ``likes``, ``comments``, ``mentions``, ``follows``,
    ``comment_likes`` (True = receive)."""
    for name, value in changes.items():
        if name not in SETTING_FIELDS:
            raise ValidationFailed(_("This setting does not exist."), field=name)
        if not isinstance(value, bool):
            raise ValidationFailed(_("This setting is on or off."), field=name)
    NotificationSettings.objects.bulk_create([NotificationSettings(user=user)], ignore_conflicts=True)
    if changes:
        NotificationSettings.objects.filter(user=user).update(**changes)
    return NotificationSettings.objects.get(user=user)


def _muted(recipient: User, kind: str) -> bool:
    setting = SETTING_OF.get(kind)
    if setting is None:
        return False
    value = NotificationSettings.objects.filter(user=recipient).values_list(setting, flat=True).first()
    return value is False


def notification_create(
    *,
    recipient: User,
    kind: str,
    actor: User | None = None,
    note=None,
    comment=None,
    text: str = "",
    code: str = "",
    params: dict | None = None,
    data: dict | None = None,
) -> Notification | None:
    """Tell ``recipient`` that something happened. Returns the (possibly grouped) notification, or ``None`` when
    nothing is to be said: one's own action, a block between the two, an inactive recipient, or a muted kind.

    Likes, saves and comment likes on the same object join one unread notification ("Lily and 12 others liked
    your note"); the rest are one notification each. ``kind`` is a ``Notification.Kind`` value; system notices
    (``system``, ``penalty``, ``order``) carry their message as a ``code`` of ``messages.py`` with its ``params``
    (written in the reader's language when read) and anything structured in ``data``."""
    try:
        kind = Kind(kind)
    except ValueError as exc:
        raise ValidationFailed(_("This kind of notification does not exist."), field="kind") from exc
    if code and not message_known(code):
        raise ValidationFailed(_("This kind of notification does not exist."), field="code")
    if actor is not None and actor.pk == recipient.pk:
        return None
    if not recipient.is_active:
        return None
    if actor is not None and is_blocked_between(a=actor, b=recipient):
        return None
    if _muted(recipient, kind):
        return None
    now = timezone.now()
    group_key = ""
    if kind in GROUPED:
        group_key = f"{kind}:{getattr(note, 'pk', '') or ''}:{getattr(comment, 'pk', '') or ''}"
    notification = None
    created = False
    with transaction.atomic():
        if group_key:
            notification = _join_group(recipient=recipient, group_key=group_key, actor=actor, now=now)
        if notification is None:
            try:
                with transaction.atomic():
                    notification = Notification.objects.create(
                        recipient=recipient,
                        kind=kind,
                        bucket=BUCKET_OF[kind],
                        actor=actor,
                        note=note,
                        comment=comment,
                        code=code,
                        params=params or {},
                        text=text or "",
                        data=data or {},
                        group_key=group_key,
                        created_at=now,
                        updated_at=now,
                    )
                created = True
            except IntegrityError:  # another request opened the same group a moment ago
                notification = _join_group(recipient=recipient, group_key=group_key, actor=actor, now=now)
        if created and notification is not None and push_kind_of(notification) is not None:
            # Web Push for the kinds a person may opt in to (the task checks the opt-in and the subscriptions)
            enqueue(
                task_by_name("meadow.notifications.tasks.push_notification"), notification_id=notification.pk
            )
        recipient_id = recipient.pk
        cache.delete(unread_key(recipient_id))
        transaction.on_commit(lambda: notifications_changed(user_id=recipient_id))
    return notification


def _join_group(*, recipient: User, group_key: str, actor: User | None, now) -> Notification | None:
    """Add ``actor`` to the unread group (the count does not grow when the latest actor acts again)."""
    rows = Notification.objects.filter(recipient=recipient, group_key=group_key, read_at__isnull=True)
    updated = rows.update(
        actor_count=Case(When(actor=actor, then=F("actor_count")), default=F("actor_count") + 1),
        actor=actor,
        updated_at=now,
        sort_key=sort_key_now(),
    )
    return rows.first() if updated else None


def notifications_mark_read(*, user: User, bucket: str | None = None, ids: list[int] | None = None) -> int:
    """Mark notifications read: all, one bucket's, or the given ones. Returns how many changed."""
    if bucket is not None and bucket not in Bucket.values:
        raise ValidationFailed(_("This group of notifications does not exist."), field="bucket")
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if bucket is not None:
        rows = rows.filter(bucket=bucket)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    changed = rows.update(read_at=timezone.now())
    if changed:
        user_id = user.pk
        cache.delete(unread_key(user_id))
        transaction.on_commit(lambda: notifications_changed(user_id=user_id))
    return changed


def notifications_changed(*, user_id: int) -> None:
    """After a commit: forget the cached unread counts and push the new ones to the person's open pages."""
    cache.delete(unread_key(user_id))
    try:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        counts = notifications_unread_counts(user_id=user_id)
        async_to_sync(layer.group_send)(
            user_group(user_id), {"type": "notifications.unread", "counts": counts}
        )
    except Exception:  # a badge that does not move must never fail the action that caused it
        logger.warning("notification push failed for user %s", user_id, exc_info=True)
