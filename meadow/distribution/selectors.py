"""Distribution reads: the Discover, Following and Nearby feeds, "why am I seeing this?", impression tokens,
reader interests, and a note's pool level and history (for the creator centre).

Discover, per reader and session:

1. candidates from the ``CandidateSource`` implementations in ``sources.py``, each one bounded query through
   an index, merged by ``engine.candidates.generate`` (the same function ``meadow recommend-offline`` runs
   on its file-backed sources) — the reader's current pools (active pool
   notes of the reader's top categories), interest-matched notes (newest notes of the top categories and
   hashtags), collaborative filtering (``cf_store.load_current_model()``), the follow graph (newest notes of
   followed accounts), trending (the highest pools) and the newest public notes; cold start (no interests yet)
   adds notes from the reader's place and by authors writing in the reader's language;
2. ``generate``'s details callback: one query for what the ranker needs about them (only notes any feed may
   show: ``visible_in_distribution``, not blocked, not "not interested"), one for their topics;
3. ``engine.ranker.rank`` (helper B's documented formula, at most 2 cards per author in any 20), without the
   notes the reader already saw (impressions) or hid;
4. the ranked list is kept in the cache for the session; the cursor names the session and the offset, so the
   next pages are read from it (stable, never a card twice) and a page costs a constant number of queries;
5. the API makes the page's cards with ``cards.feed_cards``: one live query through the same visibility
   queryset (counts, author, the reader's liked/saved) and the shared, per-version card cache; the home page
   hydrates notes (:func:`feed_discover`).

Candidate lists and what only an edit changes about a note are cached (``sources.py``); whether a note may be
shown is always decided live, by the visibility queryset (step 2, and again when a page is shown).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeGuard

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from meadow.accounts.models import Follow, User
from meadow.core.errors import ValidationFailed
from meadow.core.metrics import FEED_SECONDS, timed
from meadow.core.pagination import (
    clamp_limit,
    digit_token_decode,
    digit_token_encode,
    digit_token_pattern,
)
from meadow.distribution import sources as feed_sources
from meadow.distribution.conf import interest_config, pool_config
from meadow.distribution.engine import candidates as engine_candidates
from meadow.distribution.engine import interests as interest_rules
from meadow.distribution.engine import ranker as engine_ranker
from meadow.distribution.engine.candidates import CandidateSource
from meadow.distribution.engine.ranker import Candidate, Ranked
from meadow.distribution.models import InterestProfile, NotePool, PoolTransition
from meadow.distribution.tokens import ImpressionToken as ImpressionToken
from meadow.distribution.tokens import impression_token
from meadow.distribution.tokens import impression_token_read as impression_token_read
from meadow.notes.models import InterestCategory, Note

FEED_LIST = 200  # cards ranked at once per session refill
SEEN_MAX = 2000  # the latest impressions and hides of a reader that are never shown again
WHY_MAX = 400  # reasons remembered per reader for "why am I seeing this?"
NEARBY_MAX = 500


def _signed_in(viewer: User | None) -> TypeGuard[User]:
    return viewer is not None and getattr(viewer, "is_authenticated", False)


# --- pools (for the creator centre) -------------------------------------------------------------------------------
def note_pool_score(*, note_id: int) -> dict[str, float]:
    """The numbers the traffic pools judge a note by, as the pool evaluation reads them (``services._snapshots``):
    ``score`` (the weighted sum of its counted signals, ``NoteStats.signal_score``), ``reads``, ``interactions``
    (likes + saves + comments + shares) and ``impressions`` — all without the signals the integrity checks hold
    out of counting (fake engagement) — and ``held_score``, ``held_reads``, ``held_interactions``: what is held."""
    from meadow.distribution.services import _snapshots
    from meadow.engagement.models import NoteStats

    snap = _snapshots([note_id]).get(note_id, {})
    stats = NoteStats.objects.filter(note_id=note_id).first()
    return {
        "score": float(snap.get("score", 0.0)),
        "reads": float(snap.get("reads", 0)),
        "interactions": float(snap.get("interactions", 0)),
        "impressions": float(stats.impression_count if stats else 0),
        "held_score": float(stats.held_score if stats else 0.0),
        "held_reads": float(stats.held_reads if stats else 0),
        "held_interactions": float(stats.held_interactions if stats else 0),
    }


def note_pool_level(*, note_id: int) -> int | None:
    """The note's current pool level (1…6), ``None`` if it never entered a pool."""
    level = NotePool.objects.filter(note_id=note_id).values_list("level", flat=True).first()
    return level or None


