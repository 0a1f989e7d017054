"""Every distribution write: traffic-pool entry, evaluation (promote / hold / stop / exclude) and impression
counting; interest learning from engagement and follows; interests picked at sign-up.

Nothing here scans a table: each function touches the rows of the notes or the reader it is given (the
evaluation batch is read through the ``pool_due`` index). The rules are in ``engine/pools.py`` and
``engine/interests.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.bulk import BulkTable
from meadow.core.errors import ValidationFailed
from meadow.core.metrics import POOL_EVALUATIONS, count_on_commit
from meadow.core.tasks import enqueue, task_by_name
from meadow.distribution.conf import interest_config, pool_config, pool_sizes
from meadow.distribution.engine import interests as interest_rules
from meadow.distribution.engine.pools import Decision, LevelStats, evaluate
from meadow.distribution.models import InterestProfile, NotePool, PoolTransition
from meadow.enforcement.selectors import visible_in_distribution
from meadow.notes.models import InterestCategory, Note, NoteCategory, NoteHashtag

PICK_MAX = 12


# --- traffic pools --------------------------------------------------------------------------------------------------
def distributable_ids(*, note_ids: Iterable[int]) -> set[int]:
    """Which of ``note_ids`` may be in a pool: published, public, of a public active account, not limited,
    removed or held (``enforcement.selectors.visible_in_distribution``). One query."""
    ids = list(note_ids)
    if not ids:
        return set()
    qs = Note.objects.filter(
        pk__in=ids,
        status=Note.Status.PUBLISHED,
        visibility=Note.Visibility.PUBLIC,
        author__is_private=False,
        author__is_active=True,
    )
    return set(visible_in_distribution(qs).values_list("pk", flat=True))


def _snapshots(note_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each note's counters now (one query: the note row left-joined to its stats), without the signals held
    out of counting (``signal_score`` and ``read_count`` are already net of them, the interactions are not)."""
    rows = Note.objects.filter(pk__in=note_ids).values(
        "pk",
        "kind",
        "like_count",
        "save_count",
        "comment_count",
        "share_count",
        "stats__read_count",
        "stats__completion_count",
        "stats__signal_score",
        "stats__held_interactions",
    )
    out = {}
    for row in rows:
        interactions = row["like_count"] + row["save_count"] + row["comment_count"] + row["share_count"]
        out[row["pk"]] = {
            "video": row["kind"] == Note.Kind.VIDEO,
            # the signals the integrity checks hold (fake engagement) do not count (engagement's NoteStats)
            "interactions": max(interactions - (row["stats__held_interactions"] or 0), 0),
            "reads": row["stats__read_count"] or 0,
            "completions": row["stats__completion_count"] or 0,
            "score": row["stats__signal_score"] or 0.0,
        }
    return out


def pools_enter_new(*, notes: Sequence[tuple[int, datetime]]) -> int:
    """A bulk import's new public notes (``meadow demo``) enter pool 1 when they were published, as
    ``pool_enter`` does one by one, in the caller's transaction: ``(note id, published at)`` pairs of notes that
    have no pool row yet and are known to be distributable (new notes of new, active, public accounts — unlike
    ``pool_enter``, nothing is checked). A note whose window has passed is due at once. PostgreSQL: COPY; other
    databases: ``bulk_create``. Returns the number of notes that entered."""
    if not notes:
        return 0
    window = timedelta(hours=pool_config().window_hours)
    first = pool_sizes()[0][0]
    if connection.vendor == "postgresql":
        pools = BulkTable(
            NotePool, ["note_id", "status", "level", "due_impressions", "entered_at", "level_entered_at",
                       "next_evaluation_at"],
        )  # fmt: skip
        enter = BulkTable(PoolTransition, ["note_id", "at", "from_level", "to_level", "outcome"])
        active, outcome = str(NotePool.Status.ACTIVE), str(PoolTransition.Outcome.ENTER)
        pools.copy((pk, active, 1, first, at, at, at + window) for pk, at in notes)
        enter.copy((pk, at, None, 1, outcome) for pk, at in notes)
        return len(notes)
    NotePool.objects.bulk_create(
        [
            NotePool(
                note_id=pk,
                due_impressions=first,
                entered_at=at,
                level_entered_at=at,
                next_evaluation_at=at + window,
            )
            for pk, at in notes
        ]
    )
    PoolTransition.objects.bulk_create(
        [
            PoolTransition(
                note_id=pk, at=at, from_level=None, to_level=1, outcome=PoolTransition.Outcome.ENTER
            )
            for pk, at in notes
        ]
    )
    return len(notes)


