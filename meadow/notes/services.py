"""Every write about notes: publish (with its media, hashtags, mentions and categories), edit, delete, and the
taxonomy of interest categories.

These are the notes' own writes. What the apps above add to a publish or an edit — the author may post, the
text is screened and held for review (enforcement), the product tags are written (store) — is orchestrated
above, in ``meadow.publishing.services``, which calls these with ``screen=`` (before any file is stored) and
``within=`` (inside the note's transaction); the endpoints and pages publish through it.

Publishing validates everything first (text limits, hashtags, every image decoded, the video probed) and only
then writes: files through the storage API, rows in one transaction. Any failure removes the files already
saved, so a refused note leaves nothing behind.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex
from django.db import models, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.errors import NotFound, PermissionDenied, ValidationFailed
from meadow.core.metrics import NOTES_PUBLISHED, count_on_commit
from meadow.core.outbox import outbox_record
from meadow.core.tasks import enqueue, task_by_name
from meadow.core.text import refuse_spoofing, visible_length
from meadow.notes import media
from meadow.notes.events import NOTE_CREATED, NOTE_DELETED, NOTE_UPDATED
from meadow.notes.models import (
    ALT_MAX,
    BODY_MAX,
    HASHTAG_NAME_MAX,
    HASHTAG_PATTERN,
    HASHTAG_STORED_MAX,
    HASHTAGS_MAX,
    IMAGES_MAX,
    LOCATION_NAME_MAX,
    TITLE_MAX,
    UPLOAD_KEEP_HOURS,
    Hashtag,
    HashtagCategory,
    ImageUpload,
    InterestCategory,
    Note,
    NoteCategory,
    NoteHashtag,
    NoteImage,
    NoteMention,
    NoteVideo,
)
from meadow.notes.text import (
    CategoryMatcher,
    display_hashtag,
    is_valid_hashtag,
    normalize_hashtag,
    parse_hashtags,
    parse_mentions,
)

TAXONOMY_PATH = Path(__file__).resolve().parent / "data" / "taxonomy.json"
NOTE_CATEGORIES_MAX = 3


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# --- validation -------------------------------------------------------------------------------------------------
def note_validate_text(*, title: str, body: str) -> tuple[str, str]:
    title = refuse_spoofing((title or "").strip(), field="title")
    body = (body or "").strip()
    if visible_length(title) > TITLE_MAX:
        raise ValidationFailed(
            _("The title can have at most %(max)d characters.") % {"max": TITLE_MAX},
            field="title",
            code="title_too_long",
        )
    if visible_length(body) > BODY_MAX:
        raise ValidationFailed(
            _("The text can have at most %(max)d characters.") % {"max": BODY_MAX},
            field="body",
            code="body_too_long",
        )
    if "\x00" in title or "\x00" in body:
        raise ValidationFailed(_("The text contains invalid characters."), field="body", code="invalid")
    return title, body


def note_validate_alts(*, alts: Sequence[str | None], count: int) -> list[str]:
    """The image descriptions, trimmed (whitespace runs become one space): at most one per image, each at most
    ``ALT_MAX`` characters. Raises ``ValidationFailed`` (field ``alts``) otherwise."""
    cleaned = [" ".join((a or "").split()) for a in alts]
    while cleaned and not cleaned[-1]:
        cleaned.pop()  # empty trailing descriptions are the same as none
    if len(cleaned) > count:
        raise ValidationFailed(
            _("There are more image descriptions than images."), field="alts", code="too_many_alts"
        )
    for position, alt in enumerate(cleaned, start=1):
        if len(alt) > ALT_MAX:
            raise ValidationFailed(
                _("The description of image %(n)d is too long (at most %(max)d characters).")
                % {"n": position, "max": ALT_MAX},
                field="alts",
                code="alt_too_long",
            )
    return cleaned


_GIVEN_HASHTAG = regex.compile(HASHTAG_PATTERN)


def _bad_hashtag(raw: str, *, field: str) -> ValidationFailed:
    return ValidationFailed(
        _("“%(tag)s” is not a valid hashtag (letters and digits, at most %(max)d characters).")
        % {"tag": str(raw)[:40], "max": HASHTAG_NAME_MAX},
        field=field,
        code="bad_hashtag",
    )


def _hashtag_name(raw: str) -> str:
    """The stored name of a tag already judged valid: its normal form, keeping only the characters a name may
    hold (NFKC can turn one into punctuation: "½" becomes "1⁄2"), cut to the column's length."""
    name = "".join(char for char in normalize_hashtag(raw) if is_valid_hashtag(char))
    return (name or raw.strip().lstrip("#").casefold())[:HASHTAG_STORED_MAX]


