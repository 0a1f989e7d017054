"""Cards in messages: a note, a product or an order, shown with its live state *as the reader may see it*. A
card stores only ``{"type", "id"}``; each reader's view is resolved through the owning app's access function
(``note_get_for_viewer``, ``product_get_for_viewer``, ``order_get_for_viewer``), so a card for something the
reader may not see — a private note, a delisted product, someone else's order — reads "unavailable" and leaks
nothing of it. One lookup per card (cards are rare in a page of messages)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.errors import DomainError, ValidationFailed

CARD_TYPES = ("note", "product", "order")


def _lookup(kind: str, ident: int, reader: User) -> dict[str, Any]:
    if kind == "note":
        from meadow.notes.selectors import note_get_for_viewer

        note = note_get_for_viewer(viewer=reader, note_id=ident)
        return {"title": note.title or _("Note"), "url": f"/notes/{note.pk}/", "status": None}
    if kind == "product":
        from meadow.store.selectors import product_get_for_viewer

        product = product_get_for_viewer(viewer=reader, product_id=ident)
        return {"title": product.title, "url": f"/products/{product.pk}/", "status": None}
    from meadow.orders.selectors import order_get_for_viewer

    order = order_get_for_viewer(user=reader, order_id=ident)
    return {
        "title": _("Order %(number)s") % {"number": order.pk},
        "url": f"/orders/{order.pk}/",
        "status": str(order.get_status_display()),
    }


def card_for_reader(card: dict[str, Any] | None, *, reader: User) -> dict[str, Any] | None:
    """``{"type", "id", "available", "title", "url", "status"}`` for ``reader``; unavailable ones carry only
    their type and id."""
    if not card:
        return None
    kind, ident = card.get("type"), card.get("id")
    shown: dict[str, Any] = {
        "type": kind,
        "id": ident,
        "available": False,
        "title": None,
        "url": None,
        "status": None,
    }
    if kind not in CARD_TYPES or not isinstance(ident, int):
        return shown
    with contextlib.suppress(Http404, DomainError):  # not found or not for this reader: unavailable
        shown.update(_lookup(kind, ident, reader), available=True)
    return shown


def card_clean(card: dict[str, Any] | None, *, sender: User) -> dict[str, Any] | None:
    """A card as stored: a known type, an id, and something the sender may see themselves."""
    if card is None:
        return None
    kind, ident = card.get("type"), card.get("id")
    if kind not in CARD_TYPES:
        raise ValidationFailed(_("This kind of card does not exist."), field="card", code="invalid_choice")
    if isinstance(ident, bool) or not isinstance(ident, int) or ident < 1:
        raise ValidationFailed(_("A card names an object by its id."), field="card")
    shown = card_for_reader({"type": kind, "id": ident}, reader=sender)
    if shown is None or not shown["available"]:
        raise ValidationFailed(
            _("You can only share what you can see."), field="card", code="card_unavailable"
        )
    return {"type": kind, "id": ident}
