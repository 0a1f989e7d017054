"""Reads about notes: the one access function, the grids (profile, hashtag, latest), hashtags, trending topics
and the 5-3-2 hashtag help."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeGuard

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from meadow.accounts.models import Block, Follow, User
from meadow.accounts.selectors import is_blocked_between
from meadow.core.pagination import clamp_limit, decode_cursor, paginate_desc
from meadow.notes.models import (
    UPLOAD_KEEP_HOURS,
    Hashtag,
    ImageUpload,
    InterestCategory,
    Note,
    NoteHashtag,
    NoteImage,
)
from meadow.notes.text import SUGGEST_FILLER, extract_keywords, normalize_hashtag, parse_hashtags

TRENDING_DAYS = 7
TRENDING_HALF_LIFE_HOURS = 24.0
TRENDING_CACHE_SECONDS = 300


# --- what apps above notes add to every read -------------------------------------------------------------------
# Notes sits below enforcement and engagement, yet every list and the note page must leave out what enforcement
# limits (限流) or holds for review, and carry the viewer's likes and saves (and leave out what they said "not
# interested" to) in the same SELECT. Those apps hand their parts in from their ``AppConfig.ready``
# (``notes_enforcement_set``, ``notes_engagement_set``), so the queries and their counts are what they were and
# notes imports neither.
_ENFORCEMENT: dict[str, Callable[..., Any]] = {}
_ENGAGEMENT: dict[str, Callable[..., Any]] = {}


def notes_enforcement_set(
    *, visible_in_distribution: Callable[[QuerySet[Note]], QuerySet[Note]], note_is_held: Callable[..., bool]
) -> None:
    """Enforcement's filter without limited notes, and its check whether a note is held for review."""
    _ENFORCEMENT.update(visible_in_distribution=visible_in_distribution, note_is_held=note_is_held)


def notes_engagement_set(
    *,
    annotate_viewer: Callable[[QuerySet[Note], User | None], QuerySet[Note]],
    exclude_not_interested: Callable[[QuerySet[Note], User | None], QuerySet[Note]],
    viewer_state: Callable[..., dict[str, bool]],
) -> None:
    """Engagement's viewer annotations (liked, saved), its "not interested" filter and one note's state."""
    _ENGAGEMENT.update(
        annotate_viewer=annotate_viewer,
        exclude_not_interested=exclude_not_interested,
        viewer_state=viewer_state,
    )


def _hook(hooks: dict[str, Callable[..., Any]], name: str) -> Callable[..., Any]:
    try:
        return hooks[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"meadow.notes: no {name} (handed in by the app above when ready)"
        ) from None


def visible_in_distribution(qs: QuerySet[Note]) -> QuerySet[Note]:
    """``qs`` without the notes enforcement limits (限流) or holds for review."""
    return _hook(_ENFORCEMENT, "visible_in_distribution")(qs)


def note_is_held(*, note_id: int) -> bool:
    """Whether enforcement holds the note for a moderator (审核中)."""
    return bool(_hook(_ENFORCEMENT, "note_is_held")(note_id=note_id))


def note_viewer_state(*, viewer: User | None, note: Note) -> dict[str, bool]:
    """``{"liked", "saved"}`` of ``viewer`` for ``note`` (the annotations of the reads below when present)."""
    return _hook(_ENGAGEMENT, "viewer_state")(viewer=viewer, note=note)


def _signed_in(viewer: User | None) -> TypeGuard[User]:
    return viewer is not None and getattr(viewer, "is_authenticated", False)


def notes_with_relations(qs: QuerySet[Note]) -> QuerySet[Note]:
    """Everything the note shape needs, in a fixed number of queries whatever the page size."""
    return qs.select_related("author", "video").prefetch_related(
        Prefetch("images", queryset=NoteImage.objects.order_by("position", "id")),
        Prefetch(
            "hashtag_links", queryset=NoteHashtag.objects.select_related("hashtag").order_by("position")
        ),
        "categories",
        "mention_links__user",
    )