def hashtags_collect(*, body: str, given: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The note's topics as ``(normalised name, display name)``: the union of the body's ``#tags`` and the
    list given, deduplicated after normalisation, in order. At most 10 (the union counts).

    A tag given in the list is judged as written, by ``HASHTAG_PATTERN`` (what the API schema states; a blank
    one is ignored); a ``#tag`` in the body by its normal form, at most HASHTAG_NAME_MAX characters (field
    ``body``: a rule inside free text, which no schema keyword states)."""
    found: dict[str, str] = {}
    for raw in parse_hashtags(body):
        name = normalize_hashtag(raw)
        if not is_valid_hashtag(name) or visible_length(name) > HASHTAG_NAME_MAX:
            raise _bad_hashtag(raw, field="body")
        found.setdefault(name[:HASHTAG_STORED_MAX], display_hashtag(raw)[:HASHTAG_STORED_MAX])
    for raw in given:
        if raw is None:
            continue
        if not _GIVEN_HASHTAG.match(str(raw)):
            raise _bad_hashtag(raw, field="hashtags")
        if str(raw).strip():
            found.setdefault(_hashtag_name(str(raw)), display_hashtag(str(raw))[:HASHTAG_STORED_MAX])
    if len(found) > HASHTAGS_MAX:
        raise ValidationFailed(
            _(
                "A note can have at most %(max)d hashtags (you have %(count)d, counting the #tags in the text)."
            )
            % {"max": HASHTAGS_MAX, "count": len(found)},
            field="hashtags",
            code="too_many_hashtags",
        )
    return list(found.items())


def _coarse(value: float | Decimal | str | None, *, field: str, limit: int) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("This is not a number."), field=field, code="invalid") from exc
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise ValidationFailed(
            _("%(field)s must be between -%(limit)d and %(limit)d.") % {"field": field, "limit": limit},
            field=field,
            code="invalid",
        )
    # Two decimals ≈ 1 km: enough for "Nearby", never the exact spot where the phone was.
    return Decimal(str(number)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def note_validate_location(
    *, name: str, latitude: float | Decimal | None, longitude: float | Decimal | None
) -> tuple[str, Decimal | None, Decimal | None]:
    name = (name or "").strip()
    if visible_length(name) > LOCATION_NAME_MAX:
        raise ValidationFailed(
            _("The location name can have at most %(max)d characters.") % {"max": LOCATION_NAME_MAX},
            field="location_name",
            code="location_too_long",
        )
    lat = _coarse(latitude, field="latitude", limit=90)
    lon = _coarse(longitude, field="longitude", limit=180)
    if (lat is None) != (lon is None):
        raise ValidationFailed(
            _("Give both latitude and longitude, or neither."), field="latitude", code="invalid"
        )
    return name, lat, lon


def _choice(value: str | None, choices: type[models.TextChoices], *, field: str, default: str) -> str:
    value = value or default
    if value not in choices.values:
        raise ValidationFailed(
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": str(value)[:40], "choices": ", ".join(choices.values)},
            field=field,
            code="invalid_choice",
        )
    return value


# --- hashtags and categories ---------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _matcher_for(signature: tuple[tuple[int, tuple[str, ...]], ...]) -> CategoryMatcher:
    return CategoryMatcher(signature)


def category_matcher() -> CategoryMatcher:
    """The matcher over the active categories' keywords (one small query; the matcher is rebuilt only when an
    operator changes the taxonomy)."""
    rows = InterestCategory.objects.filter(is_active=True).order_by("id").values_list("id", "keywords")
    signature = tuple((cid, tuple(str(k) for k in (keywords or []))) for cid, keywords in rows)
    return _matcher_for(signature)


def hashtags_resolve(
    *, tags: Sequence[tuple[str, str]], matcher: CategoryMatcher | None = None
) -> list[Hashtag]:
    """The ``Hashtag`` rows for ``(name, display)`` pairs, created when new (race-safe) and categorised by the
    taxonomy's keywords at creation. Returned in the order given."""
    if not tags:
        return []
    names = [name for name, _display in tags]
    existing = {h.name: h for h in Hashtag.objects.filter(name__in=names)}
    missing = [(name, display) for name, display in tags if name not in existing]
    if missing:
        Hashtag.objects.bulk_create(
            [Hashtag(name=name, display_name=display) for name, display in missing], ignore_conflicts=True
        )
        created = {h.name: h for h in Hashtag.objects.filter(name__in=[n for n, _d in missing])}
        existing.update(created)
        hashtags_categorize(hashtags=list(created.values()), matcher=matcher)
    return [existing[name] for name in names]