def note_pool_history(*, note_id: int) -> list[dict]:
    """The note's pool transitions, oldest first."""
    rows = PoolTransition.objects.filter(note_id=note_id).order_by("id")
    return [
        {
            "at": t.at,
            "from_level": t.from_level,
            "to_level": t.to_level,
            "outcome": t.outcome,
            "impressions": t.impressions,
            "score_per_impression": t.score_per_impression,
            "ctr": t.ctr,
            "interaction_rate": t.interaction_rate,
            "completion_rate": t.completion_rate,
        }
        for t in rows
    ]


# --- interests ----------------------------------------------------------------------------------------------------
def reader_interests(*, viewer: User | None, now: datetime | None = None) -> dict[str, float]:
    """The reader's interests now (decayed learned weights plus picked categories); ``{}`` if none."""
    if not _signed_in(viewer):
        return {}
    row = InterestProfile.objects.filter(pk=viewer.pk).values("weights", "picked", "updated_at").first()
    if row is None:
        return {}
    elapsed = ((now or timezone.now()) - row["updated_at"]).total_seconds()
    return interest_rules.effective(
        row["weights"] or {}, elapsed_seconds=elapsed, picked=row["picked"] or [], config=interest_config()
    )


def interests_onboarded(*, user: User) -> bool:
    return InterestProfile.objects.filter(pk=user.pk, onboarded_at__isnull=False).exists()


def interests_picked(*, user: User) -> list[str]:
    return list(InterestProfile.objects.filter(pk=user.pk).values_list("picked", flat=True).first() or [])


def _category_maps() -> tuple[dict[str, int], dict[str, InterestCategory]]:
    """slug → id and slug → category of the active taxonomy (cached five minutes)."""
    found = cache.get("distribution:categories")
    if found is None:
        found = {c.slug: c for c in InterestCategory.objects.filter(is_active=True)}
        cache.set("distribution:categories", found, 300)
    return {slug: c.pk for slug, c in found.items()}, found


# --- visibility shared by every feed --------------------------------------------------------------------------------
def _feed_notes(viewer: User | None) -> QuerySet[Note]:
    """Notes any feed may show this viewer: published, ready, public, of public active accounts, not limited
    or held, no block either way, not "not interested"."""
    from meadow.engagement.selectors import notes_exclude_not_interested
    from meadow.notes.selectors import _exclude_blocked, _public_notes

    return notes_exclude_not_interested(_exclude_blocked(_public_notes(), viewer), viewer)


def _hydrate(viewer: User | None, ids: Sequence[int], base: QuerySet[Note] | None = None) -> list[Note]:
    """The notes of ``ids`` a feed may still show, in that order, with everything the card needs."""
    from meadow.engagement.selectors import notes_annotate_viewer
    from meadow.notes.selectors import notes_with_relations

    if not ids:
        return []
    visible = _feed_notes(viewer) if base is None else base
    qs = notes_with_relations(notes_annotate_viewer(visible.filter(pk__in=list(ids)), viewer))
    found = {n.pk: n for n in qs}
    return [found[i] for i in ids if i in found]


def reader_seen_ids(*, viewer: User | None) -> set[int]:
    """Notes the reader already saw (impressions) or hid, the latest ``SEEN_MAX``: never shown again."""
    if not _signed_in(viewer):
        return set()
    from meadow.engagement.models import EngagementEvent, Signal

    return set(
        EngagementEvent.objects.filter(user=viewer, kind__in=[Signal.IMPRESSION, Signal.NOT_INTERESTED])
        .order_by("-id")
        .values_list("note_id", flat=True)[:SEEN_MAX]
    )


