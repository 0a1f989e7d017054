"""Creator centre endpoints: a note's numbers, the account's numbers and its notes with their key numbers.

Only the note's author (the account itself) and staff read them; anyone else gets a 404, an anonymous caller a 401.
``?days=`` is 7, 30 or 90 (default 30); days are UTC calendar days.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from meadow.core.http import responses, token_or_session
from meadow.core.pagination import PageCursor, PageLimit
from meadow.core.schema import Limits
from meadow.distribution import creator

# ``?days=``: one of the periods the creator centre has (``creator.PERIODS``); anything else is 400 ``bad_period``.
Days = Annotated[int, Limits(enum=creator.PERIODS)] | None

router = Router(tags=["creator"])


class PeriodOut(Schema):
    days: int
    start: date
    end: date


class NumbersOut(Schema):
    impressions: int
    reads: int
    likes: int
    saves: int
    comments: int
    shares: int
    completions: int
    follows: int
    not_interested: int
    signal_score: float
    score_per_impression: float | None
    ctr: float | None
    interaction_rate: float | None


class DayOut(NumbersOut):
    date: date


class AccountDayOut(DayOut):
    new_followers: int
    followers: int


class SourceOut(Schema):
    source: str
    label: str
    impressions: int
    reads: int
    interactions: int
    signal_score: float
    share_of_reads: float | None


class PoolStepOut(Schema):
    at: datetime
    from_level: int | None = None
    to_level: int | None = None
    outcome: str
    impressions: int = 0
    score_per_impression: float = 0.0
    ctr: float = 0.0
    interaction_rate: float = 0.0
    completion_rate: float | None = None


class PoolOut(Schema):
    level: int | None
    status: Literal["none", "active", "stopped", "excluded"]
    history: list[PoolStepOut]


class NoteRefOut(Schema):
    id: int
    title: str
    status: str
    visibility: str
    published_at: datetime | None


class NotCountedOut(Schema):
    category: Literal["fake_account", "fake_engagement", "fake_traffic"]
    label: str
    signals: int
    interactions: int
    reads: int


class NoteStatsOut(Schema):
    note: NoteRefOut
    period: PeriodOut
    totals: NumbersOut
    all_time: NumbersOut
    daily: list[DayOut]
    sources: list[SourceOut]
    pool: PoolOut
    not_counted: list[NotCountedOut] = Field(
        default_factory=list,
        description="Signals held out of the numbers as suspected fake engagement, by reason category",
    )


class FollowersOut(Schema):
    total: int
    new_in_period: int


class AccountRefOut(Schema):
    handle: str
    display_name: str


class AccountStatsOut(Schema):
    account: AccountRefOut
    period: PeriodOut
    published_notes: int
    followers: FollowersOut
    totals: NumbersOut
    daily: list[AccountDayOut]
    sources: list[SourceOut]


class CreatorNoteOut(NumbersOut):
    note: NoteRefOut
    pool_level: int | None
    pool_status: Literal["none", "active", "stopped", "excluded"]


class CreatorNotePage(Schema):
    items: list[CreatorNoteOut]
    next_cursor: str | None


def _note_ref(note) -> dict:
    return {
        "id": note.pk,
        "title": note.title,
        "status": note.status,
        "visibility": note.visibility,
        "published_at": note.published_at,
    }


def _period(period: creator.Period) -> dict:
    return {"days": period.days, "start": period.start, "end": period.end}


@router.get("/notes/{note_id}/stats", response=responses({200: NoteStatsOut}), auth=token_or_session)
def note_stats(request: HttpRequest, note_id: int, days: Days = None):
    """A note's numbers over the last ``days`` (7, 30, 90): totals, by day, traffic sources, pool level and
    history, and the running all-time totals."""
    note = creator.creator_note_get(viewer=request.user, note_id=note_id)
    stats = creator.creator_note_stats(note=note, period=creator.period_for(days))
    return {**stats, "note": _note_ref(note), "period": _period(stats["period"])}


@router.get("/stats", response=responses({200: AccountStatsOut}), auth=token_or_session)
def account_stats(request: HttpRequest, days: Days = None, account: str | None = None):
    """Your account's numbers over the last ``days``: every note's engagement summed by day, traffic sources
    and follower growth. Staff may read another account's with ``account=<handle>``."""
    owner = creator.creator_account_get(viewer=request.user, handle=account)
    stats = creator.creator_account_stats(account=owner, period=creator.period_for(days))
    return {
        **stats,
        "account": {"handle": owner.handle, "display_name": owner.display_name},
        "period": _period(stats["period"]),
    }


@router.get("/notes", response=responses({200: CreatorNotePage}), auth=token_or_session)
def notes(
    request: HttpRequest,
    cursor: PageCursor = None,
    limit: PageLimit = None,
    account: str | None = None,
):
    """Your notes, newest first, each with its running totals and current pool level (cursor pagination)."""
    owner = creator.creator_account_get(viewer=request.user, handle=account)
    page = creator.creator_notes(account=owner, cursor=cursor, limit=limit)
    return {
        "items": [{**item, "note": _note_ref(item["note"])} for item in page["items"]],
        "next_cursor": page["next_cursor"],
    }
