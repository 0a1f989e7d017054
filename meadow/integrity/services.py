"""Every integrity write: ``scan`` (detect, open or refresh cases, hold the signals of suspected accounts),
``case_uphold`` (the behaviour ladder for the fake account and the account that bought the engagement) and
``case_dismiss`` (release the held signals).

``scan`` reads the recent activity (``MEADOW_INTEGRITY_WINDOW_DAYS``) from the apps below — engagement events,
comments, the follow log and sign-up records — runs the detectors (``detectors.py``), and holds the engagement
of every suspected account out of counting: the events' weight, reads and interactions leave the notes'
``NoteStats`` (``engagement.services.note_stats_withhold``), so the traffic pools and the creator centre no longer
count them. It is idempotent (an event is held once; a case per account stays open). With
``MEADOW_INTEGRITY_ENABLED`` false it does nothing and nothing is held.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import AccessRecord, FollowEvent, User
from meadow.core.errors import Conflict
from meadow.enforcement.services import violation_record
from meadow.engagement.models import Comment, EngagementEvent, Signal
from meadow.engagement.services import event_effect, note_stats_withhold
from meadow.integrity import detectors
from meadow.integrity.detectors import CommentRow, Config, Event, FollowRow, SignupRow
from meadow.integrity.models import Case, Category, HeldSignal

# Impressions weigh nothing and are not a reader's act: they are never held.
NOT_HELD = frozenset({Signal.IMPRESSION})


# What holding signals means to the apps above integrity (distribution judges a note promoted on them again):
# each hook is called with ``held={note_id: [(at, score, interactions, reads), ...]}`` and ``now=``, inside the
# scan's transaction. Set by ``DistributionConfig.ready``.
_ON_HOLD: list[Callable[..., Any]] = []


def hold_hooks_set(*hooks: Callable[..., Any]) -> None:
    """The functions ``scan`` calls with the signals it has just held (``held=``, ``now=``)."""
    _ON_HOLD[:] = list(hooks)


def integrity_enabled() -> bool:
    return bool(getattr(settings, "MEADOW_INTEGRITY_ENABLED", True))


def integrity_config() -> Config:
    return Config.from_settings(getattr(settings, "MEADOW_INTEGRITY", None))


def _window(now: datetime) -> datetime:
    return now - timedelta(days=float(getattr(settings, "MEADOW_INTEGRITY_WINDOW_DAYS", 30)))


def _read_activity(*, since: datetime, now: datetime):
    rows = EngagementEvent.objects.filter(
        created_at__gte=since - timedelta(days=1), created_at__lte=now, user__isnull=False
    ).values_list("user_id", "note_id", "note__author_id", "kind", "created_at")
    events: list[Event] = []
    exposures: list[Event] = []
    for user_id, note_id, author_id, kind, at in rows.iterator(chunk_size=5000):
        event = Event(user_id, note_id, author_id, kind, at)
        if at >= since:
            events.append(event)
        elif kind in detectors.EXPOSURES:
            exposures.append(event)  # seen the day before the window: the window's acts were exposed
    follows = [
        FollowRow(*row)
        for row in FollowEvent.objects.filter(at__gte=since, at__lte=now)
        .order_by("at", "id")
        .values_list("follower_id", "followee_id", "kind", "at")
    ]
    comments = [
        CommentRow(*row)
        for row in Comment.objects.filter(created_at__gte=since, created_at__lte=now).values_list(
            "author_id", "pk", "note_id", "note__author_id", "body", "created_at"
        )
    ]
    signups = [
        SignupRow(*row)
        for row in AccessRecord.objects.filter(
            kind=AccessRecord.Kind.SIGNUP, at__gte=since, at__lte=now
        ).values_list("user_id", "network", "device", "agent", "at")
    ]
    return events, exposures, follows, comments, signups


def detect(
    *, now: datetime | None = None
) -> tuple[dict[int, list[dict[str, Any]]], set[int], dict[int, int]]:
    """Run every detector over the recent activity: (signals per account, the flagged accounts, the creator
    who benefits per flagged account). Writes nothing."""
    now = now or timezone.now()
    config = integrity_config()
    events, exposures, follows, comments, signups = _read_activity(since=_window(now), now=now)
    signals = detectors.merge(
        detectors.detect_signups(signups, config),
        detectors.detect_single_creator(events, follows, config),
        detectors.detect_lockstep(events, follows, config),
        detectors.detect_exposure(events, follows, config, exposures=exposures),
        detectors.detect_churn(follows, config),
        detectors.detect_templates(comments, config),
        detectors.detect_scripted(
            events, follows, config, exposures=exposures, joined={r.user_id: r.at for r in signups}
        ),
    )
    staff = set(User.objects.filter(is_staff=True).values_list("pk", flat=True))
    flagged = {u for u, s in signals.items() if u not in staff and detectors.is_flagged(s, config)}
    benefit = detectors.beneficiaries(
        flagged,
        events,
        follows,
        min_accounts=int(getattr(settings, "MEADOW_INTEGRITY_BENEFICIARY_MIN_ACCOUNTS", 3)),
    )
    return signals, flagged, benefit


def scan(now: datetime | None = None) -> dict[str, int]:
    """Detect, open or refresh a case per suspected account, hold their signals. Idempotent. Returns counts:
    ``flagged`` (accounts suspected by this scan), ``opened`` (new cases), ``held`` (events newly held)."""
    if not integrity_enabled():
        return {"flagged": 0, "opened": 0, "held": 0}
    now = now or timezone.now()
    config = integrity_config()
    signals, flagged, benefit = detect(now=now)
    opened = 0
    with transaction.atomic():
        cases = {
            c.account_id: c for c in Case.objects.select_for_update().exclude(status=Case.Status.DISMISSED)
        }
        dismissed: dict[int, float] = {}
        for account_id, score in Case.objects.filter(status=Case.Status.DISMISSED).values_list(
            "account_id", "score"
        ):
            dismissed[account_id] = max(score, dismissed.get(account_id, 0.0))
        for account_id in sorted(flagged):
            found = signals[account_id]
            score = detectors.account_score(found)
            case = cases.get(account_id)
            if case is None:
                # a dismissed account comes back only with clearly more evidence than a moderator cleared
                if account_id in dismissed and score < dismissed[account_id] + config.flag_score:
                    continue
                cases[account_id] = Case.objects.create(
                    account_id=account_id,
                    score=score,
                    signals=found,
                    category=detectors.main_category(found),
                    beneficiary_id=benefit.get(account_id),
                    opened_at=now,
                    updated_at=now,
                )
                opened += 1
            elif case.status == Case.Status.PENDING:
                changes = {"score": score, "signals": found, "updated_at": now}
                if benefit.get(account_id) and not case.beneficiary_id:
                    changes["beneficiary_id"] = benefit[account_id]
                Case.objects.filter(pk=case.pk).update(**changes)
        held = _hold(cases=list(cases.values()), now=now)
    return {"flagged": len(flagged), "opened": opened, "held": held}


def _hold(*, cases: list[Case], now: datetime) -> int:
    """Hold every not yet held engagement event of the open cases' accounts."""
    by_account = {c.account_id: c for c in cases}
    if not by_account:
        return 0
    already = HeldSignal.objects.filter(case__account_id__in=list(by_account)).values_list(
        "event_id", flat=True
    )
    rows = (
        EngagementEvent.objects.filter(user_id__in=list(by_account), created_at__lte=now)
        .exclude(kind__in=NOT_HELD)
        .exclude(pk__in=already)
        .values_list("pk", "user_id", "note_id", "kind", "weight", "created_at")
    )
    held: list[HeldSignal] = []
    deltas: dict[int, list[float]] = defaultdict(lambda: [0.0, 0, 0])
    per_note: dict[int, list[tuple[datetime, float, int, int]]] = defaultdict(list)
    for event_id, user_id, note_id, kind, weight, at in rows.iterator(chunk_size=5000):
        score, interactions, reads = event_effect(kind=kind, weight=weight)
        per_note[note_id].append((at, score, interactions, reads))
        case = by_account[user_id]
        category = Category.FAKE_TRAFFIC if kind == Signal.READ else case.category
        held.append(
            HeldSignal(
                case=case,
                event_id=event_id,
                note_id=note_id,
                kind=kind,
                category=category,
                score=score,
                interactions=interactions,
                reads=reads,
                held_at=now,
            )
        )
        total = deltas[note_id]
        total[0] += score
        total[1] += interactions
        total[2] += reads
    HeldSignal.objects.bulk_create(held, batch_size=1000)
    note_stats_withhold(deltas={n: (d[0], int(d[1]), int(d[2])) for n, d in deltas.items()})
    for on_hold in _ON_HOLD:  # distribution: a note promoted on what is now held is judged again
        on_hold(held=dict(per_note), now=now)
    return len(held)