# --- candidates ---------------------------------------------------------------------------------------------------
def discover_sources(
    *, viewer: User | None, interests: dict[str, float]
) -> tuple[list[CandidateSource], dict[str, int]]:
    """The reader's candidate sources (``sources.py``, each one bounded query) and how many candidates to ask
    each source name for."""
    n = settings.MEADOW_FEED_CANDIDATES
    slug_ids, _categories = _category_maps()
    top = max((w for w in interests.values() if w > 0), default=0.0)
    cats = [c for c in interest_rules.top_topics(interests, n=5, categories=True) if c in slug_ids]
    cat_weight = {slug_ids[c]: interests[c] / top for c in cats} if top else {}
    tags = [t[1:] for t in interest_rules.top_topics(interests, n=5, categories=False)]
    tag_weight = {t: interests["#" + t] / top for t in tags} if top else {}
    found: list[CandidateSource] = [
        feed_sources.PoolSource(list(cat_weight)),
        feed_sources.CategorySource(cat_weight),
        feed_sources.HashtagSource(tag_weight),
    ]
    if _signed_in(viewer):
        cf = feed_sources.cf_source()
        if cf is not None:
            found.append(cf)
        found.append(feed_sources.FollowSource())
    found += [feed_sources.TrendingSource(pool_config().top_level), feed_sources.NewestSource()]
    if not interests and _signed_in(viewer):  # cold start: the reader's place and language
        if viewer.location:
            found.append(feed_sources.PlaceSource(viewer.location))
        if viewer.language:
            found.append(feed_sources.LanguageSource(viewer.language))
    per_key = n // 2 * max(len(cat_weight), 1)  # n/2 per category, as many for the hashtags
    budget = {
        "pool": per_key if cat_weight else n,
        "interest": per_key,
        "cf": n,
        "follow": n // 2,
        "trending": n // 2,
        "popular": n // 2,
        "location": n // 4,
    }
    return found, budget


def discover_candidates(
    *,
    viewer: User | None,
    interests: dict[str, float],
    seen: set[int],
    now: datetime,
    base: QuerySet[Note] | None = None,
) -> list[Candidate]:
    """Every candidate source (module docstring) merged by ``engine.candidates.generate`` — the function
    ``meadow recommend-offline`` uses — with the ranker's details of the notes a feed may show (the others
    are dropped); a fixed number of queries."""
    found, budget = discover_sources(viewer=viewer, interests=interests)
    visible = _feed_notes(viewer) if base is None else base
    return engine_candidates.generate(
        viewer.pk if _signed_in(viewer) else 0,
        found,
        n_per_source=budget,
        exclude=seen,
        meta=lambda ids: feed_sources.note_meta(ids, visible=visible, now=now),
        known_only=True,
    )


# --- Discover -----------------------------------------------------------------------------------------------------
def _reader_key(viewer: User | None) -> str:
    return str(viewer.pk) if _signed_in(viewer) else "anon"


# Feed cursors (base64url of digits, see ``meadow.core.pagination``): Discover names the ranked session (12
# random digits) and the offset, Nearby the offset. The API's schema states the same patterns.
DISCOVER_SESSION_DIGITS = 12
OFFSET_DIGITS_MAX = 9
DISCOVER_CURSOR_PATTERN = digit_token_pattern(
    "d1", min_digits=DISCOVER_SESSION_DIGITS + 1, max_digits=DISCOVER_SESSION_DIGITS + OFFSET_DIGITS_MAX
)
NEARBY_CURSOR_PATTERN = digit_token_pattern("n1", min_digits=1, max_digits=OFFSET_DIGITS_MAX)


def discover_cursor_encode(session: str, offset: int) -> str:
    return digit_token_encode("d1", f"{session}{offset}")


def _discover_cursor_decode(cursor: str | None) -> tuple[str, int] | None:
    digits = digit_token_decode(cursor, kind="d1", pattern=DISCOVER_CURSOR_PATTERN)
    if digits is None:
        return None
    return digits[:DISCOVER_SESSION_DIGITS], int(digits[DISCOVER_SESSION_DIGITS:])


def nearby_cursor_encode(offset: int) -> str:
    return digit_token_encode("n1", str(offset))


def _remember_why(viewer: User | None, reasons: dict[int, Sequence[Sequence[str]]]) -> None:
    if not _signed_in(viewer) or not reasons:
        return
    key = f"distribution:why:{viewer.pk}"
    known: dict[int, Any] = cache.get(key) or {}
    known.update({k: [list(r) for r in v] for k, v in reasons.items()})
    if len(known) > WHY_MAX:
        known = dict(list(known.items())[-WHY_MAX:])
    cache.set(key, known, settings.MEADOW_FEED_SESSION_SECONDS * 4)


def _maybe_evaluate_pools() -> None:
    """With MEADOW_TASKS_EAGER there is no beat: the first feed request each minute runs one batch inline."""
    if settings.CELERY_TASK_ALWAYS_EAGER and cache.add("distribution:pools-evaluated", 1, 60):
        from meadow.distribution.services import pools_evaluate_due

        pools_evaluate_due()


