from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def messages_unread(context) -> int:
    """The Messages badge: conversations with unread messages (cached; one small query on a miss). The messages
    socket keeps it current on every page."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return 0
    from meadow.messaging.selectors import messages_unread_total_cached

    return messages_unread_total_cached(user_id=user.pk)
