"""Integrity reads: who is suspected, the review queue, and what a note has held out of counting."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from meadow.integrity.models import Case, HeldSignal


def flagged_account_ids() -> set[int]:
    """The accounts currently suspected: a case pending review or upheld."""
    return set(
        Case.objects.exclude(status=Case.Status.DISMISSED).values_list("account_id", flat=True).distinct()
    )


def behaviour_queue(*, status: str = Case.Status.PENDING) -> QuerySet[Case]:
    """The behaviour review queue, strongest evidence first."""
    return (
        Case.objects.filter(status=status).select_related("account", "beneficiary").order_by("-score", "id")
    )


def held_event_ids() -> QuerySet:
    """The ids of the engagement events held out of counting (a subquery: ``.exclude(pk__in=held_event_ids())``)."""
    return HeldSignal.objects.values("event_id")


def held_for_notes(*, note_ids: list[int]) -> dict[int, list[dict]]:
    """Per note, what is held out of counting, by reason category: ``[{"category", "signals", "interactions",
    "reads", "score"}]`` (the creator centre shows it as "not counted")."""
    out: dict[int, list[dict]] = {}
    rows = (
        HeldSignal.objects.filter(note_id__in=note_ids)
        .values("note_id", "category")
        .annotate(
            signals=Count("id"), interactions=Sum("interactions"), reads=Sum("reads"), score=Sum("score")
        )
        .order_by("note_id", "category")
    )
    for row in rows:
        out.setdefault(row["note_id"], []).append(
            {
                "category": row["category"],
                "signals": row["signals"],
                "interactions": row["interactions"] or 0,
                "reads": row["reads"] or 0,
                "score": float(row["score"] or 0.0),
            }
        )
    return out