def hashtags_categorize(*, hashtags: Sequence[Hashtag], matcher: CategoryMatcher | None = None) -> int:
    """Link hashtags to the categories whose keywords they match (idempotent). Returns links made."""
    matcher = matcher or category_matcher()
    links = [
        HashtagCategory(hashtag=h, category_id=cid, source=HashtagCategory.Source.KEYWORD)
        for h in hashtags
        for cid in sorted(matcher.for_hashtag(h.name))
    ]
    HashtagCategory.objects.bulk_create(links, ignore_conflicts=True)
    return len(links)


def note_category_scores(
    *, hashtag_categories: Iterable[int], text: str, matcher: CategoryMatcher
) -> list[tuple[int, float]]:
    """The best categories as ``(id, score)``: 1 point per hashtag in the category, ½ per keyword in the text."""
    scores: dict[int, float] = {}
    for cid in hashtag_categories:
        scores[cid] = scores.get(cid, 0.0) + 1.0
    for cid, hits in matcher.for_text(text).items():
        scores[cid] = scores.get(cid, 0.0) + 0.5 * hits
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(cid, score) for cid, score in ranked if score >= 0.5][:NOTE_CATEGORIES_MAX]


def note_categorize(*, note: Note, matcher: CategoryMatcher | None = None) -> list[int]:
    """Compute and store the note's interest categories (标签分类) from its hashtags' categories (1 point a
    hashtag) and keywords in its title and body (½ point a hit); keeps the best three."""
    matcher = matcher or category_matcher()
    from_hashtags = HashtagCategory.objects.filter(
        hashtag__note_links__note=note, category__is_active=True
    ).values_list("category_id", flat=True)
    best = note_category_scores(
        hashtag_categories=list(from_hashtags), text=f"{note.title}\n{note.body}", matcher=matcher
    )
    NoteCategory.objects.filter(note=note).delete()
    NoteCategory.objects.bulk_create([NoteCategory(note=note, category_id=cid, score=s) for cid, s in best])
    return [cid for cid, _s in best]


