"""Background work for messages: tell a recipient with no open messages socket that a message arrived
(one notification per unread run of a conversation; idempotent — a retry finds the notification made)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _


@shared_task(name="meadow.messaging.tasks.message_notify")
def message_notify(*, message_id: int, recipient_id: int) -> int | None:
    from meadow.messaging.models import Message, Participant
    from meadow.messaging.presence import presence_online
    from meadow.notifications.models import Notification
    from meadow.notifications.services import notification_create

    if presence_online(user_id=recipient_id):
        return None  # the open socket showed it
    message = (
        Message.objects.select_related("sender").filter(pk=message_id, withdrawn_at__isnull=True).first()
    )
    if message is None:
        return None
    participant = (
        Participant.objects.select_related("user", "conversation")
        .filter(conversation_id=message.conversation_id, user_id=recipient_id)
        .first()
    )
    if participant is None or participant.muted:
        return None
    # only the first unread message of a run is announced (a chatty conversation is one notification)
    if (
        participant.last_read_seq < message.seq - 1
        and Message.objects.filter(
            conversation_id=message.conversation_id,
            seq__gt=participant.last_read_seq,
            seq__lt=message.seq,
            sender_id=message.sender_id,
        ).exists()
    ):
        return None
    recipient = participant.user
    if Notification.objects.filter(recipient=recipient, data__message=message.pk).exists():
        return None
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        name = message.sender.display_name or message.sender.handle
        group = participant.conversation.name if participant.conversation.kind == "group" else ""
        if group:
            text = _("%(name)s sent a message in %(group)s") % {"name": name, "group": group}
        else:
            text = _("%(name)s sent you a message") % {"name": name}
    found = notification_create(
        recipient=recipient,
        kind="system",
        actor=message.sender,
        text=text,
        data={
            "message": message.pk,
            "conversation": message.conversation_id,
            "url": f"/messages/{message.conversation_id}/",
        },
    )
    return found.pk if found else None