def pool_enter(*, note_id: int, now: datetime | None = None) -> NotePool | None:
    """Put a newly published public note into pool 1 (idempotent). A limited note, or one of a banned
    account, is recorded as excluded instead; a private or followers-only note is not distributed at all."""
    now = now or timezone.now()
    existing = NotePool.objects.filter(note_id=note_id).first()
    if existing is not None:
        return existing
    note = Note.objects.filter(pk=note_id).values("status", "visibility").first()
    if (
        note is None
        or note["status"] != Note.Status.PUBLISHED
        or note["visibility"] != Note.Visibility.PUBLIC
    ):
        return None
    allowed = note_id in distributable_ids(note_ids=[note_id])
    snap = _snapshots([note_id]).get(note_id, {})
    sizes = pool_sizes()
    window = timedelta(hours=pool_config().window_hours)
    pool = NotePool(
        note_id=note_id,
        status=NotePool.Status.ACTIVE if allowed else NotePool.Status.EXCLUDED,
        level=1 if allowed else 0,
        due_impressions=sizes[0][0],
        base_reads=snap.get("reads", 0),
        base_interactions=snap.get("interactions", 0),
        base_completions=snap.get("completions", 0),
        base_score=snap.get("score", 0.0),
        entered_at=now,
        level_entered_at=now,
        next_evaluation_at=now + window,
    )
    try:
        with transaction.atomic():
            pool.save(force_insert=True)
            PoolTransition.objects.create(
                note_id=note_id,
                at=now,
                from_level=None,
                to_level=1 if allowed else None,
                outcome=PoolTransition.Outcome.ENTER if allowed else PoolTransition.Outcome.EXCLUDE,
                reason="" if allowed else "limited",
            )
    except IntegrityError:
        return NotePool.objects.filter(note_id=note_id).first()
    return pool


def pools_record_impressions(*, note_ids: Iterable[int], now: datetime | None = None) -> int:
    """Count impressions of notes in a pool (two UPDATEs whatever the batch) and mark the notes that reached
    their evaluation size as due now; the evaluation runs as a task. Returns how many became due."""
    ids = sorted(set(note_ids))
    if not ids:
        return 0
    now = now or timezone.now()
    active = NotePool.objects.filter(note_id__in=ids, status=NotePool.Status.ACTIVE)
    if not active.update(impressions=F("impressions") + 1):
        return 0
    due = active.filter(impressions__gte=F("due_impressions"), next_evaluation_at__gt=now).update(
        next_evaluation_at=now
    )
    if due:
        enqueue(task_by_name("meadow.distribution.tasks.pools_evaluate_due"))
    return due


def _window_start(pool: NotePool) -> datetime:
    if pool.evaluated_at is not None and pool.evaluated_at > pool.level_entered_at:
        return pool.evaluated_at
    return pool.level_entered_at


def _level_stats(pool: NotePool, snap: dict[str, Any]) -> LevelStats:
    return LevelStats(
        impressions=max(pool.impressions - pool.base_impressions, 0),
        reads=max(snap.get("reads", 0) - pool.base_reads, 0),
        interactions=max(snap.get("interactions", 0) - pool.base_interactions, 0),
        score=snap.get("score", 0.0) - pool.base_score,
        completions=max(snap.get("completions", 0) - pool.base_completions, 0) if snap.get("video") else None,
    )


def _transition(pool: NotePool, *, at: datetime, decision: Decision, stats: LevelStats) -> PoolTransition:
    return PoolTransition(
        note_id=pool.note_id,
        at=at,
        from_level=pool.level or None,
        to_level=decision.to_level,
        outcome=decision.outcome,
        reason=decision.reason[:40],
        impressions=stats.impressions,
        score_per_impression=round(stats.score_per_impression, 6),
        ctr=round(stats.ctr, 6),
        interaction_rate=round(stats.interaction_rate, 6),
        completion_rate=None if stats.completion_rate is None else round(stats.completion_rate, 6),
    )


