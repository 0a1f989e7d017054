"""Reads about enforcement. ``limited_q`` is THE one filter every distribution surface (feeds, topic pages,
search, recommendation pools) applies to notes: it matches notes that must not be distributed — an account
under a visibility limit (限流), a note limited on its own, or a note held for review. Expiry is in the query
(end dates compared with now), so nothing waits for a cron job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone

from meadow.enforcement.models import Appeal, ReviewItem, Sanction, Violation


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def sanctions_active(*, now: datetime | None = None) -> QuerySet[Sanction]:
    """Sanctions in force at ``now`` (warnings are never "in force")."""
    now = _now(now)
    return (
        Sanction.objects.filter(lifted_at__isnull=True, starts_at__lte=now)
        .exclude(kind=Sanction.Kind.WARNING)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    )


def _note_content_type_id() -> int:
    from meadow.notes.models import Note

    return ContentType.objects.get_for_model(Note).pk


def limited_q(*, now: datetime | None = None) -> Q:
    """A ``Q`` over ``notes.Note`` matching the notes excluded from distribution, feeds and search."""
    limits = sanctions_active(now=now).filter(kind=Sanction.Kind.VISIBILITY_LIMIT)
    held = ReviewItem.objects.filter(
        kind=ReviewItem.Kind.HELD, state=ReviewItem.State.PENDING, target_type_id=_note_content_type_id()
    )
    return (
        Q(author_id__in=limits.filter(note__isnull=True).values("account_id"))
        | Q(pk__in=limits.filter(note__isnull=False).values("note_id"))
        | Q(pk__in=held.values("target_id"))
    )


def visible_in_distribution(qs: QuerySet, *, now: datetime | None = None) -> QuerySet:
    """``qs`` (of notes) without the limited ones."""
    return qs.exclude(limited_q(now=now))


def note_is_limited(*, note_id: int, now: datetime | None = None) -> bool:
    from meadow.notes.models import Note

    return Note.objects.filter(pk=note_id).filter(limited_q(now=now)).exists()


def note_is_held(*, note_id: int) -> bool:
    """Whether the checks hold ``note_id`` for a moderator (审核中): until decided, only its author sees it."""
    return ReviewItem.objects.filter(
        kind=ReviewItem.Kind.HELD,
        state=ReviewItem.State.PENDING,
        target_type_id=_note_content_type_id(),
        target_id=note_id,
    ).exists()


def notes_limited_ids(*, note_ids: list[int], now: datetime | None = None) -> set[int]:
    """Which of ``note_ids`` are limited (one query), to mark them for their author."""
    from meadow.notes.models import Note

    if not note_ids:
        return set()
    return set(Note.objects.filter(pk__in=note_ids).filter(limited_q(now=now)).values_list("pk", flat=True))


def account_sanctions_active(*, user, now: datetime | None = None) -> list[Sanction]:
    return list(sanctions_active(now=now).filter(account=user).select_related("violation", "note"))


def account_posting_ban(*, user, now: datetime | None = None) -> Sanction | None:
    """The posting ban (or suspension) in force for ``user``, the longest first (permanent before dated)."""
    found = list(
        sanctions_active(now=now).filter(
            account=user, kind__in=[Sanction.Kind.POSTING_BAN, Sanction.Kind.SUSPENSION]
        )
    )
    if not found:
        return None
    return max(found, key=lambda s: (s.ends_at is None, s.ends_at or s.starts_at))


def account_suspension(*, user, now: datetime | None = None) -> Sanction | None:
    return (
        sanctions_active(now=now)
        .filter(account=user, kind=Sanction.Kind.SUSPENSION)
        .order_by("ends_at")
        .first()
    )


def violations_active(*, user) -> QuerySet[Violation]:
    """The account's violations that count: not void records, not voided."""
    return Violation.objects.filter(account=user, voids__isnull=True, void__isnull=True)