def hashtags_recount(*, hashtag_ids: Iterable[int] | None = None) -> int:
    """Set each hashtag's ``use_count`` to the number of notes any feed may show anyone
    (``selectors.notes_public``: published, ready, public notes of public, active accounts, not limited or held)
    that carry it: a followers-only, only-me, removed or limited note never makes a topic public or adds to its
    count. ``None``: every hashtag in use (the periodic task, which catches what changes without a note event —
    an account turning private or banned, a limit starting or ending, a video finishing). Returns how many
    counts changed.

    The rows are locked first (primary-key order) and counted in the next statement, so its snapshot includes
    every transaction that recounted before us: two notes published together cannot lose each other's use."""
    from meadow.notes.selectors import notes_public

    with transaction.atomic():
        rows = Hashtag.objects.select_for_update().order_by("pk")
        if hashtag_ids is not None:
            ids = sorted(set(hashtag_ids))
            if not ids:
                return 0
            rows = rows.filter(pk__in=ids)
            used = NoteHashtag.objects.filter(hashtag_id__in=ids)
        else:
            rows = rows.filter(
                models.Q(use_count__gt=0) | models.Q(pk__in=NoteHashtag.objects.values("hashtag_id"))
            )
            used = NoteHashtag.objects.all()
        current = dict(rows.values_list("pk", "use_count"))
        # One row per (note, hashtag) (the ``note_hashtag_once`` constraint): a plain count is the number of
        # notes. COUNT(DISTINCT …) sorted every link first — minutes at a million notes (bench/RESULTS.md).
        counts = dict(
            used.filter(note_id__in=notes_public().values("pk"))
            .values("hashtag_id")
            .annotate(n=Count("note_id"))
            .values_list("hashtag_id", "n")
        )
        changed = {pk: counts.get(pk, 0) for pk, was in current.items() if counts.get(pk, 0) != was}
        for n in sorted(set(changed.values())):
            Hashtag.objects.filter(pk__in=[pk for pk, c in changed.items() if c == n]).update(use_count=n)
    return len(changed)


def _mentions_resolve(*, body: str, author: User) -> list[User]:
    handles = parse_mentions(body)[: HASHTAGS_MAX * 2]
    if not handles:
        return []
    return list(User.objects.filter(handle__in=handles, is_active=True).exclude(pk=author.pk))


def taxonomy_load(*, path: Path | str | None = None) -> int:
    """Create or update the shipped interest categories from the taxonomy file (names and keywords; operators'
    own categories and links are kept) and categorise hashtags that have none yet. Returns categories loaded."""
    data = json.loads(Path(path or TAXONOMY_PATH).read_text(encoding="utf-8"))
    with transaction.atomic():
        for position, entry in enumerate(data["categories"]):
            keywords: list[str] = []
            for words in entry["keywords"].values():
                keywords.extend(w for w in words if w not in keywords)
            InterestCategory.objects.update_or_create(
                slug=entry["slug"],
                defaults={
                    "name_en": entry["names"]["en"],
                    "name_zh": entry["names"]["zh"],
                    "name_ms": entry["names"]["ms"],
                    "keywords": keywords,
                    "position": position,
                },
            )
        uncategorised = list(Hashtag.objects.filter(category_links__isnull=True))
        if uncategorised:
            hashtags_categorize(hashtags=uncategorised)
    return len(data["categories"])


