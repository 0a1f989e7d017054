"""Messages (私信): one-to-one conversations, their participants' read state and the messages themselves.

Store first, then deliver: a message gets its per-conversation ``seq`` in the transaction that inserts it (a
conditional update of ``Conversation.last_seq``), and ``(conversation, sender, client_id)`` is unique, so a client
that retries a send gets the same message back. Order within a conversation is ``seq`` order. Data only; writes
go through ``services.py``.
"""

from __future__ import annotations

import random
import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def activity_key_now() -> int:
    """The inbox's ordering key: microseconds since the epoch × 64 + a random tail (practically unique, so a
    keyset cursor on it never skips a conversation; below 10**18, what a cursor holds, until the year 2465)."""
    return int(time.time() * 1_000_000) * 64 + random.randrange(64)


class Conversation(models.Model):
    class State(models.TextChoices):
        REQUEST = "request", _("Message request")
        ACTIVE = "active", _("Active")

    class Kind(models.TextChoices):
        DIRECT = "direct", _("Direct")
        GROUP = "group", _("Group")

    # "<smaller user id>:<larger user id>": one direct conversation per pair of people; "g:<random>" for a group.
    pair_key = models.CharField(max_length=48, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.DIRECT)
    # A group's name (blank for a direct conversation).
    name = models.CharField(max_length=60, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    # The ``seq`` of the latest message (0: none yet). Raised only by a conditional UPDATE in ``message_send``.
    last_seq = models.BigIntegerField(default=0)
    activity_key = models.BigIntegerField(default=activity_key_now)
    opened_as_request = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    # The business inbox: the team member a verified business assigned this conversation to (seen by its team).
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.pair_key})"


class Participant(models.Model):
    """One person in a conversation, with what they have read, muted and deleted for themselves."""

    class State(models.TextChoices):
        INBOX = "inbox", _("Inbox")
        REQUEST = "request", _("Requests")

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        ADMIN = "admin", _("Admin")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.INBOX)
    last_read_seq = models.BigIntegerField(default=0)
    # "Delete for me": messages up to this seq are gone for this person; the conversation leaves their lists
    # until a newer message arrives.
    deleted_before_seq = models.BigIntegerField(default=0)
    muted = models.BooleanField(default=False)
    # In a group: an admin (its creator, or whoever was promoted when the last admin left) adds and removes members.
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    # Denormalised from the conversation (kept equal by the services) so a box lists in key order by index.
    activity_key = models.BigIntegerField(default=activity_key_now)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="participant_once"),
        ]
        indexes = [models.Index(fields=["user", "state", "-activity_key"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class GroupDeparture(models.Model):
    """Someone left a group: whoever adds them back, they find it in Requests again (reading quietly until they
    accept), so leaving is not undone without their consent."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    left_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="group_departure_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} left {self.conversation_id}"


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=64)
    text = models.TextField(blank=True, default="")
    card = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Unsent within the unsend window: the text is erased and readers see "message withdrawn".
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # The business inbox: the team member who wrote a message sent as the business (shown to its team only),
    # and the away message's automatic reply (client_id "away:<period>", one per conversation and away period).
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    # A system line (nobody wrote it as a message): "renamed" — ``sender`` renamed the group to ``text``.
    system = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_once"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_id"], name="message_client_id_once"
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"message {self.conversation_id}#{self.seq}"


class MessageImage(models.Model):
    """An image a message carries: re-encoded by the notes media pipeline (upright, no EXIF/GPS, at most 1440 px
    wide), scanned before it is delivered, and stored in the *private* storage (``STORAGES["private"]``, outside
    MEDIA_ROOT): it has no public URL; ``api.message_image`` streams it to the conversation's participants only."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    file = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("message image")
        verbose_name_plural = _("message images")
        ordering = ["message_id", "position"]

    def __str__(self) -> str:
        return f"image {self.position} of {self.message_id}"


class RequestAllowance(models.Model):
    """How many message requests a new account opened on one day (the daily limit is a conditional UPDATE)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    opened = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="request_allowance_once")]

    def __str__(self) -> str:
        return f"{self.user_id} opened {self.opened} on {self.day}"


class QuickReply(models.Model):
    """A saved answer of a verified business (the business inbox's quick replies): inserted into the send box,
    sent as an ordinary message (through moderation like any other)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=40)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")
        indexes = [models.Index(fields=["owner", "id"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.owner_id})"


class AwayMessage(models.Model):
    """A verified business's away message: while ``enabled`` (or outside its opening hours, when set), a customer
    who writes gets ``text`` back once per conversation and away period (``period`` grows each time the business
    turns it on)."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(default="", blank=True)
    enabled = models.BooleanField(default=False)
    period = models.PositiveIntegerField(default=0)
    # Optional opening hours: outside them (in ``time_zone``) the business is away even while ``enabled`` is off;
    # each closed stretch (from closing time to the next opening) is one away period.
    hours_start = models.TimeField(null=True, blank=True)
    hours_end = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=40, default="Asia/Kuala_Lumpur")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("away message")
        verbose_name_plural = _("away messages")

    def __str__(self) -> str:
        return f"away message of {self.owner_id} ({'on' if self.enabled else 'off'})"


class TeamMember(models.Model):
    """Someone a verified business invited to answer its inbox: ``invited`` until they accept, then
    ``active``. Removing the row removes the access at once (every team read checks it)."""

    class State(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Active")

    business = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.INVITED)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [models.UniqueConstraint(fields=["business", "member"], name="team_member_once")]
        indexes = [models.Index(fields=["member", "state"])]

    def __str__(self) -> str:
        return f"{self.member_id} in the team of {self.business_id} ({self.state})"