def pools_evaluate(*, note_ids: Iterable[int], now: datetime | None = None) -> dict[str, int]:
    """Evaluate the given notes' pools (each due one is promoted, held or stopped; one that may no longer be
    distributed is excluded). Rows are locked in note order. Returns the count of each outcome."""
    ids = sorted(set(note_ids))
    counts: dict[str, int] = {}
    if not ids:
        return counts
    now = now or timezone.now()
    config = pool_config()
    sizes = pool_sizes()
    window = timedelta(hours=config.window_hours)
    allowed = distributable_ids(note_ids=ids)
    snaps = _snapshots(ids)
    history: list[PoolTransition] = []
    with transaction.atomic():
        pools = list(
            NotePool.objects.select_for_update()
            .filter(note_id__in=ids, status=NotePool.Status.ACTIVE)
            .order_by("note_id")
        )
        for pool in pools:
            stats = _level_stats(pool, snaps.get(pool.note_id, {}))
            level = min(max(pool.level, 1), len(sizes))
            if pool.note_id not in allowed:
                decision = Decision("exclude", None, "limited")
            else:
                elapsed = now >= _window_start(pool) + window
                found = evaluate(
                    level=level,
                    stats=stats,
                    sizes=sizes,
                    holds=pool.holds,
                    window_elapsed=elapsed,
                    config=config,
                )
                if found is None:  # not due (yet): wait for the window or the impressions
                    NotePool.objects.filter(pk=pool.pk).update(
                        next_evaluation_at=_window_start(pool) + window
                    )
                    continue
                decision = found
            history.append(_transition(pool, at=now, decision=decision, stats=stats))
            counts[decision.outcome] = counts.get(decision.outcome, 0) + 1
            changes: dict[str, Any] = {"evaluated_at": now}
            if decision.outcome == "promote":
                snap = snaps.get(pool.note_id, {})
                target = decision.to_level or level + 1
                changes.update(
                    level=target,
                    holds=0,
                    base_impressions=pool.impressions,
                    base_reads=snap.get("reads", 0),
                    base_interactions=snap.get("interactions", 0),
                    base_completions=snap.get("completions", 0),
                    base_score=snap.get("score", 0.0),
                    due_impressions=pool.impressions + sizes[target - 1][0],
                    level_entered_at=now,
                    next_evaluation_at=now + window,
                )
            elif decision.outcome == "hold":
                changes.update(
                    holds=pool.holds + (0 if decision.reason == "top" else 1),
                    due_impressions=pool.impressions + sizes[level - 1][0],
                    next_evaluation_at=now + window,
                )
            else:
                changes["status"] = (
                    NotePool.Status.STOPPED if decision.outcome == "stop" else NotePool.Status.EXCLUDED
                )
            NotePool.objects.filter(pk=pool.pk).update(**changes)
        PoolTransition.objects.bulk_create(history)
    for outcome, count in counts.items():
        count_on_commit(POOL_EVALUATIONS, count, outcome=outcome)
    return counts


# A held signal, as integrity hands it over: (when it happened, score, interactions, reads).
HeldEvent = tuple[datetime, float, int, int]


def _sums(events: Iterable[HeldEvent]) -> tuple[float, int, int]:
    score, interactions, reads = 0.0, 0, 0
    for _at, s, i, r in events:
        score, interactions, reads = score + s, interactions + i, reads + r
    return score, interactions, reads


