"""Notes (笔记): image or video posts with a title, copy, hashtags (#话题), mentions and a location; hashtags and
the interest taxonomy they belong to.

Data and invariants only; every write goes through ``services.py``, every read beyond a ``get`` through
``selectors.py``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TITLE_MAX = 20  # characters as a person counts them (grapheme clusters)
BODY_MAX = 1000
IMAGES_MAX = 18
ALT_MAX = 250  # characters of an image description
HASHTAGS_MAX = 10
HASHTAG_NAME_MAX = 30
# A hashtag given in a list (the API's ``hashtags``), exactly as the service accepts it and the API schema states
# it: an optional '#', then a letter, digit or mark and up to HASHTAG_NAME_MAX - 1 more letters, digits, marks,
# '_', '·' or '-' (HASHTAG_NAME_MAX in all, not counting the '#'), with plain spaces anywhere but after the '#'
# (the name drops them: "Nasi Lemak" is #NasiLemak); or only spaces (ignored). ECMA 262 (the schema's dialect)
# and the ``regex`` module read it alike.
_TAG_START = r"[\p{L}\p{N}\p{M}]"
_TAG_CHAR = r"[\p{L}\p{N}\p{M}_·\-]"
HASHTAG_PATTERN = rf"^ *(?:#?{_TAG_START}(?: *{_TAG_CHAR}){{0,{HASHTAG_NAME_MAX - 1}}} *)?(?![\s\S])"
# The longest stored name or display name (the columns' max_length): normalisation (NFKC) can lengthen a tag.
HASHTAG_STORED_MAX = HASHTAG_NAME_MAX * 4
LOCATION_NAME_MAX = 80


class InterestCategory(models.Model):
    """An interest category of the taxonomy (beauty, food, travel, …). Hashtags and notes belong to categories;
    distribution sends a new note first to readers interested in its categories. Shipped in
    ``meadow/notes/data/taxonomy.json`` and extensible by operators in the admin."""

    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=60)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_ms = models.CharField(_("name (Malay)"), max_length=60)
    keywords = models.JSONField(
        _("keywords"),
        default=list,
        blank=True,
        help_text=_("Words that put a hashtag or a note in this category (any language)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("interest category")
        verbose_name_plural = _("interest categories")

    def __str__(self) -> str:
        return self.slug

    def name_for(self, language: str | None) -> str:
        language = (language or "").lower()
        if language.startswith("zh"):
            return self.name_zh
        if language.startswith("ms"):
            return self.name_ms
        return self.name_en


class Hashtag(models.Model):
    """A topic (#话题). ``name`` is normalised (NFKC, case-folded, simplified Chinese) so #KL美食, #kl美食 and
    #ＫＬ美食 are one topic; ``display_name`` is how it was first written."""

    name = models.CharField(_("name"), max_length=HASHTAG_STORED_MAX, unique=True)
    display_name = models.CharField(_("display name"), max_length=HASHTAG_STORED_MAX)
    use_count = models.PositiveIntegerField(_("published notes"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    categories: models.ManyToManyField[InterestCategory, HashtagCategory] = models.ManyToManyField(
        InterestCategory, through="HashtagCategory", related_name="hashtags", blank=True
    )

    class Meta:
        verbose_name = _("hashtag")
        verbose_name_plural = _("hashtags")
        indexes = [models.Index(fields=["-use_count"])]

    def __str__(self) -> str:
        return f"#{self.display_name}"


class HashtagCategory(models.Model):
    class Source(models.TextChoices):
        KEYWORD = "keyword", _("Matched a keyword")
        OPERATOR = "operator", _("Set by an operator")

    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="category_links")
    category = models.ForeignKey(InterestCategory, on_delete=models.CASCADE, related_name="hashtag_links")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.OPERATOR)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hashtag", "category"], name="hashtag_category_once")]
        verbose_name = _("hashtag category")
        verbose_name_plural = _("hashtag categories")

    def __str__(self) -> str:
        return f"{self.hashtag} → {self.category}"


class Note(models.Model):
    """A note (笔记): 1–18 images (the first is the cover) or one video with a cover."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("Images")
        VIDEO = "video", _("Video")

    class ContentType(models.TextChoices):
        KNOWLEDGE = "knowledge", _("Knowledge / tutorial")
        CASE_STUDY = "case_study", _("Case study")
        EXPERIENCE = "experience", _("Experience")
        RECOMMENDATION = "recommendation", _("Recommendation (种草)")
        DAILY_LIFE = "daily_life", _("Daily life / vlog")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        FOLLOWERS = "followers", _("Followers only")
        PRIVATE = "private", _("Only me")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        REMOVED = "removed", _("Removed")

    class MediaState(models.TextChoices):
        READY = "ready", _("Ready")
        PROCESSING = "processing", _("Processing")
        FAILED = "failed", _("Failed")

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.IMAGE)
    title = models.CharField(_("title"), max_length=200, blank=True, default="")
    body = models.TextField(_("body"), blank=True, default="")
    content_type = models.CharField(
        _("content type"), max_length=16, choices=ContentType.choices, default=ContentType.DAILY_LIFE
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    media_state = models.CharField(max_length=10, choices=MediaState.choices, default=MediaState.READY)
    # Location: stored coarse (2 decimals ≈ 1 km), never the exact point a phone reported.
    location_name = models.CharField(_("location"), max_length=LOCATION_NAME_MAX, blank=True, default="")
    latitude = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    longitude = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    hashtags: models.ManyToManyField[Hashtag, NoteHashtag] = models.ManyToManyField(
        Hashtag, through="NoteHashtag", related_name="notes", blank=True
    )
    categories: models.ManyToManyField[InterestCategory, NoteCategory] = models.ManyToManyField(
        InterestCategory, through="NoteCategory", related_name="notes", blank=True
    )

    like_count = models.PositiveIntegerField(default=0)
    save_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    share_count = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Not columns: set on the instances some services return. The finding of a note just saved
    # (notes.services), and a feed card's reasons, pool level, impression token and distance
    # (distribution.selectors).
    moderation: dict[str, Any]
    feed_reasons: list[tuple[str, str]]
    feed_level: int
    impression_token: str
    distance_km: float

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [
            models.Index(fields=["author", "status", "-id"]),
            models.Index(fields=["status", "visibility", "-id"]),
            models.Index(fields=["-published_at"]),
            # Discover's "near you" source: the newest published notes that carry a place (few do), read from
            # here instead of walking every published note backwards (bench/RESULTS.md, Discover at 1 M notes).
            models.Index(
                fields=["-id"],
                condition=Q(status="published") & ~Q(location_name=""),
                name="notes_note_placed_newest",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="removed") | Q(deleted_at__isnull=True), name="note_deleted_only_removed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title or '(untitled)'} by {self.author_id}"

    @property
    def cover(self) -> NoteImage | None:
        """The first image (uses the prefetched images when present)."""
        images = list(self.images.all())
        return images[0] if images else None


class NoteImage(models.Model):
    """One image of a note in WebP renditions (EXIF stripped): a grid thumbnail and a detail image. For a video
    note the single image is the cover (uploaded or the poster frame)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    thumb = models.FileField(max_length=200)
    detail = models.FileField(max_length=200)
    width = models.PositiveIntegerField()  # of the detail rendition
    height = models.PositiveIntegerField()
    thumb_width = models.PositiveIntegerField()
    thumb_height = models.PositiveIntegerField()
    color = models.CharField(max_length=7, default="#cccccc")
    blurhash = models.CharField(max_length=64, blank=True, default="")
    # What the image shows, for people who cannot see it (the composer asks for it); empty: see ``alt_text``.
    alt = models.CharField(_("image description"), max_length=ALT_MAX, blank=True, default="", db_default="")

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["note", "position"], name="note_image_position_once")]

    def __str__(self) -> str:
        return f"image {self.position} of note {self.note_id}"

    def alt_text(self, *, title: str, body: str = "", total: int = 1) -> str:
        """The ``alt`` of this image: the author's description, else one derived from the note's title (or the
        start of its text), numbered when the note has more than one image."""
        if self.alt:
            return self.alt
        base = " ".join((title or body).split())[:80] or str(_("Image"))
        if total > 1:
            return f"{base} ({self.position + 1}/{total})"
        return base