def is_active_follower(*, viewer: User | None, author: User) -> bool:
    if not _signed_in(viewer):
        return False
    return Follow.objects.filter(follower=viewer, followee=author, status=Follow.Status.ACTIVE).exists()


def note_visible_to(*, note: Note, viewer: User | None) -> bool:
    """Who sees a note: the author sees their own drafts and notes still processing; others see published,
    ready notes — public ones unless a block stands between them, followers-only ones (and every note of a
    private account) only as approved followers, private ones never. A removed note is seen by nobody."""
    if note.status == Note.Status.REMOVED or not note.author.is_active:
        return False
    if _signed_in(viewer) and viewer.pk == note.author_id:
        return True
    if note.status != Note.Status.PUBLISHED or note.media_state != Note.MediaState.READY:
        return False
    if note.visibility == Note.Visibility.PRIVATE:
        return False
    if note_is_held(note_id=note.pk):  # held for review: not even a direct link shows it to others
        return False
    if _signed_in(viewer) and is_blocked_between(a=viewer, b=note.author):
        return False
    if note.visibility == Note.Visibility.FOLLOWERS or note.author.is_private:
        return is_active_follower(viewer=viewer, author=note.author)
    return True


def note_get_for_viewer(*, viewer: User | None, note_id: int, hydrate: bool = True) -> Note:
    """The note as ``viewer`` may see it, with everything the note shape needs; 404 if missing or hidden.
    ``hydrate=False``: only the note, its author and the viewer's liked/saved (one query: for an action on
    the note that does not answer with its shape, as a like)."""
    qs = _engagement(Note.objects.filter(pk=note_id), viewer)
    note = (notes_with_relations(qs) if hydrate else qs.select_related("author")).first()
    if note is None or not note_visible_to(note=note, viewer=viewer):
        raise Http404
    return note


def _visible_q(viewer: User | None) -> Q:
    """The list form of ``note_visible_to`` for published notes of others, plus the viewer's own."""
    public = Q(visibility=Note.Visibility.PUBLIC, author__is_private=False)
    others = Q(status=Note.Status.PUBLISHED, media_state=Note.MediaState.READY, author__is_active=True)
    if not _signed_in(viewer):
        return others & public
    followed = Follow.objects.filter(follower=viewer, status=Follow.Status.ACTIVE).values("followee")
    as_follower = Q(author__in=followed, visibility__in=[Note.Visibility.PUBLIC, Note.Visibility.FOLLOWERS])
    own = Q(author=viewer, status=Note.Status.PUBLISHED)
    return (others & (public | as_follower)) | own


def _exclude_blocked(qs: QuerySet[Note], viewer: User | None) -> QuerySet[Note]:
    if not _signed_in(viewer):
        return qs
    return qs.exclude(author__in=Block.objects.filter(blocker=viewer).values("blocked")).exclude(
        author__in=Block.objects.filter(blocked=viewer).values("blocker")
    )


def _engagement(qs: QuerySet[Note], viewer: User | None, *, feed: bool = False) -> QuerySet[Note]:
    """The viewer's likes and saves as annotations (no extra query); in feeds, without the notes, authors and
    categories the viewer said "not interested" (不喜欢) to."""
    if feed:
        qs = _hook(_ENGAGEMENT, "exclude_not_interested")(qs, viewer)
    return _hook(_ENGAGEMENT, "annotate_viewer")(qs, viewer)


def _page(
    qs: QuerySet[Note],
    *,
    cursor: str | None,
    limit: int | None,
    viewer: User | None = None,
    feed: bool = False,
) -> dict[str, Any]:
    qs = _engagement(qs, viewer, feed=feed)
    return paginate_desc(notes_with_relations(qs), cursor=cursor, limit=limit, shape=lambda n: n)


def can_see_profile_notes(*, viewer: User | None, author: User) -> bool:
    """A private account's notes are for itself and its approved followers."""
    if _signed_in(viewer) and viewer.pk == author.pk:
        return True
    return not author.is_private or is_active_follower(viewer=viewer, author=author)


