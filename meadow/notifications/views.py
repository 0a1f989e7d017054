"""The notification centre: four buckets (comments and @mentions; likes and saves; new followers; system),
newest first; opening a bucket marks it read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from meadow.notifications import push, selectors, services
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


@login_required
def push_settings_page(request: HttpRequest) -> HttpResponse:
    """Settings › Push notifications: which kinds are pushed (stored per account) and, through push.js, the
    button that asks this browser for permission and saves its subscription (``/api/v1/push/subscriptions``)."""
    if request.method == "POST":
        push.push_preferences_update(
            user=request.user, **{kind: request.POST.get(kind) == "on" for kind in push.PUSH_KINDS}
        )
        messages.success(request, _("Settings saved."))
        return redirect("web:push_settings")
    preferences = push.push_preferences_get(user=request.user)
    kinds = [
        (kind, preferences._meta.get_field(kind).verbose_name, getattr(preferences, kind))
        for kind in push.PUSH_KINDS
    ]
    subscriptions = push.PushSubscription.objects.filter(user=request.user).count()
    return render(
        request,
        "notifications/push_settings.html",
        {"kinds": kinds, "subscriptions": subscriptions, "public_key": push.vapid_public_key()},
    )
