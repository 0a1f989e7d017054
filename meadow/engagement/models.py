"""Engagement: likes, saves into boards (收藏/专辑), shares, comments (two levels) and their likes, follows from a
note, video completion (完播), "not interested" (不喜欢), impressions and reads — each one an ``EngagementEvent``
(a signal, 信号) with a score, summed into a note's ``NoteStats`` so distribution reads a note's score and its
score per impression cheaply.

Data and invariants only; every write goes through ``services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from meadow.notes.models import Note

BOARD_NAME_MAX = 30
COMMENT_MAX = 500


class Source(models.TextChoices):
    """Where the engagement came from (the creator centre shows a note's traffic sources)."""

    DISCOVER = "discover", _("Discover")
    FOLLOWING = "following", _("Following")
    SEARCH = "search", _("Search")
    SHARE = "share", _("Share link")
    PROFILE = "profile", _("Profile")
    TOPIC = "topic", _("Topic")
    DIRECT = "direct", _("Direct")


class Signal(models.TextChoices):
    """A kind of engagement event. Each has a weight (``MEADOW_SIGNAL_WEIGHTS``); undoing an action writes the
    opposite event with the negative weight, so a note's score is always the sum of its events."""

    LIKE = "like", _("Like")
    UNLIKE = "unlike", _("Like withdrawn")
    SAVE = "save", _("Save")
    UNSAVE = "unsave", _("Save withdrawn")
    SHARE = "share", _("Share")
    COMMENT = "comment", _("Comment")
    UNCOMMENT = "uncomment", _("Comment deleted")
    FOLLOW = "follow", _("Follow from the note")
    COMPLETION = "completion", _("Video watched to the end")
    NOT_INTERESTED = "not_interested", _("Not interested")
    NOT_INTERESTED_UNDONE = "interested_again", _("Not interested withdrawn")
    IMPRESSION = "impression", _("Impression")
    READ = "read", _("Read")


class Board(models.Model):
    """A board (专辑) of saved notes. Everyone has one default board ("Saved"), created on first save."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boards")
    name = models.CharField(_("name"), max_length=BOARD_NAME_MAX * 4)
    is_private = models.BooleanField(_("private"), default=False)
    is_default = models.BooleanField(default=False)
    note_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("board")
        verbose_name_plural = _("boards")
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_default=True), name="board_one_default_per_owner"
            ),
            models.UniqueConstraint(fields=["owner", "name"], name="board_name_once_per_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.title} of {self.owner_id}"

    @property
    def title(self) -> str:
        """The name to show: the default board's is translated for each reader (its ``name`` stays empty, so it
        reads 收藏 to a Chinese reader and "Saved" to an English one); other boards keep their owner's name."""
        if self.is_default and not self.name:
            return str(pgettext("the default board", "Saved"))
        return self.name


class Like(models.Model):
    """A like, once per reader and note. It is also a log (``meadow.core.outbox``): the like request writes only
    this row and the note's counter; the consumer ``engagement.likes`` then records the event, the note's score
    and the author's total from it (``source``: where the like came from, for the event)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="like_once")]
        indexes = [models.Index(fields=["note", "-id"])]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.note_id}"


class Save(models.Model):
    """A saved note (收藏), in exactly one of the saver's boards."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="saves")
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="saves")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="save_once")]
        indexes = [models.Index(fields=["board", "-id"])]

    def __str__(self) -> str:
        return f"{self.user_id} saved {self.note_id}"


class Share(models.Model):
    """A share link of one person for one note: ``/notes/<id>/?s=<token>``. Visits through it are attributed."""

    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="shares")
    token = models.CharField(max_length=32, unique=True)
    visit_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sharer", "note"], name="share_once")]

    def __str__(self) -> str:
        return f"{self.sharer_id} shared {self.note_id}"


class Comment(models.Model):
    """A comment (评论) or, with ``parent``, a reply to one (two levels: a reply to a reply joins the same thread
    and names whom it answers in ``reply_to``)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    reply_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("comment"))
    like_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    is_pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["note", "parent", "-id"]), models.Index(fields=["parent", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["note"], condition=Q(is_pinned=True), name="comment_one_pinned")
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.note_id}"


class CommentLike(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "comment"], name="comment_like_once")]

    def __str__(self) -> str:
        return f"{self.user_id} likes comment {self.comment_id}"


class CommentMention(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mention_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["comment", "user"], name="comment_mention_once")]

    def __str__(self) -> str:
        return f"@{self.user_id} in comment {self.comment_id}"


class Completion(models.Model):
    """A video note watched to ≥ 90 % (完播) — once per viewer per note."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="completion_once")]

    def __str__(self) -> str:
        return f"{self.user_id} watched {self.note_id}"


class NoteFollow(models.Model):
    """A follow that happened from a note's page: counted once as that note's follow signal."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="note_follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} followed from {self.note_id}"


class NotInterested(models.Model):
    """ "Not interested" (不喜欢): hides the note, its author's notes and notes of its top category from this
    reader's feeds, and counts as negative feedback."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        "notes.InterestCategory", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="not_interested_once")]
        indexes = [models.Index(fields=["user", "author"]), models.Index(fields=["user", "category"])]

    def __str__(self) -> str:
        return f"{self.user_id} not interested in {self.note_id}"


class EngagementEvent(models.Model):
    """One signal: who, what, which note, when, from where, with the weight in force when it happened."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Signal.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECT)
    weight = models.FloatField(default=0)
    share = models.ForeignKey(Share, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The comment a ``comment`` event is about (notifications read it from the log). No database constraint and
    # nothing done on delete: deleting a comment costs no extra query, and a deleted comment's id finds nothing.
    comment = models.ForeignKey(
        Comment,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the log is read by id, never by comment: no index to keep up on every event
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("engagement event")
        verbose_name_plural = _("engagement events")
        indexes = [models.Index(fields=["note", "kind", "-id"]), models.Index(fields=["user", "-id"])]

    def __str__(self) -> str:
        return f"{self.kind} on {self.note_id} by {self.user_id}"


class NoteStats(models.Model):
    """A note's distribution numbers, kept with the events (F() updates in the same transaction):
    ``signal_score`` is the weighted sum of its counted events (all but those held by the integrity checks);
    score per impression = signal_score / impressions."""

    note = models.OneToOneField(Note, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    signal_score = models.FloatField(default=0)
    impression_count = models.PositiveIntegerField(default=0)
    read_count = models.PositiveIntegerField(default=0)
    completion_count = models.PositiveIntegerField(default=0)
    follow_count = models.PositiveIntegerField(default=0)
    not_interested_count = models.PositiveIntegerField(default=0)
    share_visit_count = models.PositiveIntegerField(default=0)
    # Signals the integrity checks hold out of counting (fake engagement): their weight is taken out of
    # ``signal_score`` and their reads out of ``read_count`` while held, and kept here so the creator centre
    # can show them as "not counted"; ``held_interactions`` is subtracted from the note's interaction counts
    # (likes, saves, comments, shares) by the traffic pools. Releasing a hold puts them back.
    held_score = models.FloatField(default=0)
    held_reads = models.IntegerField(default=0)
    held_interactions = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("note statistics")
        verbose_name_plural = _("note statistics")

    def __str__(self) -> str:
        return f"stats of {self.note_id}"

    @property
    def score_per_impression(self) -> float:
        return self.signal_score / self.impression_count if self.impression_count else 0.0
