"""The creator centre's reads (数据中心): per note and per account, over the last 7, 30 or 90 days by day —
impressions, reads, each signal and the signal score, score per impression, traffic sources, follower growth, and
a note's traffic-pool level with its history.

Everything is aggregated in the database: one ``GROUP BY day, kind, source`` over ``EngagementEvent`` answers the
daily series, the period's totals and the traffic sources at once; one ``GROUP BY day`` over ``Follow`` answers
follower growth. The number of queries is constant — it does not grow with the days, the notes or the events.
Days are UTC calendar days (``TIME_ZONE`` is UTC).

Who may read: the note's author or the account itself, and staff; everyone else gets a 404 (the numbers of a
note are as private as a draft).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import Follow, User
from meadow.core.errors import ValidationFailed
from meadow.core.pagination import paginate_desc
from meadow.distribution.selectors import note_pool_history, note_pool_level
from meadow.engagement.models import EngagementEvent, NoteStats, Signal, Source
from meadow.integrity.models import Category
from meadow.integrity.selectors import held_event_ids, held_for_notes
from meadow.notes.models import Note

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30

# The numbers a day carries, in the order pages, the API and the CSV show them.
METRICS = (
    "impressions",
    "reads",
    "likes",
    "saves",
    "comments",
    "shares",
    "completions",
    "follows",
    "not_interested",
)
INTERACTIONS = ("likes", "saves", "comments", "shares")

# Event kind → (metric, sign): an undo (unlike, unsave, a deleted comment) takes one off the day it happened,
# exactly as it takes its weight off the note's score.
KIND_METRIC: dict[str, tuple[str, int]] = {
    Signal.IMPRESSION: ("impressions", 1),
    Signal.READ: ("reads", 1),
    Signal.LIKE: ("likes", 1),
    Signal.UNLIKE: ("likes", -1),
    Signal.SAVE: ("saves", 1),
    Signal.UNSAVE: ("saves", -1),
    Signal.COMMENT: ("comments", 1),
    Signal.UNCOMMENT: ("comments", -1),
    Signal.SHARE: ("shares", 1),
    Signal.COMPLETION: ("completions", 1),
    Signal.FOLLOW: ("follows", 1),
    Signal.NOT_INTERESTED: ("not_interested", 1),
}


@dataclass(frozen=True, slots=True)
class Period:
    """The last ``days`` UTC calendar days, today included."""

    days: int
    start: date
    end: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def period_for(days: int | str | None = None, *, now: datetime | None = None) -> Period:
    """The period of the last 7, 30 or 90 days (default 30); anything else is a 400."""
    if days in (None, ""):
        days = DEFAULT_PERIOD
    try:
        number = int(days)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = -1
    if number not in PERIODS:
        raise ValidationFailed(_("Choose a period of 7, 30 or 90 days."), field="days", code="bad_period")
    today = (now or timezone.now()).astimezone(UTC).date()
    return Period(days=number, start=today - timedelta(days=number - 1), end=today)


# --- access -------------------------------------------------------------------------------------------------------
def _can_read(viewer: User | AnonymousUser | None, owner_id: int) -> bool:
    if viewer is None or not viewer.is_authenticated or not viewer.is_active:
        return False
    return viewer.pk == owner_id or viewer.is_staff


def creator_note_get(*, viewer: User | AnonymousUser | None, note_id: int) -> Note:
    """A note whose numbers ``viewer`` may read — its author's (not deleted) or, for staff, anyone's — with its
    ``NoteStats`` joined; 404 otherwise (a note of someone else looks exactly like a missing one)."""
    note = (
        Note.objects.select_related("author", "stats")
        .prefetch_related("images")
        .filter(pk=note_id, deleted_at__isnull=True)
        .first()
    )
    if note is None or not _can_read(viewer, note.author_id):
        raise Http404
    return note


def creator_account_get(*, viewer: User | AnonymousUser | None, handle: str | None = None) -> User:
    """The account whose numbers ``viewer`` reads: their own; staff may name any account by ``handle``. Anyone
    else naming another account gets a 404."""
    if viewer is None or not viewer.is_authenticated:
        raise Http404
    handle = (handle or "").lstrip("@").lower()
    if not handle or handle == viewer.handle:
        return viewer
    if not viewer.is_staff or "\x00" in handle:
        raise Http404
    account = User.objects.filter(handle=handle).first()
    if account is None:
        raise Http404
    return account


# --- aggregation --------------------------------------------------------------------------------------------------
def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _with_ratios(row: dict[str, Any]) -> dict[str, Any]:
    impressions = row["impressions"]
    interactions = sum(row[m] for m in INTERACTIONS)
    row["signal_score"] = round(row["signal_score"], 4)
    row["score_per_impression"] = _ratio(row["signal_score"], impressions)
    row["ctr"] = _ratio(row["reads"], impressions)
    row["interaction_rate"] = _ratio(interactions, impressions)
    return row


def _empty_row() -> dict[str, Any]:
    return {**dict.fromkeys(METRICS, 0), "signal_score": 0.0}


def _events_by_day(events: QuerySet[EngagementEvent], period: Period) -> dict[str, Any]:
    """One query: the events of ``events`` in ``period`` grouped by UTC day, kind and source; folded into the
    daily series (every day present, zeros included), the period's totals and the traffic sources."""
    rows = (
        events.filter(created_at__gte=period.since)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "kind", "source")
        .annotate(n=Count("id"), score=Coalesce(Sum("weight"), 0.0))
        .order_by()
    )
    daily = {d: _empty_row() for d in period.dates()}
    totals = _empty_row()
    sources = {
        s: {"impressions": 0, "reads": 0, "interactions": 0, "signal_score": 0.0} for s in Source.values
    }
    for row in rows:
        day = row["day"]
        if isinstance(day, datetime):  # some backends hand back a datetime for a date
            day = day.date()
        metric, sign = KIND_METRIC.get(row["kind"], (None, 0))
        count = row["n"] * sign
        score = float(row["score"] or 0)
        bucket = daily.get(day)
        for target in (bucket, totals):
            if target is None:
                continue
            if metric:
                target[metric] += count
            target["signal_score"] += score
        source = sources.setdefault(
            row["source"], {"impressions": 0, "reads": 0, "interactions": 0, "signal_score": 0.0}
        )
        if metric in ("impressions", "reads"):
            source[metric] += count
        elif metric in INTERACTIONS:
            source["interactions"] += count
        source["signal_score"] += score
    labels = dict(Source.choices)
    return {
        "daily": [{"date": d, **_with_ratios(values)} for d, values in daily.items()],
        "totals": _with_ratios(totals),
        "sources": [
            {
                "source": name,
                "label": str(labels.get(name, name)),
                **{k: (round(v, 4) if k == "signal_score" else v) for k, v in values.items()},
                "share_of_reads": _ratio(values["reads"], totals["reads"]),
            }
            for name, values in sources.items()
        ],
    }


