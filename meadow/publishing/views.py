"""The pages that publish and show a note across the apps: the composer and a draft's publish button (through
``meadow.publishing.services``: the posting gate, text screening and product tags), and the note page, which shows
the products the note tags (store) beside the note. Their templates are the notes app's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meadow.accounts.selectors import follow_status
from meadow.core.errors import DomainError, StorageFull
from meadow.notes import selectors
from meadow.notes import services as note_services
from meadow.notes.models import ImageUpload, Note
from meadow.notes.text import normalize_hashtag, parse_hashtags
from meadow.publishing import services
from meadow.store.selectors import products_for_note


def _viewer(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def note_detail(request: HttpRequest, note_id: int) -> HttpResponse:
    viewer = _viewer(request)
    note = selectors.note_get_for_viewer(viewer=viewer, note_id=note_id)
    body_tags = {normalize_hashtag(tag) for tag in parse_hashtags(note.body)}
    context = {
        "note": note,
        "images": list(note.images.all()),
        # topics given as a list; those written as #tags in the body are already linked there
        "hashtags": [link.hashtag for link in note.hashtag_links.all() if link.hashtag.name not in body_tags],
        "profile": note.author,
        "follow": follow_status(follower=viewer, followee=note.author),
        "is_author": viewer is not None and viewer.pk == note.author_id,
        "products": products_for_note(note_id=note.pk),  # product tags (种草 → the product page)
    }
    template = "notes/_note_sheet.html" if request.htmx else "notes/note_detail.html"
    return render(request, template, context)


@login_required
def compose(request: HttpRequest) -> HttpResponse:
    """The composer: images (drag, drop, reorder) or a video, title and body with live counters, hashtags
    with the 5-3-2 helper, live moderation findings, visibility, content type, location, draft."""
    values: dict[str, Any] = {
        "title": "",
        "body": "",
        "hashtags": [],
        "visibility": Note.Visibility.PUBLIC,
        "content_type": Note.ContentType.DAILY_LIFE,
        "location_name": "",
        "products": [],
    }
    error: DomainError | None = None
    uploads: list[ImageUpload] = []
    left_out: list[str] = []
    if request.method == "POST":
        data = request.POST
        # Images kept from a refused attempt come back as thumbnails with their ids (in the order shown); those
        # ticked "remove" go for good.
        removed = set(data.getlist("uploads_remove"))
        uploads = [
            u
            for u in selectors.image_uploads_for(author=request.user, upload_ids=data.getlist("uploads"))
            if str(u.pk) not in removed
        ]
        if removed:
            note_services.image_uploads_discard(
                author=request.user, upload_ids=[int(i) for i in removed if i.isdigit()]
            )
        new_images = request.FILES.getlist("images")
        # What each image shows (its alt text): kept images carry theirs by upload id, new ones in order.
        new_alts = data.getlist("alts")
        for upload in uploads:
            upload.alt_value = data.get(f"alt_upload_{upload.pk}", "")
        values = {
            "title": data.get("title", ""),
            "body": data.get("body", ""),
            "hashtags": [t.strip() for t in data.getlist("hashtags") if t.strip()],
            "visibility": data.get("visibility", Note.Visibility.PUBLIC),
            "content_type": data.get("content_type", Note.ContentType.DAILY_LIFE),
            "location_name": data.get("location_name", ""),
            "products": [p for p in data.getlist("products") if p.strip()],
        }
        try:
            note = services.note_publish(
                author=request.user,
                images=new_images,
                uploads=uploads,
                video=request.FILES.get("video"),
                cover=request.FILES.get("cover"),
                draft=data.get("draft") == "1",
                alts=[u.alt_value for u in uploads] + new_alts[: len(new_images)],
                **values,
            )
        except DomainError as exc:
            error = exc
            # Nothing entered is lost on a refusal: the text, topics and products are rendered again, and the new
            # images are kept server-side (processed, EXIF stripped) and shown again for the next submit.
            # A full disk cannot keep them: then the refusal (the disk's own error) is shown without them.
            if not isinstance(exc, StorageFull):
                try:
                    kept, left_out = note_services.image_uploads_keep(author=request.user, images=new_images)
                except StorageFull as full:
                    error, kept = full, []
                if len(kept) == len(new_images):  # none left out: each keeps the description typed for it
                    for upload, alt in zip(kept, new_alts + [""] * len(kept), strict=False):
                        upload.alt_value = alt
                uploads += kept
        else:
            if note.status == Note.Status.DRAFT:
                messages.success(request, _("Draft saved."))
            else:
                messages.success(request, _("Published!"))
            return redirect("web:note", note_id=note.pk)
    context = {
        "values": values,
        "error": error,
        "uploads": uploads,
        "left_out": left_out,
        "visibilities": Note.Visibility.choices,
        "content_types": Note.ContentType.choices,
        "limits": {"title": 20, "body": 1000, "hashtags": 10, "images": 18},
    }
    return render(request, "notes/compose.html", context, status=400 if error else 200)


@login_required
@require_POST
def note_publish_draft(request: HttpRequest, note_id: int) -> HttpResponse:
    note = selectors.note_get_for_viewer(viewer=request.user, note_id=note_id)
    if note.author_id != request.user.pk:
        raise Http404
    try:
        services.note_update(note=note, editor=request.user, publish=True)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Published!"))
    return redirect("web:note", note_id=note.pk)