def account_status(*, user, now: datetime | None = None, limit: int = 100) -> dict[str, Any]:
    """What the account status page and ``GET /me/status`` show: sanctions in force, the latest sanctions and
    violations (newest first) with their appeals."""
    now = _now(now)
    violations = list(
        Violation.objects.filter(account=user, voids__isnull=True)
        .select_related("void", "appeal")
        .order_by("-created_at", "-id")[:limit]
    )
    history = list(
        Sanction.objects.filter(account=user).select_related("note").order_by("-starts_at", "-id")[:limit]
    )
    active = [s for s in history if s.is_active(now)]
    return {"active": active, "sanctions": history, "violations": violations, "now": now}


def appeal_for(*, violation: Violation) -> Appeal | None:
    return Appeal.objects.filter(violation=violation).first()


def review_queue(*, state: str = ReviewItem.State.PENDING) -> QuerySet[ReviewItem]:
    return (
        ReviewItem.objects.filter(state=state)
        .select_related("account", "reporter")
        .order_by("created_at", "id")
    )


# --- moderators' decisions as training rows for the moderation engine's learned layer (issue #18) -----------------
_REPORTED_TEXT_CATEGORIES = frozenset(
    {"redirect", "absolute", "inducement", "disparage", "adult"}
)  # plus every "sensitive.*" code


def account_kind(user) -> str:
    """``"enterprise"`` for a verified business account, else ``"personal"`` (the moderation policy's account
    types)."""
    verified = getattr(user, "is_verified_enterprise", False)
    return "enterprise" if verified is True else "personal"


def _text_category(code: str) -> bool:
    return code in _REPORTED_TEXT_CATEGORIES or code.startswith("sensitive.")


def _row(*, text: str, field: str, account, labels: list[str], decision: str, ref: str) -> dict[str, Any]:
    return {
        "text": text,
        "field": field or "note",
        "lang": "unknown",
        "account": account_kind(account) if account is not None else "personal",
        "labels": sorted(set(labels)),
        "family": "moderator_decision",
        "writer": "moderator",
        "decision": decision,
        "ref": ref,
    }


def moderator_decision_rows() -> list[dict[str, Any]]:
    """The moderators' decisions on screened texts, in the moderation corpus's format, oldest first:

    * a held item *approved* (the checks were overturned) → the text, labels ``[]``;
    * a held item *removed* or *actioned* (upheld) → the text, labels = the text categories of its findings;
    * an appeal *upheld* (the violation voided: the check was wrong) → labels ``[]``; an appeal *rejected*
      → labels = the violation's text categories.

    Only decisions about a text the engine screened (findings with a text) count; user reports about other
    things (fake accounts, plagiarism) carry no text label."""
    rows: list[dict[str, Any]] = []
    decided = ReviewItem.objects.exclude(state=ReviewItem.State.PENDING).select_related("account")
    for item in decided.order_by("decided_at", "id"):
        findings = item.findings or {}
        text = findings.get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        cats = [h.get("category", "") for h in findings.get("hits") or []]
        if item.state == ReviewItem.State.APPROVED:
            labels: list[str] = []
            decision = "overturned"
        else:
            labels = [c for c in cats if _text_category(c)]
            if not labels:
                continue
            decision = "upheld"
        rows.append(
            _row(
                text=text,
                field=findings.get("field", "note"),
                account=item.account,
                labels=labels,
                decision=decision,
                ref=f"review:{item.pk}",
            )
        )
    appeals = Appeal.objects.exclude(state=Appeal.State.PENDING).select_related("violation", "account")
    for appeal in appeals.order_by("decided_at", "id"):
        evidence = appeal.violation.evidence or {}
        text = evidence.get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        if appeal.state == Appeal.State.UPHELD:
            labels, decision = [], "overturned"
        else:
            cats = [h.get("category", "") for h in evidence.get("hits") or []] or [appeal.violation.category]
            labels = [c for c in cats if _text_category(c)]
            if not labels:
                continue
            decision = "upheld"
        rows.append(
            _row(
                text=text,
                field=evidence.get("field", "note"),
                account=appeal.account,
                labels=labels,
                decision=decision,
                ref=f"appeal:{appeal.pk}",
            )
        )
    return rows