# --- publish ----------------------------------------------------------------------------------------------------
def note_publish(
    *,
    author: User,
    title: str = "",
    body: str = "",
    hashtags: Iterable[str] = (),
    images: Sequence[Any] = (),
    video: Any = None,
    cover: Any = None,
    visibility: str = Note.Visibility.PUBLIC,
    content_type: str = Note.ContentType.DAILY_LIFE,
    location_name: str = "",
    latitude: float | Decimal | None = None,
    longitude: float | Decimal | None = None,
    draft: bool = False,
    uploads: Sequence[ImageUpload] = (),
    alts: Sequence[str] = (),
    screen: Callable[..., object] | None = None,
    within: Callable[[Note], object] | None = None,
) -> Note:
    """Publish a note (or save it as a draft): 1–18 images (the first is the cover), or one video with an
    optional cover (else the poster frame). Raises ``ValidationFailed`` before anything is written.

    ``uploads`` are the author's images kept from a refused attempt (``image_uploads_keep``, already processed):
    they come first, in the order given, then the new ``images``; their files become the note's and the rows go.
    ``alts`` describe the images in the same order (uploads first; missing or empty: derived from the title when
    shown, ``NoteImage.alt_text``).

    ``screen(title=, body=, tags=)`` runs once the fields are valid and before any file is stored (it may
    refuse by raising); ``within(note)`` runs in the note's transaction once its rows are written, before the
    hashtags' use counts and the ``notes.note_created`` event (``meadow.publishing`` passes both)."""
    if not author.is_active:
        raise PermissionDenied(_("This account cannot publish."), code="inactive")
    title, body = note_validate_text(title=title, body=body)
    tags = hashtags_collect(body=body, given=hashtags)
    location = note_validate_location(name=location_name, latitude=latitude, longitude=longitude)
    visibility = _choice(visibility, Note.Visibility, field="visibility", default=Note.Visibility.PUBLIC)
    content_type = _choice(
        content_type, Note.ContentType, field="content_type", default=Note.ContentType.DAILY_LIFE
    )
    images = [f for f in images if f is not None]
    uploads = list(uploads)
    if any(u.author_id != author.pk for u in uploads):
        raise PermissionDenied(_("Only the author can use these images."), code="not_author")
    if video is not None and (images or uploads):
        raise ValidationFailed(
            _("A note has images or one video, not both."), field="video", code="media_conflict"
        )
    if video is None and cover is not None:
        raise ValidationFailed(_("Only a video note has a separate cover."), field="cover", code="invalid")
    if video is None and not images and not uploads:
        raise ValidationFailed(_("Add at least one image or a video."), field="images", code="media_required")
    if len(images) + len(uploads) > IMAGES_MAX:
        raise ValidationFailed(
            _("A note can have at most %(max)d images.") % {"max": IMAGES_MAX},
            field="images",
            code="too_many_images",
        )
    alts = note_validate_alts(alts=alts, count=len(images) + len(uploads) if video is None else 1)
    if screen is not None:
        screen(title=title, body=body, tags=tags)

    # 1. Check every file before storing any.
    probe = media.video_validate(video) if video is not None else None
    renditions = [media.image_process(f, field="images") for f in images]
    if cover is not None:
        renditions = [media.image_process(cover, field="cover")]

    saved: list[str] = []
    try:
        # 2. Store files, then 3. rows in one transaction.
        stored = [media.store_renditions(r, saved=saved) for r in renditions]
        source = media.store_video_source(video, container=probe.container, saved=saved) if probe else ""
        with transaction.atomic():
            if uploads:  # taken once: a second publish racing with this one finds them gone
                taken = ImageUpload.objects.filter(pk__in=[u.pk for u in uploads], author=author).delete()[0]
                if taken != len(uploads):
                    raise ValidationFailed(
                        _("Some of the images are no longer available. Please add them again."),
                        field="images",
                        code="upload_gone",
                    )
            kept = [(_upload_renditions(u), (u.thumb.name, u.detail.name)) for u in uploads]
            note = _note_create(
                author=author,
                title=title,
                body=body,
                tags=tags,
                renditions=kept + list(zip(renditions, stored, strict=True)),
                probe=probe,
                source=source,
                visibility=visibility,
                content_type=content_type,
                location=location,
                draft=draft,
                alts=alts,
            )
            if within is not None:
                within(note)  # e.g. the hold for review: before the recount, which counts the final state
            hashtags_recount(hashtag_ids=[h.pk for h in note.hashtags.all()])
            # The apps above react after the commit: search indexes it, moderation scans its media (QR codes,
            # text in images, explicit images, copying), and a published note enters traffic pool 1
            # (distribution) and tells the @mentioned people (notifications).
            outbox_record(NOTE_CREATED, note_id=note.pk, published=not draft)
            if probe is not None:
                enqueue(task_by_name("meadow.notes.tasks.note_video_process"), note_id=note.pk)
    except BaseException:
        media.delete_files(saved)
        raise
    if not draft:
        count_on_commit(NOTES_PUBLISHED)
    return note


