"""The creator centre's pages (数据中心): the account overview with its notes, one note's numbers, and both as CSV.

Signed-in only (others are sent to log in); a note or account the viewer may not read is a 404. Staff open an
account's centre with ``?account=<handle>``.
"""

from __future__ import annotations

import csv
import hashlib
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from meadow.core.charts import chart_svg
from meadow.core.errors import ValidationFailed
from meadow.distribution import creator
from meadow.distribution.models import PoolTransition

OUTCOMES = dict(PoolTransition.Outcome.choices)


def _period(request: HttpRequest) -> creator.Period:
    """The period from ``?days=``; a page falls back to the default on a bad value (the API answers 400)."""
    try:
        return creator.period_for(request.GET.get("days"))
    except ValidationFailed:
        return creator.period_for(None)


def _series(daily: list[dict[str, Any]], names: dict[str, str]) -> dict[str, list[tuple[Any, float]]]:
    return {label: [(row["date"], row[key] or 0) for row in daily] for key, label in names.items()}


CHART_CACHE_SECONDS = 600


def _chart(**kwargs: Any) -> str:
    """``chart_svg`` with a cache: matplotlib takes ~0.1 s a chart, and the same data draws the same SVG, so a
    reload of unchanged numbers costs nothing (the key covers the data, the labels and so the language)."""
    key = "creator:chart:" + hashlib.sha256(repr(sorted(kwargs.items())).encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = str(chart_svg(**kwargs))
        cache.set(key, svg, CHART_CACHE_SECONDS)
    return mark_safe(svg)  # drawn (and escaped) by chart_svg; cached as text


def _charts(stats: dict[str, Any], *, account: bool) -> list[dict[str, Any]]:
    """The charts of a stats page, drawn by matplotlib (``meadow.core.charts``)."""
    daily = stats["daily"]
    kind = "bar" if stats["period"].days <= 7 else "line"
    charts = [
        {
            "id": "reach",
            "title": _("Impressions and reads"),
            "svg": _chart(
                series=_series(daily, {"impressions": _("Impressions"), "reads": _("Reads")}),
                title=_("Impressions and reads by day"),
                kind=kind,
            ),
        },
        {
            "id": "signals",
            "title": _("Engagement"),
            "svg": _chart(
                series=_series(
                    daily,
                    {
                        "likes": _("Likes"),
                        "saves": _("Saves"),
                        "comments": _("Comments"),
                        "shares": _("Shares"),
                        "follows": _("Follows"),
                    },
                ),
                title=_("Likes, saves, comments, shares and follows by day"),
                kind=kind,
            ),
        },
    ]
    if account:
        charts.append(
            {
                "id": "followers",
                "title": _("Followers"),
                "svg": _chart(
                    series=_series(daily, {"followers": _("Followers")}),
                    title=_("Followers at the end of each day"),
                    kind="line",
                ),
            }
        )
    else:
        charts.append(
            {
                "id": "score",
                "title": _("Signal score"),
                "svg": _chart(
                    series=_series(daily, {"signal_score": _("Signal score")}),
                    title=_("Signal score by day"),
                    kind=kind,
                ),
            }
        )
    return charts


def _cards(totals: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The summary tiles: (key, label, value)."""
    labels = [
        ("impressions", _("Impressions")),
        ("reads", _("Reads")),
        ("likes", _("Likes")),
        ("saves", _("Saves")),
        ("comments", _("Comments")),
        ("shares", _("Shares")),
        ("completions", _("Completions")),
        ("follows", _("Follows")),
        ("not_interested", _("Not interested")),
        ("signal_score", _("Signal score")),
    ]
    return [(key, label, totals[key]) for key, label in labels]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _rates(totals: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The ratios: (key, label, formatted value, what it means)."""
    spi = totals["score_per_impression"]
    return [
        (
            "score_per_impression",
            _("Score per impression"),
            "—" if spi is None else f"{spi:.3f}",
            _("Signal score divided by impressions: what decides promotion to a larger pool."),
        ),
        ("ctr", _("Click-through"), _percent(totals["ctr"]), _("Reads divided by impressions.")),
        (
            "interaction_rate",
            _("Interaction rate"),
            _percent(totals["interaction_rate"]),
            _("Likes, saves, comments and shares divided by impressions."),
        ),
    ]


def _pool_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pool decisions, newest first, with readable labels."""
    steps = []
    for step in reversed(history):
        steps.append(
            {
                **step,
                "outcome_label": OUTCOMES.get(step["outcome"], step["outcome"]),
                "ctr_pct": _percent(step.get("ctr")),
                "interaction_pct": _percent(step.get("interaction_rate")),
                "completion_pct": _percent(step.get("completion_rate")),
            }
        )
    return steps


def _sources(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Traffic sources with any traffic, the biggest first, with a bar width relative to the biggest."""
    rows = [s for s in stats["sources"] if s["impressions"] or s["reads"] or s["interactions"]]
    rows.sort(key=lambda s: (-s["reads"], -s["impressions"], s["source"]))
    top = max([max(s["reads"], s["impressions"]) for s in rows] or [0])
    for row in rows:
        row["bar"] = round(100 * max(row["reads"], 0) / top) if top else 0
        row["bar_impressions"] = round(100 * max(row["impressions"], 0) / top) if top else 0
    return rows


def _csv_response(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
def creator_home(request: HttpRequest) -> HttpResponse:
    """The account overview: totals, charts, traffic sources, follower growth and the notes with their numbers.
    The notes list pages with a cursor (htmx appends the next page)."""
    account = creator.creator_account_get(viewer=request.user, handle=request.GET.get("account"))
    cursor = request.GET.get("cursor") or None
    period = _period(request)
    try:
        notes = creator.creator_notes(account=account, cursor=cursor)
    except ValidationFailed:
        notes = creator.creator_notes(account=account)
    context: dict[str, Any] = {
        "account": account,
        "notes": notes["items"],
        "next_cursor": notes["next_cursor"],
        "period": period,
        "other_account": account.pk != request.user.pk,
        "extra_query": f"account={account.handle}&" if account.pk != request.user.pk else "",
        "nav_section": "me",
    }
    if cursor and request.headers.get("HX-Request"):
        return render(request, "distribution/creator/_note_rows.html", context)
    stats = creator.creator_account_stats(account=account, period=period)
    context.update(
        stats=stats,
        periods=creator.PERIODS,
        cards=_cards(stats["totals"]),
        rates=_rates(stats["totals"]),
        charts=_charts(stats, account=True),
        sources=_sources(stats),
    )
    return render(request, "distribution/creator/home.html", context)


@login_required
def creator_note(request: HttpRequest, note_id: int) -> HttpResponse:
    """One note's numbers: totals against all-time, the pool level and its history, charts, traffic sources."""
    note = creator.creator_note_get(viewer=request.user, note_id=note_id)
    period = _period(request)
    stats = creator.creator_note_stats(note=note, period=period)
    context = {
        "note": note,
        "stats": stats,
        "period": period,
        "periods": creator.PERIODS,
        "cards": _cards(stats["totals"]),
        "rates": _rates(stats["totals"]),
        "all_time_cards": _cards(stats["all_time"]),
        "charts": _charts(stats, account=False),
        "sources": _sources(stats),
        "pool": stats["pool"],
        "pool_history": _pool_history(stats["pool"]["history"]),
        "extra_query": "",
        "nav_section": "me",
    }
    return render(request, "distribution/creator/note.html", context)


@login_required
def creator_note_csv(request: HttpRequest, note_id: int) -> HttpResponse:
    """A note's numbers by day as CSV (one line a day; machine-readable column names)."""
    note = creator.creator_note_get(viewer=request.user, note_id=note_id)
    period = _period(request)
    stats = creator.creator_note_stats(note=note, period=period, with_pool=False)
    header, rows = creator.stats_rows(stats["daily"])
    return _csv_response(f"meadow-note-{note.pk}-{period.start}-{period.end}.csv", header, rows)


@login_required
def creator_account_csv(request: HttpRequest) -> HttpResponse:
    """The account's numbers by day as CSV, with new followers and the follower count."""
    account = creator.creator_account_get(viewer=request.user, handle=request.GET.get("account"))
    period = _period(request)
    stats = creator.creator_account_stats(account=account, period=period)
    header, rows = creator.stats_rows(stats["daily"], account=True)
    return _csv_response(f"meadow-{account.handle}-{period.start}-{period.end}.csv", header, rows)
