"""The notification centre: four buckets (comments and @mentions; likes and saves; new followers; system),
newest first; opening a bucket marks it read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from meadow.notifications import selectors, services
from meadow.notifications.models import Notification
from meadow.notifications.text import notification_summary


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    unread = dict(selectors.notifications_unread_counts(user_id=request.user.pk))
    bucket = request.GET.get("bucket") or ""
    if bucket not in selectors.BUCKETS:
        # Opened from the badge: the first tab with something unread (System when only system notices are).
        bucket = next((b for b in selectors.BUCKETS if unread.get(b)), Notification.Bucket.COMMENTS)
    page = selectors.notifications_for_user(
        user=request.user, bucket=bucket, cursor=request.GET.get("cursor")
    )
    items = [(n, notification_summary(n)) for n in page["items"]]
    if unread.get(bucket):
        services.notifications_mark_read(user=request.user, bucket=bucket)
    buckets = [(b.value, b.label, unread.get(b.value, 0)) for b in Notification.Bucket]
    return render(
        request,
        "notifications/page.html",
        {
            "bucket": bucket,
            "buckets": buckets,
            "items": items,
            "next_cursor": page["next_cursor"],
            "nav_section": "notifications",
        },
    )