def _release(*, case: Case) -> int:
    deltas: dict[int, list[float]] = defaultdict(lambda: [0.0, 0, 0])
    rows = list(case.held.values_list("note_id", "score", "interactions", "reads"))
    for note_id, score, interactions, reads in rows:
        total = deltas[note_id]
        total[0] += score
        total[1] += interactions
        total[2] += reads
    note_stats_withhold(deltas={n: (d[0], int(d[1]), int(d[2])) for n, d in deltas.items()}, release=True)
    case.held.all().delete()
    return len(rows)


def _decidable(case_id: int) -> Case:
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None or case.status != Case.Status.PENDING:
        raise Conflict(_("This case has already been decided."), code="already_decided")
    return case


def _evidence(case: Case) -> dict[str, Any]:
    return {
        "integrity_case": case.pk,
        "score": case.score,
        "categories": sorted({s["category"] for s in case.signals}),
        "signals": case.signals,
    }


def case_uphold(*, case: Case, moderator: User, now: datetime | None = None) -> Case:
    """Uphold: the held signals stay out for good, the fake account gets the next step of the behaviour ladder
    and so does the creator who bought the engagement (once per ring: a buyer already sanctioned for this ring
    within ``MEADOW_INTEGRITY_BUYER_ONCE_DAYS`` is not sanctioned again for each of its accounts)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _decidable(case.pk)
        violation = violation_record(
            account=case.account,
            type="behaviour",
            category=case.category,
            rule="integrity:" + "+".join(sorted({s["signal"] for s in case.signals}))[:100],
            evidence=_evidence(case),
            source="moderator",
            decided_by=moderator,
            now=now,
        )
        buyer_violation_id = None
        if case.beneficiary_id is not None:
            days = float(getattr(settings, "MEADOW_INTEGRITY_BUYER_ONCE_DAYS", 30))
            earlier = (
                Case.objects.filter(
                    beneficiary_id=case.beneficiary_id,
                    beneficiary_violation_id__isnull=False,
                    decided_at__gte=now - timedelta(days=days),
                )
                .values_list("beneficiary_violation_id", flat=True)
                .first()
            )
            if earlier is not None:
                buyer_violation_id = earlier
            else:
                buyer = User.objects.get(pk=case.beneficiary_id)
                buyer_violation_id = violation_record(
                    account=buyer,
                    type="behaviour",
                    category="fake_engagement",
                    rule="integrity:bought_engagement",
                    evidence={**_evidence(case), "bought_from_account": case.account_id},
                    source="moderator",
                    decided_by=moderator,
                    now=now,
                ).pk
        Case.objects.filter(pk=case.pk).update(
            status=Case.Status.UPHELD,
            decided_at=now,
            decided_by=moderator,
            updated_at=now,
            violation_id=violation.pk,
            beneficiary_violation_id=buyer_violation_id,
        )
    case.refresh_from_db()
    return case


def case_dismiss(*, case: Case, moderator: User, now: datetime | None = None) -> Case:
    """Dismiss: the account was real; its held signals count again."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _decidable(case.pk)
        _release(case=case)
        Case.objects.filter(pk=case.pk).update(
            status=Case.Status.DISMISSED, decided_at=now, decided_by=moderator, updated_at=now
        )
    case.refresh_from_db()
    return case