class NoteVideo(models.Model):
    """The video of a video note. ``source`` is the upload while the worker remuxes it (metadata stripped,
    fast start) into ``file`` and takes the poster frame."""

    note = models.OneToOneField(Note, on_delete=models.CASCADE, related_name="video")
    source = models.FileField(max_length=200, blank=True)
    file = models.FileField(max_length=200, blank=True)
    duration = models.FloatField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    has_uploaded_cover = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"video of note {self.note_id}"


class NoteHashtag(models.Model):
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="hashtag_links")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="note_links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["note", "hashtag"], name="note_hashtag_once")]
        indexes = [models.Index(fields=["hashtag", "-note"])]

    def __str__(self) -> str:
        return f"{self.hashtag_id} on note {self.note_id}"


class NoteCategory(models.Model):
    """A note's interest category, computed at publish from its hashtags, title and body (标签分类)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="category_links")
    category = models.ForeignKey(InterestCategory, on_delete=models.CASCADE, related_name="note_links")
    score = models.FloatField(default=1.0)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [models.UniqueConstraint(fields=["note", "category"], name="note_category_once")]
        indexes = [models.Index(fields=["category", "-note"])]

    def __str__(self) -> str:
        return f"category {self.category_id} of note {self.note_id}"


class NoteMention(models.Model):
    """An @mention in a note's body, resolved to an account (notifications come with that issue)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="mention_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentioned_in")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "user"], name="note_mention_once")]

    def __str__(self) -> str:
        return f"@{self.user_id} in note {self.note_id}"


UPLOAD_KEEP_HOURS = 24


class ImageUpload(models.Model):
    """An image the author gave the composer for a note that was not published yet (the server refused it:
    a moderation block, a validation error). Processed exactly like a note's image (upright, WebP renditions,
    no EXIF/GPS), owned by its author and shown again as a thumbnail, so nothing is added twice; the next
    publish moves its files into the note (the row goes). Unused ones expire after ``UPLOAD_KEEP_HOURS``."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thumb = models.FileField(max_length=200)
    detail = models.FileField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    thumb_width = models.PositiveIntegerField()
    thumb_height = models.PositiveIntegerField()
    color = models.CharField(max_length=7, default="#cccccc")
    blurhash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"upload {self.pk} of {self.author_id}"
