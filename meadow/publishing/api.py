"""The publish and edit endpoints (``POST /notes``, ``PATCH /notes/{note_id}``): they call
``meadow.publishing.services``, which involves enforcement and the store besides the notes app. Ninja serves one
path from one router, so ``notes_routes_add`` puts these operations on the notes router (beside ``GET /notes``
and ``GET``/``DELETE /notes/{note_id}``), under the operation ids they always had."""

from __future__ import annotations

from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status, UploadedFile
from pydantic import ConfigDict, Field, StrictBool

from meadow.core.errors import ValidationFailed
from meadow.core.http import (
    ModerationErrorOut,
    ModerationOut,
    moderation_labelled,
    responses,
    token_or_session,
)
from meadow.core.images import ACCEPTED_MEDIA_TYPES
from meadow.core.schema import JSONId, Limits, SafeText, Text
from meadow.notes import selectors
from meadow.notes.api import NoteOut, _own_note, note_out
from meadow.notes.models import ALT_MAX, BODY_MAX, HASHTAG_PATTERN, IMAGES_MAX, LOCATION_NAME_MAX, TITLE_MAX
from meadow.publishing import services

VisibilityIn = Literal["public", "followers", "private"]
ContentTypeIn = Literal["knowledge", "case_study", "experience", "recommendation", "daily_life"]


class PublishedNoteOut(NoteOut):
    moderation: ModerationOut


# One tag of ``hashtags``, as the service judges it (notes' HASHTAG_PATTERN; the body's #tags count too).
HashtagIn = Annotated[str, Limits(pattern=HASHTAG_PATTERN)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
# A product to tag: an id the database can hold (a larger one would overflow it; it answers as unknown would).
ProductId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# The media a note is published with, as ``note_publish`` reads them: 1 to IMAGES_MAX ``images``, or one ``video``
# (MP4 or MOV, read from its content) with an optional ``cover``, never both kinds; each image part one of the
# image types the pipeline reads. Latitude and longitude come together.
VIDEO_MEDIA_TYPES = ("video/mp4", "video/quicktime")
NOTE_MEDIA_OPENAPI = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "properties": {"images": {"minItems": 1, "maxItems": IMAGES_MAX}},
                    "oneOf": [
                        {
                            "required": ["images"],
                            "not": {"anyOf": [{"required": ["video"]}, {"required": ["cover"]}]},
                        },
                        {"required": ["video"], "not": {"required": ["images"]}},
                    ],
                    "dependentRequired": {"latitude": ["longitude"], "longitude": ["latitude"]},
                },
                "encoding": {
                    "images": {"contentType": ", ".join(ACCEPTED_MEDIA_TYPES)},
                    "cover": {"contentType": ", ".join(ACCEPTED_MEDIA_TYPES)},
                    "video": {"contentType": ", ".join(VIDEO_MEDIA_TYPES)},
                },
            }
        }
    }
}


class NoteForm(Schema):
    title: Annotated[SafeText, Limits(max_length=TITLE_MAX)] = ""
    body: Annotated[Text, Limits(max_length=BODY_MAX)] = ""
    hashtags: list[HashtagIn] = Field(default_factory=list, max_length=64)
    visibility: VisibilityIn = "public"
    content_type: ContentTypeIn = "daily_life"
    location_name: Annotated[Text, Limits(max_length=LOCATION_NAME_MAX)] = ""
    # A form cannot send null: a number, or the field left out (then None; the service checks the pair).
    latitude: Latitude = None  # type: ignore[assignment]
    longitude: Longitude = None  # type: ignore[assignment]
    draft: bool = False
    products: list[ProductId] = Field(
        default_factory=list, max_length=20, description="On-sale products to tag (≤5)"
    )
    alts: list[Annotated[Text, Limits(max_length=ALT_MAX)]] = Field(
        default_factory=list,
        max_length=18,
        description="What each image shows (the alt text), in the order of the images; empty: from the title",
    )


