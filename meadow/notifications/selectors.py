"""Reads about notifications: a bucket's page (cursor on the ordering key) and the unread counts (cached, so
the navigation badge costs no query on most pages)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Count

from meadow.accounts.models import User
from meadow.core.pagination import paginate_desc
from meadow.notifications.models import Notification
from meadow.notifications.unread import UNREAD_CACHE_SECONDS, unread_key

BUCKETS = [b.value for b in Notification.Bucket]


def notifications_unread_counts(*, user_id: int) -> dict[str, int]:
    """``{"comments": n, "likes": n, "followers": n, "system": n, "total": n}`` for the badge."""
    key = unread_key(user_id)
    counts = cache.get(key)
    if counts is None:
        rows = (
            Notification.objects.filter(recipient_id=user_id, read_at__isnull=True)
            .values("bucket")
            .annotate(n=Count("id"))
        )
        counts = dict.fromkeys(BUCKETS, 0)
        for row in rows:
            counts[row["bucket"]] = row["n"]
        counts["total"] = sum(counts[b] for b in BUCKETS)
        cache.set(key, counts, UNREAD_CACHE_SECONDS)
    return counts


def notifications_for_user(
    *, user: User, bucket: str | None = None, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """One page of a person's notifications, newest activity first, with actor, note cover and comment."""
    qs = (
        Notification.objects.filter(recipient=user)
        .select_related("actor", "note", "comment")
        .prefetch_related("note__images")
    )
    if bucket:
        qs = qs.filter(bucket=bucket)
    return paginate_desc(qs, cursor=cursor, limit=limit, shape=lambda n: n, key="sort_key")