def _upload_renditions(upload: ImageUpload) -> media.ImageRenditions:
    return media.ImageRenditions(
        thumb=b"",
        detail=b"",
        width=upload.width,
        height=upload.height,
        thumb_width=upload.thumb_width,
        thumb_height=upload.thumb_height,
        color=upload.color,
        blurhash=upload.blurhash,
    )


# --- images kept from a refused publish ---------------------------------------------------------------------------
def image_uploads_keep(*, author: User, images: Sequence[Any]) -> tuple[list[ImageUpload], list[str]]:
    """Keep the images of a publish the server refused, so the composer shows them again and the next submit
    uses them without adding them again. Each is processed like a note's image (upright, WebP, no EXIF/GPS);
    one that cannot be (not an image, too large) is left out. Returns the kept uploads, in order, and the
    messages for the left-out ones."""
    kept: list[ImageUpload] = []
    refused: list[str] = []
    for upload in images:
        if upload is None:
            continue
        try:
            renditions = media.image_process(upload, field="images")
        except ValidationFailed as exc:
            refused.append(f"{getattr(upload, 'name', '')}: {exc.message}")
            continue
        saved: list[str] = []
        try:
            thumb, detail = media.store_renditions(renditions, saved=saved)
            kept.append(
                ImageUpload.objects.create(
                    author=author,
                    thumb=thumb,
                    detail=detail,
                    width=renditions.width,
                    height=renditions.height,
                    thumb_width=renditions.thumb_width,
                    thumb_height=renditions.thumb_height,
                    color=renditions.color,
                    blurhash=renditions.blurhash,
                )
            )
        except BaseException:
            media.delete_files(saved)
            raise
    return kept, refused


def image_uploads_discard(*, author: User, upload_ids: Iterable[int] | None = None) -> int:
    """Delete the author's kept images (those of ``upload_ids``, or all) with their files. Returns how many."""
    qs = ImageUpload.objects.filter(author=author)
    if upload_ids is not None:
        qs = qs.filter(pk__in=list(upload_ids))
    return _uploads_delete(qs)