def pools_recheck_held(*, held: dict[int, list[HeldEvent]], now: datetime | None = None) -> dict[str, int]:
    """Signals were held out of counting (integrity: fake engagement). A note promoted on them is judged again:
    for each promotion into its current level (and below, while it keeps failing), the level it was promoted
    from is evaluated on the numbers its ``PoolTransition`` recorded minus the held signals of that level. If it
    no longer qualifies the note is demoted to the highest level it still earned and starts that level afresh
    (a ``demote`` transition); if it still qualifies, its current level's base numbers lose what was held before
    it entered the level, so the held signals count neither way. Called by integrity's scan in its transaction
    (the hook is set in ``DistributionConfig.ready``). Returns ``{"demoted", "kept"}``."""
    counts = {"demoted": 0, "kept": 0}
    ids = sorted(n for n, rows in held.items() if rows)
    if not ids:
        return counts
    now = now or timezone.now()
    config = pool_config()
    sizes = pool_sizes()
    window = timedelta(hours=config.window_hours)
    pools = list(
        NotePool.objects.select_for_update()
        .filter(note_id__in=ids, status=NotePool.Status.ACTIVE, level__gte=2)
        .order_by("note_id")
    )
    if not pools:
        return counts
    steps: dict[int, list[PoolTransition]] = {}
    for step in PoolTransition.objects.filter(
        note_id__in=[p.note_id for p in pools],
        outcome__in=[
            PoolTransition.Outcome.ENTER,
            PoolTransition.Outcome.PROMOTE,
            PoolTransition.Outcome.DEMOTE,
        ],
    ).order_by("at", "id"):
        steps.setdefault(step.note_id, []).append(step)
    snaps = _snapshots([p.note_id for p in pools])
    history: list[PoolTransition] = []
    for pool in pools:
        events = held[pool.note_id]
        before = [e for e in events if e[0] < pool.level_entered_at]
        if not before:
            continue
        trail = steps.get(pool.note_id, [])
        level, stats = pool.level, None
        while level >= 2:
            # the promotion into ``level`` (the latest step that reached it) and when the level below began
            idx = next(
                (i for i in range(len(trail) - 1, -1, -1)
                 if trail[i].outcome == PoolTransition.Outcome.PROMOTE and trail[i].to_level == level),
                None,
            )  # fmt: skip
            if idx is None:
                break
            promo = trail[idx]
            began = next(
                (trail[i].at for i in range(idx - 1, -1, -1) if trail[i].to_level == level - 1),
                pool.entered_at,
            )
            score, interactions, reads = _sums(e for e in before if began <= e[0] < promo.at)
            if not (score or interactions or reads):
                break
            n = promo.impressions
            recorded_reads = round(promo.ctr * n)
            completions = None
            if promo.completion_rate is not None:
                completions = round(promo.completion_rate * recorded_reads)
            net = LevelStats(
                impressions=n,
                reads=max(recorded_reads - reads, 0),
                interactions=max(round(promo.interaction_rate * n) - interactions, 0),
                score=promo.score_per_impression * n - score,
                completions=completions,
            )
            found = evaluate(
                level=level - 1, stats=net, sizes=sizes, holds=0, window_elapsed=True, config=config
            )
            if found is not None and found.outcome == "promote":
                break
            level, stats = level - 1, net
        if stats is None:  # still earned its level: what was held before it entered it leaves the base too
            score, interactions, reads = _sums(before)
            NotePool.objects.filter(pk=pool.pk).update(
                base_score=pool.base_score - score,
                base_interactions=max(pool.base_interactions - interactions, 0),
                base_reads=max(pool.base_reads - reads, 0),
            )
            counts["kept"] += 1
            continue
        snap = snaps.get(pool.note_id, {})
        history.append(_transition(pool, at=now, decision=Decision("demote", level, "held"), stats=stats))
        NotePool.objects.filter(pk=pool.pk).update(
            level=level,
            holds=0,
            base_impressions=pool.impressions,
            base_reads=snap.get("reads", 0),
            base_interactions=snap.get("interactions", 0),
            base_completions=snap.get("completions", 0),
            base_score=snap.get("score", 0.0),
            due_impressions=pool.impressions + sizes[level - 1][0],
            level_entered_at=now,
            next_evaluation_at=now + window,
            evaluated_at=now,
        )
        counts["demoted"] += 1
    PoolTransition.objects.bulk_create(history)
    if counts["demoted"]:
        count_on_commit(POOL_EVALUATIONS, counts["demoted"], outcome="demote")
    return counts


