"""The Django adapter around the moderation engine: builds the engine from the shipped lexicon plus the
moderators' entries, caches it per process, and rebuilds it when an entry changes.

Every process keeps one compiled engine and the *stamp* of the lexicon it was built from. The current stamp
lives in the shared cache (Redis at scale), bumped by every lexicon edit, so all web and worker processes
pick up a moderator's change on their next check — no restart, no polling of the database per check.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed
from meadow.core.metrics import moderation_verdict_count
from meadow.core.outbox import outbox_record
from meadow.moderation import images
from meadow.moderation.engine import ACCOUNTS, FIELDS, MAX_TEXT_LENGTH, Engine, Lexicon, Result
from meadow.moderation.engine.lexicon import term_from_record
from meadow.moderation.models import ImageFingerprint, LexiconEntry, ModerationFinding, TextFingerprint
from meadow.moderation.plagiarism import (
    IMAGE_MAX_DISTANCE,
    TEXT_MAX_DISTANCE,
    bands,
    hamming,
    text_fingerprint,
    to_signed,
    to_unsigned,
)

log = logging.getLogger(__name__)
STAMP_KEY = "moderation:lexicon:stamp"
_lock = threading.Lock()
_current: dict[str, Any] = {"stamp": None, "engine": None}


def _stamp() -> str:
    stamp = cache.get(STAMP_KEY)
    if stamp is None:
        stamp = uuid.uuid4().hex
        if not cache.add(STAMP_KEY, stamp, timeout=None):
            stamp = cache.get(STAMP_KEY) or stamp
    return stamp


def lexicon_changed() -> None:
    """Tell every process that the lexicon changed (they rebuild on their next check)."""
    cache.set(STAMP_KEY, uuid.uuid4().hex, timeout=None)


def moderation_lexicon() -> Lexicon:
    """The effective lexicon: shipped data files overlaid with the moderators' entries."""
    records = [entry.to_record() for entry in LexiconEntry.objects.all()]
    return Lexicon.default().merge(records)


def moderation_engine() -> Engine:
    """This process's compiled engine for the current lexicon (rebuilt after an edit)."""
    stamp = _stamp()
    engine = _current["engine"]
    if engine is not None and _current["stamp"] == stamp:
        return engine
    with _lock:
        if _current["engine"] is None or _current["stamp"] != stamp:
            learned = "default" if getattr(settings, "MODERATION_LEARNED", False) else None
            _current["engine"] = Engine(moderation_lexicon(), learned=learned)
            _current["stamp"] = stamp
        return _current["engine"]


def moderation_check(*, text: str, field: str = "note", account: str = "personal") -> Result:
    """Check ``text`` written in ``field`` by a ``personal`` or verified ``enterprise`` account."""
    if not isinstance(text, str):
        raise ValidationFailed(_("The text must be a string."), field="text", code="bad_text")
    if field not in FIELDS:
        raise ValidationFailed(_("Unknown field."), field="field", code="invalid_choice")
    if account not in ACCOUNTS:
        raise ValidationFailed(_("Unknown account kind."), field="account", code="invalid_choice")
    try:
        result = moderation_engine().check(text, field=field, account=account)
    except ValueError as exc:  # e.g. longer than the engine accepts
        raise ValidationFailed(str(exc), field="text", code="bad_text") from exc
    moderation_verdict_count(verdict=result.verdict, categories=result.categories)
    return result


def lexicon_entry_save(*, entry: LexiconEntry, by=None) -> LexiconEntry:
    """Validate and save a moderator's entry, then rebuild the engines everywhere."""
    entry.term = (entry.term or "").strip()
    try:
        term_from_record(entry.to_record())
    except (ValueError, KeyError) as exc:
        raise ValidationFailed(str(exc), field="term", code="bad_term") from exc
    entry.updated_by = by if by is not None and getattr(by, "is_authenticated", False) else entry.updated_by
    entry.updated_at = timezone.now()
    with transaction.atomic():
        entry.save()
        transaction.on_commit(lexicon_changed)
    return entry