def notes_for_profile(
    *, viewer: User | None, author: User, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """A profile's grid, newest first: ``{"items": [Note], "next_cursor"}`` (published notes only; drafts
    are in ``notes_drafts``)."""
    if not can_see_profile_notes(viewer=viewer, author=author) or (
        _signed_in(viewer) and viewer.pk != author.pk and is_blocked_between(a=viewer, b=author)
    ):
        return {"items": [], "next_cursor": None}
    qs = Note.objects.filter(author=author).filter(_visible_q(viewer))
    if not (_signed_in(viewer) and viewer.pk == author.pk):  # the author sees their limited notes
        qs = visible_in_distribution(qs)
    return _page(qs, cursor=cursor, limit=limit, viewer=viewer)


def notes_drafts(*, author: User, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """The author's drafts, newest first."""
    return _page(Note.objects.filter(author=author, status=Note.Status.DRAFT), cursor=cursor, limit=limit)


def notes_for_hashtag(
    *, viewer: User | None, hashtag: Hashtag, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """A topic page's grid, newest first."""
    qs = _exclude_blocked(
        Note.objects.filter(hashtag_links__hashtag=hashtag).filter(_visible_q(viewer)), viewer
    )
    qs = visible_in_distribution(qs)
    return _page(qs, cursor=cursor, limit=limit, viewer=viewer, feed=True)


def notes_tagging_product(
    *, viewer: User | None, product_id: int, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """The notes that tag a product ("see what people say" on the product page), newest first: only notes the
    viewer may see, without limited or held ones."""
    qs = _exclude_blocked(
        Note.objects.filter(product_tags__product_id=product_id).filter(_visible_q(viewer)), viewer
    )
    return _page(visible_in_distribution(qs), cursor=cursor, limit=limit, viewer=viewer)


def _public_notes() -> QuerySet[Note]:
    """Published, ready, public notes of public, active accounts, not limited (限流) or held for review: what
    any feed may show anyone."""
    return visible_in_distribution(
        Note.objects.filter(
            status=Note.Status.PUBLISHED,
            media_state=Note.MediaState.READY,
            visibility=Note.Visibility.PUBLIC,
            author__is_private=False,
            author__is_active=True,
        )
    )


def notes_public() -> QuerySet[Note]:
    """The notes any feed may show anyone (``_public_notes``): what may leave its author's audience — topic
    counts, the collaborative-filtering model, anything derived for everyone."""
    return _public_notes()


def notes_latest_public(
    *, viewer: User | None, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """The placeholder Discover feed until distribution lands: the newest public notes of public accounts,
    without blocked authors."""
    return _page(
        _exclude_blocked(_public_notes(), viewer), cursor=cursor, limit=limit, viewer=viewer, feed=True
    )


def hashtag_get(*, name: str, viewer: User | None = None) -> Hashtag:
    """A topic by any spelling (#KL美食, kl美食, ＫＬ美食 …); 404 if nobody used it on a note everyone may see
    (``use_count``), unless ``viewer`` may see a note carrying it (their own, or one they follow): a topic used
    only on followers-only or only-me notes does not exist for anyone else."""
    hashtag = (
        Hashtag.objects.prefetch_related("categories")
        .filter(name=normalize_hashtag(name or "")[:200])
        .first()
    )
    if hashtag is None:
        raise Http404
    if hashtag.use_count <= 0 and not (
        _signed_in(viewer)
        and _exclude_blocked(
            Note.objects.filter(hashtag_links__hashtag=hashtag).filter(_visible_q(viewer)), viewer
        ).exists()
    ):
        raise Http404
    return hashtag


def categories_all() -> list[InterestCategory]:
    return list(InterestCategory.objects.filter(is_active=True))


# --- trending and the 5-3-2 help ------------------------------------------------------------------------------------
def hashtags_trending(*, days: int = TRENDING_DAYS, limit: int = 10) -> list[Hashtag]:
    """The most used hashtags on public notes published in the last ``days``, each use weighted by recency
    (exponential decay, half-life one day). Cached for five minutes."""
    key = f"notes:trending:{days}:{limit}"
    ids = cache.get(key)
    if ids is None:
        now = timezone.now()
        rows = (
            NoteHashtag.objects.filter(
                note__in=_public_notes().filter(published_at__gte=now - timedelta(days=days)).values("pk")
            )
            .order_by("-note__published_at")
            .values_list("hashtag_id", "note__published_at")[:5000]
        )
        scores: dict[int, float] = {}
        decay = math.log(2) / TRENDING_HALF_LIFE_HOURS
        for hashtag_id, published in rows:
            if published is None:
                continue
            age_hours = max(0.0, (now - published).total_seconds() / 3600)
            scores[hashtag_id] = scores.get(hashtag_id, 0.0) + math.exp(-decay * age_hours)
        ids = [hid for hid, _s in sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))[:limit]]
        cache.set(key, ids, TRENDING_CACHE_SECONDS)
    found = Hashtag.objects.in_bulk(ids)
    return [found[i] for i in ids if i in found]


def hashtags_cooccurring(*, names: list[str], exclude: set[str], limit: int = 3) -> list[Hashtag]:
    """Hashtags that appear together with ``names`` on recent notes everyone may see, most frequent first."""
    if not names:
        return []
    base_ids = list(Hashtag.objects.filter(name__in=names).values_list("id", flat=True))
    if not base_ids:
        return []
    note_ids = list(
        NoteHashtag.objects.filter(hashtag_id__in=base_ids, note__in=_public_notes().values("pk"))
        .order_by("-note_id")
        .values_list("note_id", flat=True)[:500]
    )
    rows = (
        NoteHashtag.objects.filter(note_id__in=note_ids)
        .exclude(hashtag_id__in=base_ids)
        .values("hashtag_id")
        .annotate(n=Count("id"))
        .order_by("-n", "-hashtag_id")[: limit + len(exclude) + 5]
    )
    ids = [row["hashtag_id"] for row in rows]
    found = Hashtag.objects.in_bulk(ids)
    result = [found[i] for i in ids if i in found and found[i].name not in exclude]
    return result[:limit]


def hashtags_suggest(*, title: str, body: str, viewer: User | None = None) -> dict[str, list[str]]:
    """The 5-3-2 hashtag help: 5 core keywords (核心关键词) from the note's own title and body, 3 derived ones
    (衍生词) that co-occur with them on other notes, 2 trending topics (推荐话题) weighted by recency — only trends
    related to the note (used on notes with its keywords, or sharing a word with them). Never a filler word
    (``SUGGEST_FILLER``), never a tag the body already has, never more than 10, no duplicates after
    normalisation."""
    present = {normalize_hashtag(tag) for tag in parse_hashtags(body or "")}
    text = f"{title or ''}\n{title or ''}\n{body or ''}"  # the title weighs double
    candidates = [w for w in extract_keywords(text, top=20) if w not in SUGGEST_FILLER and w not in present][
        :12
    ]
    known = set(Hashtag.objects.filter(name__in=candidates, use_count__gt=0).values_list("name", flat=True))
    if known:
        ranked = extract_keywords(text, top=20, known=known)
        core = [w for w in ranked if w in set(candidates)][:5]
    else:
        core = candidates[:5]
    seen = set(core) | present
    keywords = core + sorted(present)
    related = hashtags_cooccurring(names=keywords, exclude=seen, limit=20)
    derived = [h.display_name for h in related[:3]]
    seen.update(normalize_hashtag(d) for d in derived)
    near = {h.name for h in related}
    trending: list[str] = []
    for h in hashtags_trending(limit=10 + len(seen)):
        if h.name in seen or len(trending) >= 2:
            continue
        if h.name in near or any(len(k) >= 2 and (k in h.name or h.name in k) for k in keywords):
            trending.append(h.display_name)
            seen.add(h.name)
    return {"core": core, "derived": derived, "trending": trending}


def notes_following(
    *, viewer: User | None, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """The Following feed: the newest notes of the accounts the viewer follows (followers-only ones too)."""
    clamp_limit(limit)  # the same answer to a bad limit or cursor, signed in or not
    decode_cursor(cursor)
    if not _signed_in(viewer):
        return {"items": [], "next_cursor": None}
    followed = Follow.objects.filter(follower=viewer, status=Follow.Status.ACTIVE).values("followee_id")
    qs = visible_in_distribution(Note.objects.filter(author_id__in=followed).filter(_visible_q(viewer)))
    return _page(_exclude_blocked(qs, viewer), cursor=cursor, limit=limit, viewer=viewer, feed=True)


def notes_following_visible(*, viewer: User) -> QuerySet[Note]:
    """What the Following feed may show the viewer, as a queryset without order or annotations: the notes of
    the accounts the viewer follows now that the viewer may see (followers-only ones too), not limited or
    held, no block either way, not "not interested" — the filter of :func:`notes_following`. Distribution's
    precomputed Following feed reads note ids from its store and passes them through this, so an unfollow, a
    block, a limit, a removal or a note made private acts on the next page."""
    followed = Follow.objects.filter(follower=viewer, status=Follow.Status.ACTIVE).values("followee_id")
    qs = visible_in_distribution(Note.objects.filter(author_id__in=followed).filter(_visible_q(viewer)))
    return _hook(_ENGAGEMENT, "exclude_not_interested")(_exclude_blocked(qs, viewer), viewer)


def notes_hydrate(qs: QuerySet[Note], *, viewer: User | None) -> list[Note]:
    """The notes of ``qs`` with the note shape's relations and the viewer's liked/saved (newest first)."""
    return list(notes_with_relations(_engagement(qs, viewer)).order_by("-id"))


def notes_nearby(
    *, viewer: User | None, place: str, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Nearby from the place on the viewer's profile (the browser's position goes to the distribution feed):
    public notes whose location tag names it — or, for a place the gazetteer knows (``meadow.notes.places``),
    any of its other names and districts, or whose coordinates lie within ``MEADOW_NEARBY_RADIUS_KM`` of its
    centre (a bounding box)."""
    from django.conf import settings

    from meadow.notes.places import place_find

    place = " ".join((place or "").split())
    if not place:
        return {"items": [], "next_cursor": None}
    match = Q(location_name__icontains=place)
    known = place_find(place)
    if known is not None:
        for name in (known.name, *known.names):
            match |= Q(location_name__icontains=name)
        radius = float(settings.MEADOW_NEARBY_RADIUS_KM)
        dlat = radius / 111.32
        dlng = radius / (111.32 * max(math.cos(math.radians(known.lat)), 0.01))
        match |= Q(
            latitude__gte=Decimal(str(round(known.lat - dlat, 2))),
            latitude__lte=Decimal(str(round(known.lat + dlat, 2))),
            longitude__gte=Decimal(str(round(known.lng - dlng, 2))),
            longitude__lte=Decimal(str(round(known.lng + dlng, 2))),
        )
    qs = _public_notes().filter(match)
    return _page(_exclude_blocked(qs, viewer), cursor=cursor, limit=limit, viewer=viewer, feed=True)


def image_uploads_for(*, author: User, upload_ids: list[Any]) -> list[ImageUpload]:
    """The author's kept images (``services.image_uploads_keep``) among ``upload_ids``, in that order; ids that
    are not numbers, not the author's or expired are left out (someone else's upload is never usable)."""
    ids = [int(i) for i in upload_ids if str(i).strip().isdigit()]
    if not ids:
        return []
    cutoff = timezone.now() - timedelta(hours=UPLOAD_KEEP_HOURS)
    found = {u.pk: u for u in ImageUpload.objects.filter(author=author, pk__in=ids, created_at__gte=cutoff)}
    seen: set[int] = set()
    ordered = []
    for i in ids:
        if i in found and i not in seen:
            seen.add(i)
            ordered.append(found[i])
    return ordered
