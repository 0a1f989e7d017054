"""The work of privacy's background jobs — build, fail and purge data exports; erase the accounts whose grace
period is over — and the notices they send. Below ``tasks`` (which run it) and ``services`` (which queue it and
re-export it), so the two do not import each other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import zipfile
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from meadow.accounts.models import User
from meadow.core.privacy import ExportSection, erasure_steps, export_sections
from meadow.privacy.models import AccountDeletion, DataExport

logger = logging.getLogger("meadow.privacy.services")  # the name the exports' log lines always had

FORMAT_VERSION = 1
STALE_PENDING = timedelta(hours=6)  # a pending export older than this is marked failed (a lost job)


def _notify(*, user: User, code: str, params: dict[str, Any], data: dict[str, Any]) -> None:
    """A system notice (a code of ``meadow.notifications.messages``, written in the reader's language when read)."""
    from meadow.notifications.services import notification_create

    notification_create(recipient=user, kind="system", code=code, params=params, data=data)


# --- "Download my data" ------------------------------------------------------------------------------------
def _sha256_of(handle) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _write_archive(*, user: User, target, now: datetime) -> dict[str, Any]:
    """Write the ZIP into the open binary file ``target``; returns the manifest."""
    listed: list[dict[str, Any]] = []
    sections: list[dict[str, Any]] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, build in export_sections():
            section: ExportSection = build(user)
            path = f"data/{name}.json"
            payload = json.dumps(section.records, ensure_ascii=False, indent=2, default=str).encode()
            archive.writestr(path, payload)
            listed.append({"path": path, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
            media = []
            for item in section.files:
                archived = f"media/{item.path}"
                digest, size = hashlib.sha256(), 0
                try:
                    with (
                        item.storage.open(item.name, "rb") as source,
                        archive.open(archived, "w", force_zip64=True) as sink,
                    ):
                        while chunk := source.read(1024 * 1024):
                            digest.update(chunk)
                            size += len(chunk)
                            sink.write(chunk)
                except (FileNotFoundError, OSError):
                    logger.warning("export of %s: stored file %s is missing", user.pk, item.name)
                    continue
                listed.append({"path": archived, "size": size, "sha256": digest.hexdigest()})
                media.append(archived)
            sections.append({"name": name, "count": section.count, "file": path, "media": media})
        manifest = {
            "format_version": FORMAT_VERSION,
            "exported_at": now.isoformat(),
            "account": {"id": user.pk, "handle": user.handle},
            "sections": sections,
            "files": listed,
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def data_export_build(*, export_id: int) -> str:
    """Build the archive of a pending export (the background job). Idempotent: an export that is no longer
    pending is left as it is; a retry after a crash builds the archive again."""
    export = DataExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None or export.status != DataExport.Status.PENDING:
        return export.status if export is not None else "missing"
    user = export.user
    now = timezone.now()
    with tempfile.TemporaryFile() as target:
        _write_archive(user=user, target=target, now=now)
        target.seek(0)
        digest, size = _sha256_of(target)
        target.seek(0)
        stored = DataExport(pk=export.pk, user=user)
        name = stored.file.field.generate_filename(stored, "export.zip")
        name = stored.file.storage.save(name, File(target), max_length=200)
    expires = now + timedelta(days=settings.MEADOW_EXPORT_TTL_DAYS)
    try:
        with transaction.atomic():
            moved = DataExport.objects.filter(pk=export.pk, status=DataExport.Status.PENDING).update(
                status=DataExport.Status.READY,
                file=name,
                size=size,
                sha256=digest,
                finished_at=now,
                expires_at=expires,
            )
            if moved:
                _notify(
                    user=user,
                    code="privacy.export_ready",
                    params={"date": expires.strftime("%Y-%m-%d")},
                    data={"export": export.pk, "url": reverse("web:privacy_data")},
                )
    except BaseException:
        export.file.storage.delete(name)  # nothing refers to the archive we stored: never leave it behind
        raise
    if not moved:
        # another run finished first (keep its archive), or the export is gone (the account was erased):
        # either way ours is referred to by nothing
        export.file.storage.delete(name)
        current = DataExport.objects.filter(pk=export.pk).values_list("status", flat=True).first()
        return current or "missing"
    return DataExport.Status.READY


def data_export_fail(*, export_id: int) -> None:
    """Mark a pending export failed (the job gave up) so the account may ask again."""
    DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).update(
        status=DataExport.Status.FAILED, finished_at=timezone.now()
    )


def data_exports_purge(*, now: datetime | None = None) -> int:
    """Delete the archives whose link expired (the periodic job); lost pending jobs become failed. Idempotent."""
    now = now or timezone.now()
    purged = 0
    for export in DataExport.objects.filter(status=DataExport.Status.READY, expires_at__lte=now).order_by(
        "id"
    ):
        if export.file.name:
            export.file.storage.delete(export.file.name)
        purged += DataExport.objects.filter(pk=export.pk, status=DataExport.Status.READY).update(
            status=DataExport.Status.EXPIRED, file=""
        )
    DataExport.objects.filter(status=DataExport.Status.PENDING, created_at__lte=now - STALE_PENDING).update(
        status=DataExport.Status.FAILED, finished_at=now
    )
    return purged


# --- "Delete my account" -------------------------------------------------------------------------------------
def account_erase(*, user: User) -> dict[str, int]:
    """Erase or anonymise everything of ``user`` with every registered step, in one transaction (a failure
    leaves nothing half-done; the next run tries again). Idempotent."""
    done: dict[str, int] = {}
    with transaction.atomic():
        for name, erase in erasure_steps():
            fresh = User.objects.get(pk=user.pk)
            done[name] = erase(fresh)
    return done


def account_deletions_run_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Erase the accounts whose grace period is over (the periodic job). Idempotent: a completed request is
    never run again, and erasing an erased account changes nothing."""
    now = now or timezone.now()
    due = list(
        AccountDeletion.objects.filter(status=AccountDeletion.Status.SCHEDULED, scheduled_for__lte=now)
        .select_related("user")
        .order_by("scheduled_for", "id")[:limit]
    )
    erased = 0
    for deletion in due:
        with transaction.atomic():
            # Claim it with a conditional UPDATE (a login may cancel it at the same moment); an error while
            # erasing rolls the claim back too, so the next run tries again.
            claimed = AccountDeletion.objects.filter(
                pk=deletion.pk, status=AccountDeletion.Status.SCHEDULED, scheduled_for__lte=now
            ).update(status=AccountDeletion.Status.COMPLETED, completed_at=timezone.now())
            if not claimed:
                continue
            account_erase(user=deletion.user)
            erased += 1
    return erased


def erase_exports(user: User) -> int:
    """The privacy app's own erasure step: the account's archives."""
    changed = 0
    for export in DataExport.objects.filter(user=user).exclude(file=""):
        export.file.storage.delete(export.file.name)
        changed += 1
    changed += DataExport.objects.filter(user=user).delete()[0]
    return changed