def _all_time(note: Note) -> dict[str, Any]:
    """A note's running totals, already kept with every event (no aggregation needed)."""
    try:
        stats: NoteStats = note.stats
    except NoteStats.DoesNotExist:
        stats = NoteStats(note_id=note.pk)
    row = {
        "impressions": stats.impression_count,
        "reads": stats.read_count,  # net of the reads held out of counting, as the score is
        "likes": note.like_count,
        "saves": note.save_count,
        "comments": note.comment_count,
        "shares": note.share_count,
        "completions": stats.completion_count,
        "follows": stats.follow_count,
        "not_interested": stats.not_interested_count,
        "signal_score": stats.signal_score,
    }
    return _with_ratios(row)


# --- traffic pools (read through distribution's selectors) ----------------------------------------------------------
_STATUS_AFTER = {"stop": "stopped", "exclude": "excluded"}


def _pool_status(level: int | None, last_outcome: str | None) -> str:
    """``none`` (never entered), ``active`` (climbing or holding), ``stopped`` or ``excluded``."""
    if level is None and last_outcome is None:
        return "none"
    return _STATUS_AFTER.get(last_outcome or "", "active")


def note_pool(*, note_id: int) -> dict[str, Any]:
    """The note's current traffic-pool level, its status and its history, oldest first (two queries)."""
    level = note_pool_level(note_id=note_id)
    history = list(note_pool_history(note_id=note_id))
    last = history[-1]["outcome"] if history else None
    return {"level": level, "status": _pool_status(level, last), "history": history}


def _own_views(author_id: int) -> Q:
    """The author's own impressions and reads of their notes: not reach. They are no longer recorded (engagement
    skips them); this keeps those recorded before out of the numbers too."""
    return Q(kind__in=(Signal.IMPRESSION, Signal.READ), user_id=author_id)


# --- the public reads ---------------------------------------------------------------------------------------------
def not_counted(*, note_ids: list[int]) -> list[dict[str, Any]]:
    """What the integrity checks hold out of these notes' numbers (suspected fake engagement), by reason
    category — the category only, never the detector: ``[{"category", "label", "signals", "interactions",
    "reads"}]``."""
    totals: dict[str, dict[str, Any]] = {}
    for rows in held_for_notes(note_ids=note_ids).values():
        for row in rows:
            into = totals.setdefault(
                row["category"],
                {
                    "category": row["category"],
                    "label": str(Category(row["category"]).label),
                    "signals": 0,
                    "interactions": 0,
                    "reads": 0,
                },
            )
            for key in ("signals", "interactions", "reads"):
                into[key] += row[key]
    return [totals[k] for k in sorted(totals)]


