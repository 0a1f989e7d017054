"""Images in messages, through the notes media pipeline: each upload is decoded and re-encoded by
``notes.media.image_process`` (content-checked type, size and pixel limits, upright, no EXIF/GPS, at most 1440 px
wide) and the result is scanned *before* anything is stored or delivered, with the checks the note scan runs
(``moderation.images``): a QR code leading off Meadow or contact details written in the picture (OCR, then the
engine with field ``dm``: ``redirect``) or an explicit image (``adult``, NudeNet at ``MEADOW_NSFW_THRESHOLD``)
refuses the whole message with 400 ``image_refused`` and the reason. Accepted images go
to the private storage (``STORAGES["private"]``, outside MEDIA_ROOT) and are streamed to participants only."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from meadow.core.errors import ValidationFailed
from meadow.core.storage import private_storage
from meadow.moderation import images as scan
from meadow.moderation.services import moderation_engine
from meadow.notes.media import image_process

log = logging.getLogger(__name__)
FIELD = "images"


class ImageRefused(ValidationFailed):
    """An image the scan flags: not stored, not delivered; ``reason`` is ``redirect`` or ``adult``."""

    code = "image_refused"

    def __init__(self, message, *, reason: str, position: int, digest: str = "") -> None:
        super().__init__(message, field=FIELD)
        self.reason = reason
        self.position = position
        self.digest = digest  # the SHA-256 of the re-encoded image (the blocked attempt's evidence)


@dataclass
class PreparedImage:
    data: bytes  # the WebP detail rendition: a fresh encode, no metadata
    width: int
    height: int


def _qr_leaves_meadow(img: Image.Image) -> bool:
    allowed = moderation_engine().allowed_domains
    for code in scan.find_qr_codes(img):
        host = (urlsplit(code.payload).hostname or "") if "://" in code.payload else ""
        if host and any(host == d or host.endswith("." + d) for d in allowed):
            continue  # a QR code to Meadow itself moves nobody off the platform
        return True
    return False


def _text_leaves_meadow(img: Image.Image) -> bool:
    """Contact details or a way off Meadow written in the picture (a phone number, a handle on another platform,
    a link): the text the image shows (OCR, as for note images) goes through the engine with field ``dm``."""
    from meadow.moderation.services import moderation_check

    found = scan.read_text(img)
    if not found.text:
        return False
    result = moderation_check(text=found.text[:2000], field="dm")
    return any(hit.category == "redirect" for hit in result.hits)


def _explicit(img: Image.Image) -> bool:
    threshold = float(getattr(settings, "MEADOW_NSFW_THRESHOLD", 0.6))
    return scan.explicit_verdict(scan.explicit_detector().detect(img), threshold=threshold).flagged


def image_scan(data: bytes, *, position: int) -> None:
    """Raise ``ImageRefused`` when the re-encoded image hides a QR code leading off Meadow or explicit content.
    A check that fails to run refuses the image too (a DM is delivered at once: there is no later scan)."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        img = scan.downscale(scan.to_rgb(opened), scan.SCAN_MAX_SIDE)
    if scan.is_flat(img):
        return
    checks = (("redirect", _qr_leaves_meadow), ("adult", _explicit), ("redirect_text", _text_leaves_meadow))
    for reason, check in checks:
        try:
            flagged = check(img)
        except Exception:
            log.exception("message image scan: %s failed", reason)
            raise ValidationFailed(
                _("This image could not be checked right now. Please try again later."),
                field=FIELD,
                code="image_unchecked",
            ) from None
        if flagged:
            message = {
                "redirect": _("This image was not sent: it contains a QR code that leads off Meadow."),
                "adult": _("This image was not sent: it looks like explicit content."),
                "redirect_text": _(
                    "This image was not sent: it shows contact details or a way to reach someone off Meadow."
                ),
            }[reason]
            raise ImageRefused(
                message,
                reason="adult" if reason == "adult" else "redirect",
                position=position,
                digest=hashlib.sha256(data).hexdigest(),
            )


def images_prepare(uploads: list[Any]) -> list[PreparedImage]:
    """Validate, re-encode and scan every upload before anything is stored (one bad image refuses them all)."""
    limit = settings.MEADOW_MESSAGE_IMAGES_MAX
    if len(uploads) > limit:
        raise ValidationFailed(
            _("A message carries at most %(max)d images.") % {"max": limit},
            field=FIELD,
            code="too_many_images",
        )
    prepared = []
    for position, upload in enumerate(uploads):
        renditions = image_process(upload, field=FIELD)
        image_scan(renditions.detail, position=position)
        prepared.append(
            PreparedImage(data=renditions.detail, width=renditions.width, height=renditions.height)
        )
    return prepared


def images_store(prepared: list[PreparedImage], *, saved: list[str]) -> list[str]:
    """Write each image to the private storage; every name is appended to ``saved`` (for cleanup)."""
    storage = private_storage()
    names = []
    for image in prepared:
        name = storage.save(
            f"messages/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.webp", ContentFile(image.data)
        )
        saved.append(name)
        names.append(name)
    return names


def images_delete(names: list[str]) -> None:
    storage = private_storage()
    for name in names:
        if name:
            with contextlib.suppress(OSError):
                storage.delete(name)
