"""Notifications (通知): what happened to a person's notes, comments and account, in the buckets XiaoHongShu
shows — comments and @mentions; likes and saves; new followers — plus system notices (penalties, orders).

Likes, saves and comment likes on the same object are *grouped* while unread ("Lily and 12 others liked your
note"): one row per (recipient, group) carries the latest actor and how many acted. Data only; writes go through
``services.py``.
"""

from __future__ import annotations

import random
import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def sort_key_now() -> int:
    """A monotonic-ish, practically unique ordering key: microseconds since the epoch × 64 + a random tail
    (a grouped notification moves to the top when someone else joins it). The page cursor carries it, so it stays
    below 10**18, what a keyset cursor holds, until the year 2465 (× 1024 passed that in 2001: migration 0006)."""
    return int(time.time() * 1_000_000) * SORT_KEY_SCALE + random.randrange(SORT_KEY_SCALE)


SORT_KEY_SCALE = 64


class Notification(models.Model):
    class Kind(models.TextChoices):
        COMMENT = "comment", _("Comment on your note")
        REPLY = "reply", _("Reply to your comment")
        MENTION = "mention", _("@mention")
        LIKE = "like", _("Like on your note")
        SAVE = "save", _("Save of your note")
        COMMENT_LIKE = "comment_like", _("Like on your comment")
        FOLLOW = "follow", _("New follower")
        SYSTEM = "system", _("System notice")
        PENALTY = "penalty", _("Account or content penalty")
        ORDER = "order", _("Order update")

    class Bucket(models.TextChoices):
        COMMENTS = "comments", _("Comments and @mentions")
        LIKES = "likes", _("Likes and saves")
        FOLLOWERS = "followers", _("New followers")
        SYSTEM = "system", _("System notices")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    bucket = models.CharField(max_length=10, choices=Bucket.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    comment = models.ForeignKey(
        "engagement.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # A system notice is a code from ``messages.py`` and its parameters, written in the reader's language when
    # read; ``text`` is only a person's own words quoted (or a notice whose code is unknown, kept as it came).
    code = models.CharField(max_length=64, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    # Grouping: unread rows with the same non-empty key are one notification with ``actor_count`` actors.
    group_key = models.CharField(max_length=80, blank=True, default="")
    actor_count = models.PositiveIntegerField(default=1)
    sort_key = models.BigIntegerField(default=sort_key_now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "bucket", "-sort_key"]),
            models.Index(fields=["recipient", "-sort_key"]),
            models.Index(
                fields=["recipient", "bucket"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "group_key"],
                condition=Q(read_at__isnull=True) & ~Q(group_key=""),
                name="notification_one_unread_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class NotificationSettings(models.Model):
    """Per-type mute settings (True = receive). System notices cannot be muted."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    likes = models.BooleanField(_("likes and saves"), default=True)
    comments = models.BooleanField(_("comments and replies"), default=True)
    mentions = models.BooleanField(_("@mentions"), default=True)
    follows = models.BooleanField(_("new followers"), default=True)
    comment_likes = models.BooleanField(_("likes on comments"), default=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"


class PushSubscription(models.Model):
    """One browser's Web Push subscription (the endpoint of its push service and the keys the payload is
    encrypted to). A person has one per browser they turned push on in; the push service answering 404 or 410
    means the browser dropped it, and it is deleted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1024, unique=True)
    p256dh = models.CharField(max_length=128)  # the browser's P-256 public key, base64url
    auth = models.CharField(max_length=64)  # the 16-byte authentication secret, base64url
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed deliveries

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")

    def __str__(self) -> str:
        return f"push subscription {self.pk} of {self.user_id}"


class PushPreferences(models.Model):
    """Which kinds of notification a person wants pushed to their devices (opt-in: all off until chosen)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    messages = models.BooleanField(_("new messages"), default=False)
    replies = models.BooleanField(_("comments and replies"), default=False)
    follows = models.BooleanField(_("new followers"), default=False)
    orders = models.BooleanField(_("order updates"), default=False)

    class Meta:
        verbose_name = _("push preferences")
        verbose_name_plural = _("push preferences")

    def __str__(self) -> str:
        return f"push preferences of {self.user_id}"