def note_create(
    request: HttpRequest,
    form: Form[NoteForm],
    images: File[list[UploadedFile]] = None,
    video: File[UploadedFile] = None,
    cover: File[UploadedFile] = None,
):
    """Publish a note (multipart). Images: 1–18 JPEG/PNG/WebP/HEIC files as repeated ``images`` parts, in
    order (the first is the cover); or one MP4/MOV ``video`` with an optional ``cover``. ``hashtags`` repeats
    once per tag; with the body's #tags at most 10. ``draft=true`` saves without publishing.

    The answer adds ``moderation`` (``{verdict, hits}``, spans in ``title + "\n" + body``): ``review`` publishes
    the note held for review (out of feeds until a moderator approves); a ``block`` answers 400
    ``moderation_blocked`` with the same ``moderation`` beside the error; a posting ban answers 403
    ``posting_banned``."""
    note = services.note_publish(
        author=request.user,
        title=form.title,
        body=form.body,
        hashtags=form.hashtags,
        images=images or [],
        video=video,
        cover=cover,
        visibility=form.visibility,
        content_type=form.content_type,
        location_name=form.location_name,
        latitude=form.latitude,
        longitude=form.longitude,
        draft=form.draft,
        products=form.products,
        alts=form.alts,
    )
    out = note_out(request, selectors.note_get_for_viewer(viewer=request.user, note_id=note.pk))
    return Status(201, {**out, "moderation": moderation_labelled(note.moderation)})


# Latitude and longitude go together: both numbers, both null, or neither sent.
LAT_LNG_TOGETHER = {
    "dependentRequired": {"latitude": ["longitude"], "longitude": ["latitude"]},
    "anyOf": [
        {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}},
        {"properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
    ],
}


class NotePatch(Schema):
    model_config = ConfigDict(json_schema_extra=LAT_LNG_TOGETHER)

    title: Annotated[SafeText, Limits(max_length=TITLE_MAX)] | None = None
    body: Annotated[Text, Limits(max_length=BODY_MAX)] | None = None
    hashtags: list[HashtagIn] | None = Field(default=None, max_length=64)
    visibility: VisibilityIn | None = None
    content_type: ContentTypeIn | None = None
    location_name: Annotated[Text, Limits(max_length=LOCATION_NAME_MAX)] | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    publish: StrictBool = Field(default=False, description="Publish a draft")
    products: list[JSONId] | None = Field(default=None, max_length=20, description="Replace the product tags")


def note_patch(request: HttpRequest, note_id: int, payload: NotePatch):
    """Edit the text, hashtags, visibility, content type or location; ``publish: true`` publishes a draft.
    Only the author (403 for others who can see the note, 404 for those who cannot)."""
    note = _own_note(request, note_id)
    changes = payload.dict(exclude_unset=True)
    if ("latitude" in changes) != ("longitude" in changes):  # as the schema says: the pair, or neither
        raise ValidationFailed(
            _("Give both latitude and longitude, or neither."), field="latitude", code="invalid"
        )
    publish = bool(changes.pop("publish", False))
    for key in ("title", "body", "visibility", "content_type", "location_name"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    if "hashtags" in changes and changes["hashtags"] is None:
        changes["hashtags"] = []
    if "products" in changes and changes["products"] is None:
        changes["products"] = []
    services.note_update(note=note, editor=request.user, publish=publish, **changes)
    return note_out(request, selectors.note_get_for_viewer(viewer=request.user, note_id=note_id))


def notes_routes_add(router: Router) -> None:
    """Add the publish and edit operations to the notes router (``meadow/api.py``, before it adds that router)."""
    router.post(
        "/notes",
        response=responses({201: PublishedNoteOut, 400: ModerationErrorOut}),
        auth=token_or_session,
        operation_id="meadow_notes_api_note_create",
        tags=["notes"],
        openapi_extra=NOTE_MEDIA_OPENAPI,
    )(note_create)
    router.patch(
        "/notes/{note_id}",
        response=responses({200: NoteOut}),
        auth=token_or_session,
        operation_id="meadow_notes_api_note_patch",
        tags=["notes"],
    )(note_patch)