def discover_page(
    *, viewer: User | None, cursor: str | None = None, limit: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Timed (``meadow_feed_seconds{feed="discover"}``): see :func:`_discover_page`."""
    with timed(FEED_SECONDS, feed="discover"):
        return _discover_page(viewer=viewer, cursor=cursor, limit=limit, now=now)


def _discover_page(
    *, viewer: User | None, cursor: str | None = None, limit: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """One page of Discover as rows, before the cards are made: ``{"rows": [[note id, reasons, author id,
    pool level, main topics]], "next_cursor", "visible", "checked"}`` — ``visible`` is the feed's visibility queryset for
    this reader, which the page's notes must still pass when they are shown (:func:`feed_discover`,
    ``cards.feed_cards``); ``checked`` says that every row was ranked in this very call, from candidates that
    passed ``visible`` a moment ago (a new session), so the page need not ask again."""
    size = clamp_limit(limit)
    now = now or timezone.now()
    reader = _reader_key(viewer)
    state: dict[str, Any] | None = None
    position = _discover_cursor_decode(cursor)
    if position is not None:
        session, offset = position
        state = cache.get(f"distribution:feed:{reader}:{session}")
    else:
        session, offset = get_random_string(DISCOVER_SESSION_DIGITS, allowed_chars="0123456789"), 0
        _maybe_evaluate_pools()
    if state is None:
        state = {"items": []}  # a new session, or one that expired: rank afresh without what was served
        offset = 0
    items: list[list[Any]] = state["items"]
    visible = _feed_notes(viewer)  # built once: the candidates and the page both go through it
    changed = False
    checked = not items  # nothing ranked yet: every row of this page comes from this call's candidates
    if offset + size > len(items):
        changed = True
        served = {row[0] for row in items}
        seen = reader_seen_ids(viewer=viewer) | served
        interests = reader_interests(viewer=viewer, now=now)
        candidates = discover_candidates(viewer=viewer, interests=interests, seen=seen, now=now, base=visible)
        authors = {c.item: c.author for c in candidates}
        levels = {c.item: c.pool_level for c in candidates}
        topics = {c.item: list(engine_ranker.main_topics(c.topics)) for c in candidates}
        ranked: list[Ranked] = engine_ranker.rank(
            candidates,
            interests=interests,
            seen=seen,
            k=FEED_LIST,
            preceding_authors=[row[2] for row in items[-19:]],
            preceding_topics=[row[4] if len(row) > 4 else () for row in items[-19:]],
        )
        items.extend(
            [
                r.item,
                [list(x) for x in r.reasons],
                authors.get(r.item),
                levels.get(r.item, 0),
                topics.get(r.item, []),
            ]
            for r in ranked
        )
    page = items[offset : offset + size]
    more = offset + size < len(items) or len(items) >= FEED_LIST
    next_offset = offset + len(page)
    if changed:  # a cached page costs one cache read: the state is written only when it was (re)ranked
        cache.set_many(
            {f"distribution:feed:{reader}:{session}": state, f"distribution:feed-latest:{reader}": session},
            settings.MEADOW_FEED_SESSION_SECONDS,
        )
    return {
        "rows": page,
        "next_cursor": discover_cursor_encode(session, next_offset) if more and page else None,
        "visible": visible,
        "checked": checked and changed,
    }


def discover_token(*, viewer: User | None, row: Sequence[Any]) -> str:
    """The impression token of a Discover card (``row`` of :func:`discover_page`)."""
    return impression_token(
        reader_id=viewer.pk if _signed_in(viewer) else None, note_id=row[0], source="discover", level=row[3]
    )


def feed_discover(
    *, viewer: User | None, cursor: str | None = None, limit: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """One page of Discover as notes (the home page's grid): ``{"items": [Note], "next_cursor"}``; every note
    carries ``feed_reasons``, ``feed_level`` and ``impression_token``. (The API makes its cards from the
    shared card cache instead: ``cards.feed_cards``.)"""
    found = discover_page(viewer=viewer, cursor=cursor, limit=limit, now=now)
    page = found["rows"]
    notes = _hydrate(viewer, [row[0] for row in page], base=found["visible"])
    meta = {row[0]: row for row in page}
    for note in notes:
        row = meta[note.pk]
        note.feed_reasons = [tuple(r) for r in row[1]]
        note.feed_level = row[3]
        note.impression_token = discover_token(viewer=viewer, row=row)
    return {"items": notes, "next_cursor": found["next_cursor"]}


# --- Following and Nearby -----------------------------------------------------------------------------------------
def feed_following(
    *, viewer: User | None, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """The Following feed: the newest notes of the accounts the reader follows, read from the reader's
    precomputed feed (``distribution/following.py``) through the live visibility filter, with impression
    tokens and the follow reason."""
    from meadow.distribution.following import following_page
    from meadow.notes.selectors import notes_following, notes_following_visible, notes_hydrate

    with timed(FEED_SECONDS, feed="following"):
        page = None
        if _signed_in(viewer):
            visible = notes_following_visible(viewer=viewer)
            page = following_page(
                viewer=viewer,
                cursor=cursor,
                limit=limit,
                fetch=lambda ids: notes_hydrate(visible.filter(pk__in=[n for n, _a in ids]), viewer=viewer),
                key=lambda note: note.pk,
                older=lambda c, n: notes_following(viewer=viewer, cursor=c, limit=n),
            )
        if page is None:
            page = notes_following(viewer=viewer, cursor=cursor, limit=limit)
        _following_decorate(viewer, page)
    return page


def feed_following_notes(
    *, viewer: User | None, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Following read from the notes themselves (the query it ran on every request before it was
    precomputed): past the stored ids of a feed cut off at the cap, and when the store cannot be read."""
    from meadow.notes.selectors import notes_following

    page = notes_following(viewer=viewer, cursor=cursor, limit=limit)
    _following_decorate(viewer, page)
    return page


def _following_decorate(viewer: User | None, page: dict[str, Any]) -> None:
    reader_id = viewer.pk if _signed_in(viewer) else None
    for note in page["items"]:
        note.feed_reasons = [("follow", str(note.author_id))]
        note.feed_level = 0
        note.impression_token = impression_token(reader_id=reader_id, note_id=note.pk, source="following")
    _remember_why(viewer, {n.pk: n.feed_reasons for n in page["items"]})


def following_cards_decorate(*, viewer: User, cards: list[dict[str, Any]], authors: dict[int, int]) -> None:
    """Following's feed fields on cards made by ``cards.feed_cards`` (``authors``: note id → author id)."""
    for card in cards:
        reasons = [("follow", str(authors[card["id"]]))]
        card["impression_token"] = impression_token(
            reader_id=viewer.pk, note_id=card["id"], source="following"
        )
        card["reasons"] = [{"kind": k, "detail": d} for k, d in reasons]
        card["pool_level"] = 0
        card["distance_km"] = None
    _remember_why(viewer, {c["id"]: [("follow", str(authors[c["id"]]))] for c in cards})


def _distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def nearby_point(lat: float | str | None, lng: float | str | None) -> tuple[float, float]:
    """A valid point (rounded to 2 decimals ≈ 1 km, as notes store it) or ``ValidationFailed``."""
    try:
        la, lo = float(lat), float(lng)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            _("Give a latitude and a longitude."), field="lat", code="bad_location"
        ) from exc
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        raise ValidationFailed(_("This place is not on the map."), field="lat", code="bad_location")
    return round(la, 2), round(lo, 2)


