"""Publish and edit a note across the apps: the notes app writes the note (``meadow.notes.services``), enforcement
says whether the author may post and screens the text (a ``block`` refuses before anything is stored, a
``review`` holds the note in the same transaction), and the store writes the note's product tags in that
transaction too. Every endpoint and page that publishes or edits a note calls these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from meadow.accounts.models import User
from meadow.enforcement.services import (
    Screening,
    enforcement_hold,
    enforcement_screen_note,
    enforcement_screen_note_edit,
)
from meadow.notes import services as notes
from meadow.notes.models import ImageUpload, Note
from meadow.notes.services import UNSET
from meadow.store.services import note_products_set, note_products_validate

PASS: dict[str, Any] = {"verdict": "pass", "hits": []}


def note_publish(
    *,
    author: User,
    title: str = "",
    body: str = "",
    hashtags: Iterable[str] = (),
    images: Sequence[Any] = (),
    video: Any = None,
    cover: Any = None,
    visibility: str = Note.Visibility.PUBLIC,
    content_type: str = Note.ContentType.DAILY_LIFE,
    location_name: str = "",
    latitude: float | Decimal | None = None,
    longitude: float | Decimal | None = None,
    draft: bool = False,
    products: Iterable[int] | None = None,
    uploads: Sequence[ImageUpload] = (),
    alts: Sequence[str] = (),
) -> Note:
    """Publish a note (or save it as a draft), optionally tagging up to 5 on-sale ``products``; see
    ``notes.services.note_publish`` for the note itself. Once the fields are valid and before any file is
    stored: the products are checked, and (unless a draft) the author must be allowed to post and the text
    pass the moderation policy (``block`` raises). The note's ``moderation`` is the screening's answer."""
    screened: dict[str, Any] = {"screening": None, "product_ids": []}

    def screen(*, title: str, body: str, tags: list[tuple[str, str]]) -> None:
        screened["product_ids"] = note_products_validate(product_ids=products)
        if not draft:
            screened["screening"] = enforcement_screen_note(author=author, title=title, body=body, tags=tags)

    def within(note: Note) -> None:
        enforcement_hold(obj=note, account=author, screening=screened["screening"])
        if screened["product_ids"]:
            note_products_set(note=note, product_ids=screened["product_ids"])

    note = notes.note_publish(
        author=author,
        title=title,
        body=body,
        hashtags=hashtags,
        images=images,
        video=video,
        cover=cover,
        visibility=visibility,
        content_type=content_type,
        location_name=location_name,
        latitude=latitude,
        longitude=longitude,
        draft=draft,
        uploads=uploads,
        alts=alts,
        screen=screen,
        within=within,
    )
    screening: Screening | None = screened["screening"]
    note.moderation = screening.to_dict() if screening else dict(PASS)
    return note


def note_update(
    *,
    note: Note,
    editor: User,
    title: str = UNSET,
    body: str = UNSET,
    hashtags: Iterable[str] = UNSET,
    visibility: str = UNSET,
    content_type: str = UNSET,
    location_name: str = UNSET,
    latitude: float | Decimal | None = UNSET,
    longitude: float | Decimal | None = UNSET,
    publish: bool = False,
    products: Iterable[int] = UNSET,
) -> Note:
    """Edit a note (``notes.services.note_update``) and optionally replace its product tags or publish a draft.
    A draft that goes out, or new text on a published note, is screened like a publish first (a posting ban or
    a ``block`` refuses the whole edit; a ``review`` holds the note in the edit's transaction)."""
    product_ids = UNSET if products is UNSET else note_products_validate(product_ids=products)
    screening = enforcement_screen_note_edit(
        note=note,
        editor=editor,
        publish=publish,
        **notes.note_edit_screen_text(
            note=note, editor=editor, title=title, body=body, hashtags=hashtags, publish=publish
        ),
    )

    def within(locked: Note) -> None:
        enforcement_hold(obj=locked, account=editor, screening=screening)
        if product_ids is not UNSET:
            note_products_set(note=locked, product_ids=product_ids)

    return notes.note_update(
        note=note,
        editor=editor,
        title=title,
        body=body,
        hashtags=hashtags,
        visibility=visibility,
        content_type=content_type,
        location_name=location_name,
        latitude=latitude,
        longitude=longitude,
        publish=publish,
        within=within,
    )