def image_uploads_purge_expired(*, now: Any = None) -> int:
    """Delete kept images older than ``UPLOAD_KEEP_HOURS`` with their files (periodic). Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=UPLOAD_KEEP_HOURS)
    return _uploads_delete(ImageUpload.objects.filter(created_at__lt=cutoff))


def _uploads_delete(qs: models.QuerySet[ImageUpload]) -> int:
    deleted = 0
    for upload in list(qs):
        # the row first: a publish that took it in the meantime owns the files now
        if ImageUpload.objects.filter(pk=upload.pk).delete()[0]:
            media.delete_files([upload.thumb.name, upload.detail.name])
            deleted += 1
    return deleted


def _note_create(
    *,
    author: User,
    title: str,
    body: str,
    tags: list[tuple[str, str]],
    renditions: list[tuple[media.ImageRenditions, tuple[str, str]]],
    probe: media.VideoProbe | None,
    source: str,
    visibility: str,
    content_type: str,
    location: tuple[str, Decimal | None, Decimal | None],
    draft: bool,
    alts: Sequence[str] = (),
) -> Note:
    now = timezone.now()
    note = Note.objects.create(
        author=author,
        kind=Note.Kind.VIDEO if probe else Note.Kind.IMAGE,
        title=title,
        body=body,
        content_type=content_type,
        visibility=visibility,
        status=Note.Status.DRAFT if draft else Note.Status.PUBLISHED,
        media_state=Note.MediaState.PROCESSING if probe else Note.MediaState.READY,
        location_name=location[0],
        latitude=location[1],
        longitude=location[2],
        created_at=now,
        updated_at=now,
        published_at=None if draft else now,
    )
    NoteImage.objects.bulk_create(
        [
            NoteImage(
                note=note,
                position=position,
                thumb=thumb,
                detail=detail,
                width=r.width,
                height=r.height,
                thumb_width=r.thumb_width,
                thumb_height=r.thumb_height,
                color=r.color,
                blurhash=r.blurhash,
                alt=alts[position] if position < len(alts) else "",
            )
            for position, (r, (thumb, detail)) in enumerate(renditions)
        ]
    )
    if probe is not None:
        NoteVideo.objects.create(
            note=note,
            source=source,
            duration=round(probe.duration, 3),
            width=probe.width,
            height=probe.height,
            has_uploaded_cover=bool(renditions),
        )
    _set_hashtags(note=note, tags=tags)
    NoteMention.objects.bulk_create(
        [NoteMention(note=note, user=u) for u in _mentions_resolve(body=body, author=author)],
        ignore_conflicts=True,
    )
    if note.status == Note.Status.PUBLISHED:
        note_categorize(note=note)
    return note


def _set_hashtags(*, note: Note, tags: list[tuple[str, str]]) -> list[int]:
    """Replace the note's hashtags; returns the ids of the hashtags it had before and has now (whose use counts
    the caller recounts once the note's state is final, see ``hashtags_recount``)."""
    before = list(NoteHashtag.objects.filter(note=note).values_list("hashtag_id", flat=True))
    rows = hashtags_resolve(tags=tags)
    NoteHashtag.objects.filter(note=note).delete()
    NoteHashtag.objects.bulk_create(
        [NoteHashtag(note=note, hashtag=h, position=i) for i, h in enumerate(rows)]
    )
    return sorted({*before, *(h.pk for h in rows)})


# --- edit and delete ------------------------------------------------------------------------------------------------
def _lock_own(*, note: Note, user: User) -> Note:
    locked = Note.objects.select_for_update().filter(pk=note.pk).first()
    if locked is None or locked.status == Note.Status.REMOVED:
        raise NotFound(_("Not found."))
    if locked.author_id != user.pk:
        raise PermissionDenied(_("Only the author can change this note."), code="not_author")
    return locked


