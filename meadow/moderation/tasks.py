"""Background work for moderation. Every task is idempotent and safe to retry."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="meadow.moderation.tasks.note_media_scan", autoretry_for=(OSError,), max_retries=3)
def note_media_scan(note_id: int, images: bool = True) -> dict[str, Any]:
    """Scan a published note's images and copy (QR codes, text in images, explicit images, plagiarism);
    see :func:`meadow.moderation.services.note_media_scan_run`. Queued by the moderation app's outbox consumer
    (``apps._note_media_scan``) for a new note, a draft published (``note_update``; ``images=False`` for a text
    edit of a published note: the images did not change, the copy did) and a video whose poster frame has become
    the cover image (``note_video_process``)."""
    from meadow.moderation.services import note_media_scan_run

    inline = bool(getattr(note_media_scan.request, "is_eager", False))
    return note_media_scan_run(note_id=note_id, inline=inline, with_images=images)
