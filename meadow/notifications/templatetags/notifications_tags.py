from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_total(context) -> int:
    """The navigation badge: unread notifications (cached; one small query on a miss). The WebSocket keeps it
    current while the page is open."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    from meadow.notifications.selectors import notifications_unread_counts

    return int(notifications_unread_counts(user_id=user.pk).get("total", 0))


@register.filter
def ago(value) -> str:
    """How long ago, for a notification: "just now" under a minute (never "0 minutes"), else "5 minutes"."""
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.timesince import timesince
    from django.utils.translation import gettext

    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return gettext("just now")
    return timesince(value)