def note_update(
    *,
    note: Note,
    editor: User,
    title: str = UNSET,
    body: str = UNSET,
    hashtags: Iterable[str] = UNSET,
    visibility: str = UNSET,
    content_type: str = UNSET,
    location_name: str = UNSET,
    latitude: float | Decimal | None = UNSET,
    longitude: float | Decimal | None = UNSET,
    publish: bool = False,
    within: Callable[[Note], object] | None = None,
) -> Note:
    """Edit a note's text, hashtags, visibility, content type or location, and optionally publish a draft. Only
    the author may; a removed note is gone (404). Media are not edited here (publish a new note).

    ``within(note)`` runs in the edit's transaction once the note row is saved, before its hashtags are
    replaced and recounted (``meadow.publishing`` passes the hold for review and the product tags).
    """
    with transaction.atomic():
        locked = _lock_own(note=note, user=editor)
        was_published = locked.status == Note.Status.PUBLISHED
        old_title, old_body = locked.title, locked.body
        new_title, new_body = note_validate_text(
            title=locked.title if title is UNSET else title, body=old_body if body is UNSET else body
        )
        current = list(
            NoteHashtag.objects.filter(note=locked)
            .order_by("position")
            .values_list("hashtag_id", "hashtag__name")
        )
        if hashtags is UNSET:
            in_old_body = {normalize_hashtag(t) for t in parse_hashtags(old_body)}
            given: list[str] = [name for _id, name in current if name not in in_old_body]
        else:
            given = list(hashtags or [])
        tags = hashtags_collect(body=new_body, given=given)
        name, lat, lon = note_validate_location(
            name=locked.location_name if location_name is UNSET else location_name,
            latitude=locked.latitude if latitude is UNSET else latitude,
            longitude=locked.longitude if longitude is UNSET else longitude,
        )
        if visibility is not UNSET:
            locked.visibility = _choice(visibility, Note.Visibility, field="visibility", default="")
        if content_type is not UNSET:
            locked.content_type = _choice(content_type, Note.ContentType, field="content_type", default="")
        locked.title, locked.body = new_title, new_body
        locked.location_name, locked.latitude, locked.longitude = name, lat, lon
        now = timezone.now()
        locked.updated_at = now
        if publish and locked.status == Note.Status.DRAFT:
            locked.status = Note.Status.PUBLISHED
            locked.published_at = now
        locked.save()
        if within is not None:
            within(locked)
        hashtags_recount(hashtag_ids=_set_hashtags(note=locked, tags=tags))
        if new_body != old_body:
            NoteMention.objects.filter(note=locked).delete()
            NoteMention.objects.bulk_create(
                [NoteMention(note=locked, user=u) for u in _mentions_resolve(body=new_body, author=editor)]
            )
        if locked.status == Note.Status.PUBLISHED:
            note_categorize(note=locked)
        # After the commit: search reindexes it; a draft that goes out is scanned like a publish (moderation),
        # enters traffic pool 1 (distribution) and tells its @mentioned people (notifications); new copy on a
        # published note is re-checked for copying (搬运).
        outbox_record(
            NOTE_UPDATED,
            note_id=locked.pk,
            went_public=not was_published and locked.status == Note.Status.PUBLISHED,
            published=locked.status == Note.Status.PUBLISHED,
            text_changed=(locked.title, locked.body) != (old_title, old_body),
        )
    return locked


def note_edit_screen_text(
    *, note: Note, editor: User, title: Any, body: Any, hashtags: Any, publish: bool
) -> dict[str, Any]:
    """The text an edit is screened on (``publishing.note_update`` hands it to enforcement before
    ``note_update``), built as ``note_publish`` builds it: title and body validated
    (stripped) and the topics collected from the body's #tags plus the listed ones (normalised, the stale
    tags of the old body dropped). Unchanged fields stay ``UNSET`` when nothing is screened."""
    publishing = publish and note.status == Note.Status.DRAFT
    if (
        note.author_id != editor.pk
        or note.status == Note.Status.REMOVED
        or not (publishing or any(v is not UNSET for v in (title, body, hashtags)))
    ):
        return {"title": title, "body": body, "hashtags": hashtags}
    new_title, new_body = note_validate_text(
        title=note.title if title is UNSET else title, body=note.body if body is UNSET else body
    )
    if hashtags is UNSET:
        in_old_body = {normalize_hashtag(t) for t in parse_hashtags(note.body)}
        names = (
            NoteHashtag.objects.filter(note=note).order_by("position").values_list("hashtag__name", flat=True)
        )
        given = [name for name in names if name not in in_old_body]
    else:
        given = list(hashtags or [])
    tags = hashtags_collect(body=new_body, given=given)
    return {"title": new_title, "body": new_body, "hashtags": [display for _name, display in tags]}


def note_delete(*, note: Note, user: User) -> None:
    """Delete a note (soft: status removed, deleted_at set); its files are removed by a background task."""
    with transaction.atomic():
        locked = _lock_own(note=note, user=user)
        Note.objects.filter(pk=locked.pk).update(
            status=Note.Status.REMOVED, deleted_at=timezone.now(), updated_at=timezone.now()
        )
        hashtags_recount(
            hashtag_ids=NoteHashtag.objects.filter(note=locked).values_list("hashtag_id", flat=True)
        )
        enqueue(task_by_name("meadow.notes.tasks.note_media_purge"), note_id=locked.pk)
        outbox_record(NOTE_DELETED, note_id=locked.pk)  # search drops it
