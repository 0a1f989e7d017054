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