def creator_note_stats(*, note: Note, period: Period, with_pool: bool = True) -> dict[str, Any]:
    """Everything the note's stats page, the API and the CSV show: one aggregate query, plus the pool's. The
    signals the integrity checks hold are left out of the numbers and shown apart (``not_counted``)."""
    events = (
        EngagementEvent.objects.filter(note_id=note.pk)
        .exclude(_own_views(note.author_id))
        .exclude(pk__in=held_event_ids())
    )
    return {
        "note": note,
        "period": period,
        "all_time": _all_time(note),
        **_events_by_day(events, period),
        "pool": note_pool(note_id=note.pk) if with_pool else None,
        "not_counted": not_counted(note_ids=[note.pk]),
    }


def _followers_by_day(account: User, period: Period) -> dict[str, Any]:
    """New followers per day (active follows made that day), and the follower count at the end of each day,
    walked back from today's count. An unfollow deletes its row, so past totals count only the follows still in
    place: a day's ``followers`` is a lower bound when people unfollowed since."""
    rows = (
        Follow.objects.filter(followee=account, status=Follow.Status.ACTIVE, created_at__gte=period.since)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    new = dict.fromkeys(period.dates(), 0)
    for row in rows:
        day = row["day"].date() if isinstance(row["day"], datetime) else row["day"]
        if day in new:
            new[day] += row["n"]
    total = account.followers_count
    series: list[dict[str, Any]] = []
    running = total
    for day in reversed(period.dates()):
        series.append({"date": day, "new_followers": new[day], "followers": max(running, 0)})
        running -= new[day]
    series.reverse()
    return {"total": total, "new_in_period": sum(new.values()), "daily": series}


def creator_account_stats(*, account: User, period: Period) -> dict[str, Any]:
    """The account's numbers over ``period``: every note's events summed by day, the traffic sources, follower
    growth, and how many notes it has published (three queries)."""
    events = (
        EngagementEvent.objects.filter(note__author_id=account.pk)
        .exclude(_own_views(account.pk))
        .exclude(pk__in=held_event_ids())
    )
    aggregated = _events_by_day(events, period)
    followers = _followers_by_day(account, period)
    by_date = {row["date"]: row for row in followers["daily"]}
    for row in aggregated["daily"]:
        row.update({k: v for k, v in by_date[row["date"]].items() if k != "date"})
    notes = Note.objects.filter(
        author_id=account.pk, status=Note.Status.PUBLISHED, deleted_at__isnull=True
    ).count()
    return {
        "account": account,
        "period": period,
        "published_notes": notes,
        "followers": {"total": followers["total"], "new_in_period": followers["new_in_period"]},
        **aggregated,
    }


def creator_notes(*, account: User, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """The account's published (and moderated, not deleted) notes, newest first, each with its running totals
    and current pool level — one query per page (plus one for the cover images), whatever the page size."""
    qs = (
        Note.objects.filter(author_id=account.pk, deleted_at__isnull=True)
        .exclude(status=Note.Status.DRAFT)
        .select_related("stats", "pool")
        .prefetch_related("images")
    )
    page = paginate_desc(qs, cursor=cursor, limit=limit, shape=lambda n: n)
    page["items"] = [{"note": n, **_all_time(n), **_pool_now(n)} for n in page["items"]]
    return page


def _pool_now(note: Note) -> dict[str, Any]:
    """The pool level and status of a note whose ``pool`` row was joined (no query)."""
    try:
        pool = note.pool
    except ObjectDoesNotExist:
        return {"pool_level": None, "pool_status": "none"}
    return {"pool_level": pool.level, "pool_status": pool.status}


def stats_rows(
    daily: Iterable[dict[str, Any]], *, account: bool = False
) -> tuple[list[str], list[list[Any]]]:
    """The CSV's header and rows: one line per day, machine-readable column names."""
    header = ["date", *METRICS, "signal_score", "score_per_impression", "ctr", "interaction_rate"]
    if account:
        header += ["new_followers", "followers"]
    rows = []
    for row in daily:
        values = [row["date"].isoformat()]
        for name in header[1:]:
            value = row.get(name)
            values.append("" if value is None else value)
        rows.append(values)
    return header, rows


__all__ = [
    "DEFAULT_PERIOD",
    "METRICS",
    "PERIODS",
    "Period",
    "creator_account_get",
    "creator_account_stats",
    "creator_note_get",
    "creator_note_stats",
    "creator_notes",
    "note_pool",
    "period_for",
    "stats_rows",
]
