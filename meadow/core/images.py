"""Uploaded images: detect the type from content, refuse bombs and broken files, strip metadata (EXIF/GPS),
honour orientation and re-encode to WebP. Used by avatars and backgrounds now, by notes later."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from meadow.core.errors import ValidationFailed

try:  # HEIC/HEIF from phones
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - the dependency is declared; this only guards odd installs
    pass

# What the docs promise (JPEG, PNG, WebP, HEIC; MPO is the JPEG phones write): no GIF, as for notes.
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "HEIC", "MPO"}
# The same, as the media types an upload's part may carry; the API states them (multipart ``encoding``).
ACCEPTED_MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")


def image_upload_openapi(*fields: str, counts: dict[str, tuple[int, int]] | None = None) -> dict:
    """``openapi_extra`` for an operation whose multipart ``fields`` are images: each part is one of
    ACCEPTED_MEDIA_TYPES, read from its content (a file that is no image we can read answers 400 ``bad_image``).
    ``counts`` states, for a repeated field, how many parts one request takes (``minItems``, ``maxItems``: pass
    the service's constant); a field sent with no part at all is refused before the service."""
    content_type = ", ".join(ACCEPTED_MEDIA_TYPES)
    body: dict = {"encoding": {field: {"contentType": content_type} for field in fields}}
    if counts:
        body["schema"] = {
            "properties": {
                field: {"minItems": low, "maxItems": high} for field, (low, high) in counts.items()
            }
        }
    return {"requestBody": {"content": {"multipart/form-data": body}}}


@dataclass
class ProcessedImage:
    content: ContentFile
    width: int
    height: int
    dominant_color: str


def process_image_upload(
    upload, *, field: str, max_bytes: int, fit: tuple[int, int], crop: bool, name: str
) -> ProcessedImage:
    """Validate ``upload`` and return a clean WebP rendition that fits in ``fit`` (cropped to it if ``crop``)."""
    size = getattr(upload, "size", None)
    if size is None:
        raise ValidationFailed(_("No file was received."), field=field, code="bad_image")
    if size > max_bytes:
        raise ValidationFailed(
            _("The image is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": round(size / 1048576, 1), "limit": round(max_bytes / 1048576, 1)},
            field=field,
            code="image_too_large",
        )
    upload.seek(0)
    data = upload.read()
    Image.MAX_IMAGE_PIXELS = settings.MEADOW_IMAGE_MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = (probe.format or "").upper()
            if fmt not in ACCEPTED_FORMATS:
                raise ValidationFailed(
                    _("Please upload a JPEG, PNG, WebP or HEIC image."), field=field, code="bad_image_type"
                )
            if probe.width * probe.height > settings.MEADOW_IMAGE_MAX_PIXELS:
                raise ValidationFailed(_("The image has too many pixels."), field=field, code="image_too_big")
            probe.verify()
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            upright = ImageOps.exif_transpose(source)
            rgb = upright.convert("RGBA" if upright.mode in ("RGBA", "LA", "P") else "RGB")
            final = ImageOps.fit(rgb, fit, method=Image.Resampling.LANCZOS) if crop else _shrink(rgb, fit)
            out = io.BytesIO()
            final.save(out, "WEBP", quality=85, method=4)  # a fresh encode carries no EXIF
            pixel = final.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
            r, g, b = pixel if isinstance(pixel, tuple) else (0, 0, 0)
            width, height = final.size
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise ValidationFailed(
                _("The image has too many pixels."), field=field, code="image_too_big"
            ) from exc
        raise ValidationFailed(
            _("This file is not an image we can read. Please upload a JPEG, PNG, WebP or HEIC image."),
            field=field,
            code="bad_image",
        ) from exc
    return ProcessedImage(
        content=ContentFile(out.getvalue(), name=f"{name}.webp"),
        width=width,
        height=height,
        dominant_color=f"#{r:02x}{g:02x}{b:02x}",
    )


def _shrink(img: Image.Image, fit: tuple[int, int]) -> Image.Image:
    img = img.copy()
    img.thumbnail(fit, Image.Resampling.LANCZOS)
    return img
