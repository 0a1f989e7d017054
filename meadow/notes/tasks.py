"""Background work for notes. Every task is idempotent and safe to retry."""

from __future__ import annotations

import logging
import subprocess
import uuid

from celery import shared_task
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from meadow.core.errors import ValidationFailed
from meadow.core.outbox import outbox_record
from meadow.notes import media
from meadow.notes.events import NOTE_COVER_REPLACED
from meadow.notes.models import Note, NoteHashtag, NoteImage, NoteVideo

log = logging.getLogger(__name__)


@shared_task(name="meadow.notes.tasks.note_video_process", autoretry_for=(OSError,), max_retries=3)
def note_video_process(note_id: int) -> str:
    """Remux the uploaded video without metadata, take its poster frame (unless a cover was uploaded) and mark
    the note's media ready. Idempotent: a finished video is left alone. Failure marks the media ``failed``
    (the author sees it) instead of raising into the request that queued it on the embedded profile."""
    video = NoteVideo.objects.select_related("note").filter(note_id=note_id).first()
    if video is None or video.note.status == Note.Status.REMOVED:
        return "gone"
    if video.file and video.note.media_state == Note.MediaState.READY:
        return "done"
    saved: list[str] = []
    try:
        mp4, poster, probe = media.video_transcode(video.source.name)
        renditions = None
        if not video.has_uploaded_cover:
            renditions = media.image_process_bytes(poster, field="video")
            thumb, detail = media.store_renditions(renditions, saved=saved)
        name = default_storage.save(f"{media._media_dir()}/{uuid.uuid4().hex}.mp4", ContentFile(mp4))
        saved.append(name)
    except (subprocess.SubprocessError, ValidationFailed, FileNotFoundError) as exc:
        log.warning("video of note %s failed: %s", note_id, exc)
        media.delete_files(saved)
        Note.objects.filter(pk=note_id).update(media_state=Note.MediaState.FAILED)
        return "failed"
    with transaction.atomic():
        locked = NoteVideo.objects.select_for_update().get(pk=video.pk)
        if locked.file:  # a concurrent retry won
            media.delete_files(saved)
            return "done"
        old_source = locked.source.name
        locked.file = name
        locked.source = ""
        if probe is not None:
            locked.duration, locked.width, locked.height = round(probe.duration, 3), probe.width, probe.height
        locked.save()
        if renditions is not None:
            NoteImage.objects.filter(note_id=note_id).delete()
            NoteImage.objects.create(
                note_id=note_id,
                position=0,
                thumb=thumb,
                detail=detail,
                width=renditions.width,
                height=renditions.height,
                thumb_width=renditions.thumb_width,
                thumb_height=renditions.thumb_height,
                color=renditions.color,
                blurhash=renditions.blurhash,
            )
        Note.objects.filter(pk=note_id).update(media_state=Note.MediaState.READY)
        from meadow.notes.services import hashtags_recount

        hashtags_recount(
            hashtag_ids=NoteHashtag.objects.filter(note_id=note_id).values_list("hashtag_id", flat=True)
        )
        transaction.on_commit(lambda: media.delete_files([old_source]))
        if renditions is not None:  # the poster frame is the cover now: scanned like a photo (QR, OCR, NSFW)
            outbox_record(NOTE_COVER_REPLACED, note_id=note_id)  # by moderation, after the commit
    return "done"


@shared_task(name="meadow.notes.tasks.note_media_purge")
def note_media_purge(note_id: int) -> int:
    """Delete the stored files of a removed note (files shared with a live note, such as demo covers, stay).
    Idempotent: returns how many files it deleted this time."""
    note = Note.objects.filter(pk=note_id, status=Note.Status.REMOVED).first()
    if note is None:
        return 0
    names: list[str] = []
    for image in NoteImage.objects.filter(note=note):
        for name in (image.thumb.name, image.detail.name):
            if not name:
                continue
            shared = (
                NoteImage.objects.exclude(note=note)
                .exclude(note__status=Note.Status.REMOVED)
                .filter(thumb=name)
                .exists()
                or NoteImage.objects.exclude(note=note)
                .exclude(note__status=Note.Status.REMOVED)
                .filter(detail=name)
                .exists()
            )
            if not shared:
                names.append(name)
    video = NoteVideo.objects.filter(note=note).first()
    if video is not None:
        names.extend(n for n in (video.file.name, video.source.name) if n)
    deleted = sum(1 for n in names if default_storage.exists(n))
    media.delete_files(names)
    NoteImage.objects.filter(note=note).update(thumb="", detail="")
    NoteVideo.objects.filter(note=note).update(file="", source="")
    return deleted


@shared_task(name="meadow.notes.tasks.hashtags_recount")
def hashtags_recount() -> int:
    """Periodic (beat, ``MEADOW_HASHTAG_RECOUNT_SECONDS``): recount every topic from the notes any feed may
    show anyone, for what changes without a note event (an account turns private or is banned, a limit or a
    hold starts or ends). Idempotent. Returns how many counts changed."""
    from meadow.notes.services import hashtags_recount as recount

    return recount()


@shared_task(name="meadow.notes.tasks.image_uploads_purge")
def image_uploads_purge() -> int:
    """Periodic (beat): delete the images kept from refused publishes that were not used within
    ``UPLOAD_KEEP_HOURS``, with their files. Idempotent. Returns how many."""
    from meadow.notes.services import image_uploads_purge_expired

    return image_uploads_purge_expired()
