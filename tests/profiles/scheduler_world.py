"""Seeds the world the scheduler test watches, in its own interpreter against a file-based SQLite database
(``python -m tests.profiles.scheduler_world`` with MEADOW_DATA_DIR set): a note due for pool evaluation with
strong engagement, ended sanctions (a posting ban, a suspension), an unpaid order past its payment window.
Prints the ids as JSON. Nothing here runs a periodic task: the real beat and worker must do that."""

from __future__ import annotations

import json
import os
from datetime import timedelta


def seed() -> dict[str, int]:
    from django.utils import timezone

    from meadow.accounts.models import User
    from meadow.distribution.models import NotePool
    from meadow.enforcement.models import Sanction
    from meadow.engagement.models import NoteStats
    from meadow.notes.models import Note
    from meadow.notes.tests.factories import NoteFactory
    from meadow.orders.models import Order
    from meadow.orders.services import order_place
    from meadow.orders.tests.factories import ADDRESS, make_sku
    from tests.factories import UserFactory

    now = timezone.now()
    past = now - timedelta(hours=1)
    # a note in pool 1, due now, whose level numbers pass every gate (10 impressions, 5 reads, 5 likes)
    note = NoteFactory()
    Note.objects.filter(pk=note.pk).update(like_count=5)
    NoteStats.objects.update_or_create(
        note_id=note.pk, defaults={"read_count": 5, "impression_count": 10, "signal_score": 10.0}
    )
    NotePool.objects.update_or_create(
        note_id=note.pk,
        defaults={
            "status": NotePool.Status.ACTIVE,
            "level": 1,
            "impressions": 10,
            "due_impressions": 3,
            "base_impressions": 0,
            "base_reads": 0,
            "base_interactions": 0,
            "base_completions": 0,
            "base_score": 0.0,
            "holds": 0,
            "entered_at": past,
            "level_entered_at": past,
            "evaluated_at": None,
            "next_evaluation_at": now - timedelta(seconds=1),
        },
    )
    # sanctions whose end has passed: a 14-day posting ban, and a suspension (the account is inactive)
    banned = UserFactory()
    ban = Sanction.objects.create(
        account=banned, kind=Sanction.Kind.POSTING_BAN, starts_at=now - timedelta(days=14), ends_at=past
    )
    suspended = UserFactory()
    suspension = Sanction.objects.create(
        account=suspended, kind=Sanction.Kind.SUSPENSION, starts_at=now - timedelta(days=3), ends_at=past
    )
    User.objects.filter(pk=suspended.pk).update(is_active=False)
    # an unpaid order holding 3 of 10 units, its payment window closed
    sku = make_sku(stock=10)
    buyer = UserFactory()
    checkout = order_place(buyer=buyer, items=[{"sku": sku.pk, "quantity": 3}], address=dict(ADDRESS))
    [order] = checkout.orders.all()
    Order.objects.filter(pk=order.pk).update(payment_due_at=now - timedelta(seconds=1))
    sku.refresh_from_db()
    assert sku.stock == 7, sku.stock
    return {
        "note": note.pk,
        "ban": ban.pk,
        "suspension": suspension.pk,
        "suspended_user": suspended.pk,
        "sku": sku.pk,
        "order": order.pk,
    }


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
    django.setup()
    print("SEEDED " + json.dumps(seed()))