def lexicon_entries_delete(*, entries) -> int:
    with transaction.atomic():
        deleted, _n = entries.delete()
        transaction.on_commit(lexicon_changed)
    return deleted


# --- media scan: QR codes, text in images, explicit images, plagiarism -----------------------------------------------
# What a published note's images and copy hide is checked after publishing, by the ``note_media_scan`` task
# (meadow/moderation/tasks.py); findings are stored as ``ModerationFinding`` rows and reported to enforcement.
REPORTED_CATEGORIES = frozenset({"redirect", "adult", "plagiarism"})
CANDIDATES_MAX = 1000  # rows compared bit by bit per lookup (a band shared by many notes is cut here)
_SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _account_kind(user: Any) -> str:
    return "enterprise" if getattr(user, "is_verified_enterprise", False) is True else "personal"


def finding_record(
    *,
    note: Any,
    image: Any,
    category: str,
    source: str,
    score: float,
    severity: str,
    evidence: dict[str, Any],
    original_note: Any = None,
    model_version: str = "",
) -> tuple[ModerationFinding, bool]:
    """Store a finding once per (note, image, source, category); returns it and whether it is new."""
    key = f"{image.pk if image is not None else 0}:{source}:{category}"[:80]
    return ModerationFinding.objects.get_or_create(
        note=note,
        key=key,
        defaults={
            "image": image,
            "category": category[:40],
            "source": source,
            "score": round(float(score), 4),
            "severity": severity,
            "evidence": evidence,
            "original_note": original_note,
            "model_version": model_version[:20],
        },
    )


# Outbox topic (meadow.core.outbox): an adult/redirect/plagiarism finding for enforcement, which records the
# violation (and may take the note down). Payload {"finding_id"}.
FINDING_REPORTED = "moderation.finding_reported"


def _report_to_enforcement(finding: ModerationFinding) -> bool:
    """Hand an adult/redirect/plagiarism finding to enforcement: stamp it reported and record the fact, in one
    transaction (enforcement consumes it after the commit). Idempotent: a reported finding is not reported
    again, even by two scans at once (the stamp is a conditional UPDATE)."""
    if finding.category not in REPORTED_CATEGORIES or finding.reported_at is not None:
        return False
    with transaction.atomic():
        stamped = ModerationFinding.objects.filter(pk=finding.pk, reported_at__isnull=True).update(
            reported_at=timezone.now()
        )
        if stamped:
            outbox_record(FINDING_REPORTED, finding_id=finding.pk)
    return bool(stamped)


def finding_evidence(finding: ModerationFinding) -> dict[str, Any]:
    """A finding's evidence as enforcement records it on the violation."""
    return {**finding.evidence, "finding": finding.pk, "source": finding.source, "score": finding.score}


def _original_for(model: Any, *, value: int, note: Any, max_distance: int) -> tuple[int, int] | None:
    """``(note id, distance)`` of the earliest published note by another author whose fingerprint is within
    ``max_distance`` bits of ``value``: four exact lookups on the indexed bands, then Hamming distance on the
    (few) candidates."""
    from meadow.notes.models import Note

    b = bands(value)
    before = note.published_at or note.created_at
    rows = (
        model.objects.filter(Q(band0=b[0]) | Q(band1=b[1]) | Q(band2=b[2]) | Q(band3=b[3]))
        .exclude(note__author_id=note.author_id)
        .filter(note__status=Note.Status.PUBLISHED, note__published_at__lte=before)
        .order_by("note__published_at", "note_id")
        .values_list("value", "note_id")[:CANDIDATES_MAX]
    )
    for stored, note_id in rows:  # earliest first
        distance = hamming(to_unsigned(stored), value)
        if distance <= max_distance:
            return note_id, distance
    return None


def _fingerprint_save(model: Any, *, value: int, **key: Any) -> None:
    b = bands(value)
    model.objects.update_or_create(
        **key,
        defaults={"value": to_signed(value), "band0": b[0], "band1": b[1], "band2": b[2], "band3": b[3]},
    )


