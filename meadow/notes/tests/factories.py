"""Factories and file makers for the notes tests (no JSON fixtures, no network)."""

from __future__ import annotations

import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from meadow.notes.models import Note, NoteImage
from tests.factories import UserFactory


class NoteFactory(factory.django.DjangoModelFactory):
    """A published public image note with one (fileless) image row: fast, for visibility and grid tests.
    Use ``services.note_publish`` when the media pipeline matters."""

    class Meta:
        model = Note
        skip_postgeneration_save = True

    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Note {n}")
    body = "A day in Kuala Lumpur."
    status = Note.Status.PUBLISHED
    visibility = Note.Visibility.PUBLIC
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def image(obj, create, extracted, **kwargs):
        if create:
            NoteImage.objects.create(
                note=obj,
                position=0,
                thumb=f"notes/test/{obj.pk}_t.webp",
                detail=f"notes/test/{obj.pk}_d.webp",
                width=1080,
                height=1440,
                thumb_width=540,
                thumb_height=720,
            )


def image_bytes(
    fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color=(200, 80, 40), exif=None, **save
) -> bytes:
    img = Image.new("RGB", size, color)
    out = io.BytesIO()
    if exif is not None:
        save["exif"] = exif
    img.save(out, fmt, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg(name: str = "photo.jpg", **kwargs) -> SimpleUploadedFile:
    return upload(image_bytes("JPEG", **kwargs), name)
