"""Messages in "Download my data" and "Delete my account" (registered in ``MessagingConfig.ready`` through the
core registries, so the privacy app needs no change): the export holds the conversations one is in and the
messages one sent (with the private names of their images); erasure deletes the images one sent and withdraws every message the account sent (the text and card are erased; the others
keep the place in the sequence, read as "message withdrawn") and forgets its daily request counters."""

from __future__ import annotations

from django.utils import timezone

from meadow.core.privacy import ExportSection
from meadow.messaging.media import images_delete
from meadow.messaging.models import Message, MessageImage, Participant, RequestAllowance


def messages_section(user) -> ExportSection:
    conversations = [
        {
            "conversation": p.conversation_id,
            "with": [
                other.user.handle
                for other in Participant.objects.filter(conversation_id=p.conversation_id)
                .exclude(user=user)
                .select_related("user")
            ],
            "state": p.conversation.state,
            "muted": p.muted,
        }
        for p in Participant.objects.filter(user=user).select_related("conversation").order_by("id")
    ]
    sent = [
        {
            "conversation": m.conversation_id,
            "seq": m.seq,
            "text": m.text,
            "card": m.card,
            "images": [i.file for i in m.images.all()],
            "created_at": m.created_at.isoformat(),
            "withdrawn": m.withdrawn_at is not None,
        }
        for m in Message.objects.filter(sender=user).prefetch_related("images").order_by("id")
    ]
    return ExportSection(records={"conversations": conversations, "sent": sent})


def erase_messages(user) -> int:
    images = MessageImage.objects.filter(message__sender=user)
    names = list(images.values_list("file", flat=True))
    images.delete()
    images_delete(names)
    changed = Message.objects.filter(sender=user, withdrawn_at__isnull=True).update(
        text="", card=None, withdrawn_at=timezone.now()
    )
    changed += RequestAllowance.objects.filter(user=user).delete()[0]
    return changed