def _image_open(image: Any) -> Any:
    from PIL import Image

    with default_storage.open(image.detail.name, "rb") as fh:
        img = Image.open(fh)
        img.load()
    return images.to_rgb(img)


def _scan_image(*, note: Any, image: Any, img: Any, ocr: bool, account: str) -> list[tuple[Any, bool]]:
    """Run every image check on one decoded image; a failing model is logged, not raised."""
    out: list[tuple[Any, bool]] = []
    ref = {"image": image.pk, "position": image.position, "file": image.detail.name}

    def guarded(label: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a model failure must not lose the other checks (or break inline publishing)
            log.exception("media scan: %s failed on image %s of note %s", label, image.pk, note.pk)

    def qr() -> None:
        allowed = moderation_engine().allowed_domains
        codes = []
        for code in images.find_qr_codes(img):
            host = (urlsplit(code.payload).hostname or "") if "://" in code.payload else ""
            if host and any(host == d or host.endswith("." + d) for d in allowed):
                continue  # a QR code to Meadow itself moves nobody off the platform
            codes.append(code)
        if not codes:
            return
        hits = []
        for code in codes:
            if code.payload:
                hits += [h.to_dict() for h in moderation_check(text=code.payload[:5000], field="note").hits]
        evidence = {
            **ref,
            "codes": [{"payload": c.payload, "box": list(c.box)} for c in codes],
            "hits": hits,
        }
        score = 1.0 if any(c.payload for c in codes) else 0.6
        out.append(
            finding_record(
                note=note,
                image=image,
                category="redirect",
                source=ModerationFinding.Source.QR,
                score=score,
                severity="high",
                evidence=evidence,
            )
        )

    def nsfw() -> None:
        threshold = float(_setting("MEADOW_NSFW_THRESHOLD", 0.6))
        detector = images.explicit_detector()
        verdict = images.explicit_verdict(detector.detect(img), threshold=threshold)
        if not verdict.flagged:
            return
        evidence = {
            **ref,
            "detector": detector.name,
            "threshold": threshold,
            "parts": [
                {"label": p.label, "score": round(p.score, 4), "box": list(p.box)} for p in verdict.parts
            ],
        }
        out.append(
            finding_record(
                note=note,
                image=image,
                category="adult",
                source=ModerationFinding.Source.NSFW,
                score=verdict.score,
                severity="high",
                evidence=evidence,
            )
        )

    def text() -> None:
        found = images.read_text(img)
        if not found.text:
            return
        result = moderation_check(text=found.text[:MAX_TEXT_LENGTH], field="note", account=account)
        by_category: dict[str, list[Any]] = {}
        for hit in result.hits:
            by_category.setdefault(hit.category, []).append(hit)
        lines = [{"text": ln.text, "score": round(ln.score, 4), "box": list(ln.box)} for ln in found.lines]
        for category, hits in by_category.items():
            scores = [ln.score for h in hits if (ln := found.line_at(h.start)) is not None]
            severity = max((h.severity for h in hits), key=lambda s: _SEVERITY_RANK.get(s, 1))
            evidence = {
                **ref,
                "text": found.text,
                "verdict": result.verdict,
                "hits": [h.to_dict() for h in hits],  # spans in "text"
                "lines": lines,
            }
            out.append(
                finding_record(
                    note=note,
                    image=image,
                    category=category,
                    source=ModerationFinding.Source.OCR,
                    score=max(scores, default=1.0),
                    severity=severity,
                    evidence=evidence,
                    model_version=next((v for h in hits if (v := getattr(h, "model_version", ""))), ""),
                )
            )

    def copied() -> None:
        value = images.phash(img)
        _fingerprint_save(ImageFingerprint, value=value, image=image, note=note)
        original = _original_for(ImageFingerprint, value=value, note=note, max_distance=IMAGE_MAX_DISTANCE)
        if original is None:
            return
        original_id, distance = original
        out.append(
            finding_record(
                note=note,
                image=image,
                category="plagiarism",
                source=ModerationFinding.Source.PHASH,
                score=1 - distance / 64,
                severity="medium",
                evidence={**ref, "original_note": original_id, "distance": distance},
                original_note=_note_stub(original_id),
            )
        )

    if images.is_flat(img):  # one colour: no code, text, body or fingerprint to find
        return out
    guarded("qr", qr)
    guarded("nsfw", nsfw)
    guarded("phash", copied)
    if ocr:
        guarded("ocr", text)
    return out


def _note_stub(note_id: int) -> Any:
    """A ``Note`` instance by id, without a query (for a foreign key)."""
    from meadow.notes.models import Note

    return Note(pk=note_id)


def _scan_copy(*, note: Any) -> list[tuple[Any, bool]]:
    fingerprint = text_fingerprint(f"{note.title}\n{note.body}")
    if fingerprint is None:
        TextFingerprint.objects.filter(note=note).delete()
        return []
    value, count = fingerprint
    b = bands(value)
    TextFingerprint.objects.update_or_create(
        note=note,
        defaults={
            "value": to_signed(value),
            "band0": b[0],
            "band1": b[1],
            "band2": b[2],
            "band3": b[3],
            "tokens": count,
        },
    )
    original = _original_for(TextFingerprint, value=value, note=note, max_distance=TEXT_MAX_DISTANCE)
    if original is None:
        return []
    original_id, distance = original
    return [
        finding_record(
            note=note,
            image=None,
            category="plagiarism",
            source=ModerationFinding.Source.SIMHASH,
            score=1 - distance / 64,
            severity="medium",
            evidence={"original_note": original_id, "distance": distance, "tokens": count},
            original_note=_note_stub(original_id),
        )
    ]


def note_media_scan_run(*, note_id: int, inline: bool = False, with_images: bool = True) -> dict[str, Any]:
    """Scan a note's images (QR codes, explicit content, pHash, and OCR through the text engine) and its copy
    (SimHash), store the findings and report adult/redirect/plagiarism ones to enforcement. Idempotent.

    ``inline`` (the embedded default runs tasks in the publishing request) reads text only in the first
    ``MEADOW_SCAN_INLINE_OCR_IMAGES`` images (default 1, the cover: OCR costs 0.3–1.2 s an image
    on 2 CPUs); on Celery workers every image is read. ``with_images=False`` re-checks only the copy (after a text
    edit: the images did not change)."""
    from meadow.notes.models import Note

    note = Note.objects.select_related("author").filter(pk=note_id).first()
    if note is None or note.status == Note.Status.REMOVED:
        return {"status": "gone"}
    ocr_limit = int(_setting("MEADOW_SCAN_INLINE_OCR_IMAGES", 1)) if inline else None
    account = _account_kind(note.author)
    results: list[tuple[Any, bool]] = []
    timings: list[float] = []
    for index, image in enumerate(note.images.order_by("position") if with_images else ()):
        if not image.detail:
            continue
        started = time.perf_counter()
        try:
            img = _image_open(image)
        except OSError:
            if inline:  # never fail the publishing request; a worker retries instead
                log.warning("media scan: cannot read image %s of note %s", image.pk, note.pk)
                continue
            raise
        img = images.downscale(img, images.SCAN_MAX_SIDE)
        ocr = ocr_limit is None or index < ocr_limit
        results += _scan_image(note=note, image=image, img=img, ocr=ocr, account=account)
        timings.append(time.perf_counter() - started)
    try:
        results += _scan_copy(note=note)
    except Exception:
        log.exception("media scan: text fingerprint failed for note %s", note.pk)
    reported = 0
    for finding, _created in results:
        reported += _report_to_enforcement(finding)
    return {
        "status": "done",
        "findings": sorted({f"{f.category}:{f.source}" for f, _c in results}),
        "new": sum(1 for _f, created in results if created),
        "reported": reported,
        "seconds_per_image": [round(t, 3) for t in timings],
    }
