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


@register.inclusion_tag("messaging/_ask_button.html", takes_context=True)
def ask_button(context, kind: str, ident: int, owner) -> dict:
    """The "Ask" button of a product page or a verified business's note: opens (or reuses) the conversation with
    the owner and sends the item's card. Hidden for one's own items and when the owner refuses one's messages."""
    request = context.get("request")
    user = getattr(request, "user", None)
    from meadow.messaging.selectors import can_ask

    shown = bool(user is not None and user.is_authenticated and can_ask(viewer=user, kind=kind, owner=owner))
    return {"shown": shown, "kind": kind, "ident": ident, "csrf_token": context.get("csrf_token")}
