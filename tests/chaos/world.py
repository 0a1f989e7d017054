"""The data the fault checks act on, in its own interpreter against the private servers
(``python -m tests.chaos.world seed|check`` with DATABASE_URL / REDIS_URL / MEADOW_DATA_DIR set).

``seed`` creates buyers with API tokens, a shop with one SKU of ``INITIAL_STOCK`` units and prints JSON.
``check`` prints the invariants that must hold whatever failed in between (JSON, ``ok`` plus the numbers):
stock + units in live orders = the initial stock; every paid order has exactly one succeeded payment; every
note has its image rows and their files; no file in the media folder that no row names."""

from __future__ import annotations

import json
import os
import sys

INITIAL_STOCK = 100_000


def seed(buyers: int = 4) -> dict:
    from meadow.accounts.services import _token_create
    from meadow.orders.tests.factories import make_sku
    from tests.factories import UserFactory

    sku = make_sku(stock=INITIAL_STOCK, price="3.00")
    people = [UserFactory() for _ in range(buyers)]
    return {"sku": sku.pk, "initial": INITIAL_STOCK, "tokens": [_token_create(user=u) for u in people]}


def check(initial: int) -> dict:
    from django.conf import settings
    from django.db.models import Count, Q, Sum

    from meadow.notes.models import Note, NoteImage
    from meadow.orders.models import Order, OrderLine, Payment
    from meadow.store.models import Sku

    problems: list[str] = []
    stock = sum(Sku.objects.values_list("stock", flat=True))
    live = ~Q(order__status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED])
    held = OrderLine.objects.filter(live).aggregate(n=Sum("quantity"))["n"] or 0
    if stock + held != initial:
        problems.append(f"stock {stock} + units in live orders {held} != initial {initial}")
    paid_states = [Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.COMPLETED]
    paid = Order.objects.filter(status__in=paid_states).annotate(
        captured=Count("payments", filter=Q(payments__status=Payment.Status.SUCCEEDED))
    )
    for order in paid:
        if order.captured != 1:
            problems.append(f"paid order {order.pk} has {order.captured} captured payments")
    notes = Note.objects.filter(kind=Note.Kind.IMAGE).annotate(n=Count("images"))
    for note in notes:
        if note.n == 0:
            problems.append(f"note {note.pk} has no image rows")
    named = set()
    for image in NoteImage.objects.all():
        for field in (image.thumb, image.detail):
            named.add(field.name)
            if not os.path.exists(os.path.join(settings.MEDIA_ROOT, field.name)):
                problems.append(f"image {image.pk} names a missing file {field.name}")
    stray = []
    for root, _, files in os.walk(os.path.join(settings.MEDIA_ROOT, "notes")):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), settings.MEDIA_ROOT)
            if rel not in named:
                stray.append(rel)
    if stray:
        problems.append(f"{len(stray)} files no row names: {stray[:5]}")
    return {
        "ok": not problems,
        "problems": problems,
        "stock": stock,
        "held": held,
        "orders": Order.objects.count(),
        "paid": len(paid),
        "notes": notes.count(),
        "images": len(named) // 2,
    }


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
    django.setup()
    if sys.argv[1] == "seed":
        print(json.dumps(seed()))
    else:
        print(json.dumps(check(int(sys.argv[2]))))
