"""Messages in "Download my data" and "Delete my account" (registered in ``MessagingConfig.ready`` through the
core registries, so the privacy app needs no change): the export holds the conversations one is in and the
messages one sent (with the private names of their images); erasure deletes the images one sent and withdraws
every message the account sent (the text and card are erased; the others keep the place in the sequence, read as
"message withdrawn") and forgets its daily request counters, its team places and away message (messages it wrote
for a business stay the business's, no longer attributed)."""

from __future__ import annotations

from django.utils import timezone

from meadow.core.privacy import ExportSection
from meadow.messaging.media import images_delete
from meadow.messaging.models import (
    AwayMessage,
    Message,
    MessageImage,
    Participant,
    RequestAllowance,
    TeamMember,
)


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
    away = AwayMessage.objects.filter(owner=user).first()
    business = {
        "away_message": {"text": away.text, "enabled": away.enabled} if away else None,
        "team": [
            {"member": t.member.handle, "state": t.state}
            for t in TeamMember.objects.filter(business=user).select_related("member").order_by("id")
        ],
        "teams": [
            {"business": t.business.handle, "state": t.state}
            for t in TeamMember.objects.filter(member=user).select_related("business").order_by("id")
        ],
        # messages one wrote for a business as its team member
        "written_for_businesses": [
            {"conversation": m.conversation_id, "seq": m.seq, "text": m.text}
            for m in Message.objects.filter(sent_by=user).order_by("id")
        ],
    }
    return ExportSection(records={"conversations": conversations, "sent": sent, "business_inbox": business})


def erase_messages(user) -> int:
    images = MessageImage.objects.filter(message__sender=user)
    names = list(images.values_list("file", flat=True))
    images.delete()
    images_delete(names)
    changed = Message.objects.filter(sender=user, withdrawn_at__isnull=True).update(
        text="", card=None, withdrawn_at=timezone.now()
    )
    changed += RequestAllowance.objects.filter(user=user).delete()[0]
    # team places and the away message go; messages written for a business stay the business's, unattributed
    changed += TeamMember.objects.filter(member=user).delete()[0]
    changed += TeamMember.objects.filter(business=user).delete()[0]
    changed += AwayMessage.objects.filter(owner=user).delete()[0]
    changed += Message.objects.filter(sent_by=user).update(sent_by=None)
    return changed
