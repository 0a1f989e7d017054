"""How a notification reads, in the reader's language ("Lily and 12 others liked your note")."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from meadow.notifications.messages import message_text
from meadow.notifications.models import Notification

Kind = Notification.Kind


def notification_summary(item: Notification) -> str:
    name = (item.actor.display_name or item.actor.handle) if item.actor else ""
    others = max(0, item.actor_count - 1)
    if item.kind == Kind.LIKE:
        if others:
            return ngettext(
                "%(name)s and %(count)d other liked your note",
                "%(name)s and %(count)d others liked your note",
                others,
            ) % {"name": name, "count": others}
        return _("%(name)s liked your note") % {"name": name}
    if item.kind == Kind.SAVE:
        if others:
            return ngettext(
                "%(name)s and %(count)d other saved your note",
                "%(name)s and %(count)d others saved your note",
                others,
            ) % {"name": name, "count": others}
        return _("%(name)s saved your note") % {"name": name}
    if item.kind == Kind.COMMENT_LIKE:
        if others:
            return ngettext(
                "%(name)s and %(count)d other liked your comment",
                "%(name)s and %(count)d others liked your comment",
                others,
            ) % {"name": name, "count": others}
        return _("%(name)s liked your comment") % {"name": name}
    if item.kind == Kind.COMMENT:
        return _("%(name)s commented on your note") % {"name": name}
    if item.kind == Kind.REPLY:
        return _("%(name)s replied to your comment") % {"name": name}
    if item.kind == Kind.MENTION:
        if item.comment_id:
            return _("%(name)s mentioned you in a comment") % {"name": name}
        return _("%(name)s mentioned you in a note") % {"name": name}
    if item.kind == Kind.FOLLOW:
        return _("%(name)s started following you") % {"name": name}
    if item.code:
        rendered = message_text(item.code, item.params)
        if rendered is not None:
            return rendered
    return item.text or str(Kind(item.kind).label)