def pools_evaluate_due(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Evaluate the notes whose evaluation is due, oldest first, one batch (the beat task calls this every
    minute; at scale several workers can run it: rows are locked and re-checked)."""
    from django.conf import settings

    now = now or timezone.now()
    ids = list(
        NotePool.objects.filter(status=NotePool.Status.ACTIVE, next_evaluation_at__lte=now)
        .order_by("next_evaluation_at")
        .values_list("note_id", flat=True)[: limit or settings.MEADOW_POOL_BATCH]
    )
    return pools_evaluate(note_ids=ids, now=now)


# --- interests ------------------------------------------------------------------------------------------------------
def _learns(user_id: int) -> bool:
    """Only an active account has an interest profile: the undo events an account erasure writes (unlike,
    unsave) arrive after it and must not create a new one for the erased account."""
    return User.objects.filter(pk=user_id, is_active=True).exists()


def _profile_apply(
    *, user_id: int, topics: dict[str, float], signal: float, now: datetime
) -> InterestProfile:
    config = interest_config()
    with transaction.atomic():
        InterestProfile.objects.bulk_create(
            [InterestProfile(user_id=user_id, updated_at=now)], ignore_conflicts=True
        )
        profile = InterestProfile.objects.select_for_update().get(user_id=user_id)
        elapsed = (now - profile.updated_at).total_seconds()
        profile.weights = interest_rules.learn(
            profile.weights or {}, elapsed_seconds=elapsed, topics=topics, signal=signal, config=config
        )
        profile.updated_at = max(now, profile.updated_at)
        InterestProfile.objects.filter(pk=user_id).update(
            weights=profile.weights, updated_at=profile.updated_at
        )
    return profile


def note_topic_shares(*, note_id: int) -> dict[str, float]:
    """A note's topics with their shares (two small queries)."""
    categories = NoteCategory.objects.filter(note_id=note_id).values_list("category__slug", "score")
    hashtags = NoteHashtag.objects.filter(note_id=note_id).values_list("hashtag__name", flat=True)
    return interest_rules.note_topics(categories=categories, hashtags=hashtags, config=interest_config())


def interests_learn_event(
    *, user_id: int, note_id: int, kind: str, now: datetime | None = None
) -> InterestProfile | None:
    """Learn from one engagement event of ``user_id`` on ``note_id`` (its signal weight; reads a little;
    "not interested" negative). Impressions teach nothing. Idempotence: the caller runs it once per event."""
    from meadow.engagement.services import signal_weight

    signal = interest_config().read_signal if kind == "read" else signal_weight(kind)
    if not signal or not _learns(user_id):
        return None
    topics = note_topic_shares(note_id=note_id)
    if not topics:
        return None
    return _profile_apply(user_id=user_id, topics=topics, signal=signal, now=now or timezone.now())


def interests_learn_follow(
    *, user_id: int, followee_id: int, now: datetime | None = None
) -> InterestProfile | None:
    """Following an account teaches the categories of its recent notes (shares summing to 1)."""
    if not _learns(user_id):
        return None
    rows = list(
        NoteCategory.objects.filter(note__author_id=followee_id, note__status=Note.Status.PUBLISHED)
        .order_by("-note_id")
        .values_list("category__slug", "score")[:60]
    )
    if not rows:
        return None
    totals: dict[str, float] = {}
    for slug, score in rows:
        totals[slug] = totals.get(slug, 0.0) + max(score, 0.0)
    whole = sum(totals.values()) or 1.0
    topics = {slug: value / whole for slug, value in totals.items()}
    return _profile_apply(
        user_id=user_id, topics=topics, signal=interest_config().follow_signal, now=now or timezone.now()
    )


def interests_pick(*, user: User, slugs: Iterable[str]) -> InterestProfile:
    """The interests picked in onboarding (active taxonomy categories; at most 12). Replaces the picks."""
    wanted = list(dict.fromkeys(s for s in slugs if isinstance(s, str) and s))
    if len(wanted) > PICK_MAX:
        raise ValidationFailed(
            _("Pick at most %(max)d interests.") % {"max": PICK_MAX}, field="interests", code="too_many"
        )
    known = set(
        InterestCategory.objects.filter(slug__in=wanted, is_active=True).values_list("slug", flat=True)
    )
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise ValidationFailed(
            _("Unknown interest: %(name)s.") % {"name": unknown[0][:40]}, field="interests", code="unknown"
        )
    now = timezone.now()
    with transaction.atomic():
        InterestProfile.objects.bulk_create(
            [InterestProfile(user=user, updated_at=now)], ignore_conflicts=True
        )
        InterestProfile.objects.filter(pk=user.pk).update(picked=wanted, onboarded_at=now)
    return InterestProfile.objects.get(pk=user.pk)


def interests_skip(*, user: User) -> None:
    """Onboarding skipped: remember it (so it is not offered again) without picking anything."""
    now = timezone.now()
    with transaction.atomic():
        InterestProfile.objects.bulk_create(
            [InterestProfile(user=user, updated_at=now)], ignore_conflicts=True
        )
        InterestProfile.objects.filter(pk=user.pk, onboarded_at__isnull=True).update(onboarded_at=now)


# --- impressions --------------------------------------------------------------------------------------------------
def impressions_from_tokens(
    *, viewer: User | None, tokens: Iterable[str], exclude: Iterable[int] = ()
) -> int:
    """Count the impressions of feed cards from their signed tokens (one bulk write per source), then their
    pools' counters. Tokens of another reader or not signed here are ignored, as are notes in ``exclude``
    (counted by id in the same request). Returns how many were counted."""
    from meadow.distribution.tokens import impression_token_read
    from meadow.engagement.services import IMPRESSIONS_MAX, impressions_record

    tokens = list(tokens)
    if len(tokens) > IMPRESSIONS_MAX:
        raise ValidationFailed(
            _("At most %(max)d notes at a time.") % {"max": IMPRESSIONS_MAX}, field="tokens"
        )
    reader_id = viewer.pk if viewer is not None and viewer.is_authenticated else 0
    skip = set(exclude)
    by_source: dict[str, list[int]] = {}
    for token in tokens:
        found = impression_token_read(token)
        if found is None or found.reader_id != reader_id or found.note_id in skip:
            continue
        skip.add(found.note_id)
        by_source.setdefault(found.source if found.source != "nearby" else "discover", []).append(
            found.note_id
        )
    counted = 0
    for source, ids in by_source.items():
        counted += impressions_record(viewer=viewer, note_ids=ids, source=source)
    if by_source:
        pools_record_impressions(note_ids=[i for ids in by_source.values() for i in ids])
    return counted