def feed_nearby(
    *,
    viewer: User | None,
    lat: float,
    lng: float,
    cursor: str | None = None,
    limit: int | None = None,
    radius_km: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Nearby: public notes within ``radius_km`` of the point (a bounding box in the query, then the exact
    distance), nearest first in 1 km rings and the freshest first within a ring. Each note carries
    ``distance_km``."""
    size = clamp_limit(limit)
    lat, lng = nearby_point(lat, lng)
    radius = radius_km or settings.MEADOW_NEARBY_RADIUS_KM
    offset = int(digit_token_decode(cursor, kind="n1", pattern=NEARBY_CURSOR_PATTERN) or 0)
    dlat = radius / 111.32
    dlng = radius / (111.32 * max(math.cos(math.radians(lat)), 0.01))
    rows = (
        _feed_notes(viewer)
        .filter(
            latitude__gte=Decimal(str(round(lat - dlat, 2))),
            latitude__lte=Decimal(str(round(lat + dlat, 2))),
            longitude__gte=Decimal(str(round(lng - dlng, 2))),
            longitude__lte=Decimal(str(round(lng + dlng, 2))),
        )
        .order_by("-published_at", "-id")
        .values_list("pk", "latitude", "longitude", "published_at")[:NEARBY_MAX]
    )
    epoch = datetime(2000, 1, 1, tzinfo=timezone.get_current_timezone())
    placed = []
    for pk, la, lo, published in rows:
        if la is None or lo is None:  # the query asks for placed notes; a row cleared meanwhile has no place
            continue
        distance = _distance_km(lat, lng, float(la), float(lo))
        if distance <= radius:
            fresh = (published or epoch).timestamp()
            placed.append((math.floor(distance), -fresh, -pk, pk, distance))
    placed.sort()
    page = placed[offset : offset + size]
    notes = _hydrate(viewer, [p[3] for p in page])
    distance_of = {p[3]: p[4] for p in page}
    reader_id = viewer.pk if _signed_in(viewer) else None
    for note in notes:
        note.distance_km = round(distance_of[note.pk], 1)
        note.feed_reasons = [("location", f"{note.distance_km}")]
        note.feed_level = 0
        note.impression_token = impression_token(reader_id=reader_id, note_id=note.pk, source="nearby")
    _remember_why(viewer, {n.pk: n.feed_reasons for n in notes})
    more = offset + size < len(placed)
    return {"items": notes, "next_cursor": nearby_cursor_encode(offset + size) if more else None}


# --- why am I seeing this? -----------------------------------------------------------------------------------------
def note_why_reasons(*, viewer: User | None, note: Note) -> list[tuple[str, str]]:
    """Why ``viewer`` sees ``note``: the reasons the feed gave when it showed the card (remembered for a few
    hours), else worked out now — the followed author, matched interests, the note's pool, or new on Meadow."""
    if _signed_in(viewer):
        session = cache.get(f"distribution:feed-latest:{viewer.pk}")
        state = cache.get(f"distribution:feed:{viewer.pk}:{session}") if session else None
        for row in (state or {}).get("items", ()):
            if row[0] == note.pk and row[1]:
                return [tuple(r) for r in row[1]]
        known = (cache.get(f"distribution:why:{viewer.pk}") or {}).get(note.pk)
        if known:
            return [tuple(r) for r in known]
    reasons: list[tuple[str, str]] = []
    if (
        _signed_in(viewer)
        and Follow.objects.filter(
            follower=viewer, followee_id=note.author_id, status=Follow.Status.ACTIVE
        ).exists()
    ):
        reasons.append(("follow", str(note.author_id)))
    interests = reader_interests(viewer=viewer)
    if interests:
        topics = [c.slug for c in note.categories.all()] + [
            "#" + h.hashtag.name for h in note.hashtag_links.all()
        ]
        matched = sorted((t for t in topics if interests.get(t, 0) > 0), key=lambda t: (-interests[t], t))
        reasons.extend(("interest", t) for t in matched[:2])
    level = (
        NotePool.objects.filter(note_id=note.pk, status=NotePool.Status.ACTIVE)
        .values_list("level", flat=True)
        .first()
    )
    if level:
        reasons.append(("pool", str(level)))
    if not reasons:
        reasons.append(("popular", ""))
    return reasons


def _topic_label(topic: str, categories: dict[str, InterestCategory]) -> str:
    if topic.startswith("#"):
        return topic
    category = categories.get(topic)
    return category.name_for(get_language()) if category else topic


def why_texts(*, reasons: Iterable[Sequence[str]], viewer: User | None = None) -> list[dict[str, str]]:
    """Each reason in plain, translated words: ``[{"kind", "detail", "text"}]``."""
    _ids, categories = _category_maps()
    out: list[dict[str, str]] = []
    interests = [d for k, d in reasons if k == "interest" and d]
    named = False
    for kind, detail in reasons:
        if kind == "interest":
            if named:
                continue
            named = True
            if interests:
                labels = ", ".join(_topic_label(t, categories) for t in interests)
                text = _("It matches your interests: %(topics)s.") % {"topics": labels}
            else:
                text = _("It matches the interests you picked or showed.")
        elif kind == "pool":
            level = int(detail) if detail.isdigit() else 1
            if level <= 1:
                text = _(
                    "It is new, and Meadow is showing it to a first group of readers who like its topics."
                )
            else:
                text = _(
                    "Readers liked it, so it moved up to traffic pool %(level)d and is shown to more people."
                ) % {"level": level}
        elif kind == "follow":
            author = (
                User.objects.filter(pk=int(detail)).values_list("display_name", flat=True).first()
                if (detail.isdigit())
                else None
            )
            text = _("You follow %(name)s.") % {"name": author} if author else _("You follow its author.")
        elif kind == "cf":
            text = _("People who liked the same notes as you also liked this one.")
        elif kind == "trending":
            text = _("It is popular across Meadow right now.")
        elif kind == "location":
            text = _("It was posted near you.")
        else:
            text = _("It is new or popular on Meadow.")
        out.append({"kind": kind, "detail": detail, "text": text})
    return out
