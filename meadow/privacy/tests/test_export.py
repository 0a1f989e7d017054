"""'Download my data': the job packs every section into a ZIP whose manifest checksums match its files, in
private storage, announced by a translated notice; the link is the owner's only and expires."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation

from meadow.notifications.models import Notification
from meadow.notifications.text import notification_summary
from meadow.privacy import jobs, services
from meadow.privacy.models import DataExport
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _request(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/me/export", content_type="application/json")
    return response


def _download(client, export_id):
    response = client.get(f"/api/v1/me/exports/{export_id}/download")
    return response, b"".join(response.streaming_content) if response.status_code == 200 else b""


def test_export_zip_has_every_section_and_its_manifest_checksums_match(
    world, api_for, django_capture_on_commit_callbacks
):
    client = api_for(world.owner)
    response = _request(client, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    created = response.json()
    assert set(created) == {"id", "status"}

    export = DataExport.objects.get(pk=created["id"])
    assert export.status == DataExport.Status.READY
    # private storage, never under the public media root
    stored = Path(export.file.path).resolve()
    assert str(stored).startswith(str(Path(settings.MEADOW_PRIVATE_MEDIA_ROOT).resolve()))
    assert not str(stored).startswith(str(Path(settings.MEDIA_ROOT).resolve()))

    listed = client.get("/api/v1/me/exports").json()
    assert listed["items"][0]["id"] == export.pk and listed["items"][0]["status"] == "ready"
    download, data = _download(client, export.pk)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "private, no-store"
    assert hashlib.sha256(data).hexdigest() == listed["items"][0]["sha256"]

    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format_version"] == 1 and manifest["exported_at"]
    names = {s["name"]: s for s in manifest["sections"]}
    assert {"profile", "notes", "comments", "likes", "saves", "boards", "follows", "orders"} <= set(names)
    assert names["notes"]["count"] == 2 and len(names["notes"]["media"]) == 3  # three images, as stored
    assert names["comments"]["count"] == 1 and names["likes"]["count"] == 1
    assert names["saves"]["count"] == 2 and names["orders"]["count"] == 1
    follows = json.loads(archive.read("data/follows.json"))
    assert {f["direction"] for f in follows} == {"following", "follower"}
    in_zip = set(archive.namelist()) - {"manifest.json"}
    assert {f["path"] for f in manifest["files"]} == in_zip
    for entry in manifest["files"]:
        content = archive.read(entry["path"])
        assert hashlib.sha256(content).hexdigest() == entry["sha256"] and len(content) == entry["size"]
    profile = json.loads(archive.read("data/profile.json"))
    assert profile["handle"] == "siti_bakes" and profile["email"] == world.owner.email
    notes = json.loads(archive.read("data/notes.json"))
    assert {n["title"] for n in notes} == {"Kuih lapis pelangi", "Onde onde"}
    # the images in the archive are the stored files themselves
    first = world.own_notes[0].images.order_by("position").first()
    assert archive.read(notes[0]["media"][0]) == Path(first.detail.path).read_bytes()

    notice = Notification.objects.get(recipient=world.owner, kind="system", data__export=export.pk)
    assert "ready" in notification_summary(notice)


def test_ready_notice_is_in_the_owner_language(world, api_for, django_capture_on_commit_callbacks):
    type(world.owner).objects.filter(pk=world.owner.pk).update(language="ms")
    _request(api_for(world.owner), django_capture_on_commit_callbacks)
    notice = Notification.objects.filter(recipient=world.owner, data__has_key="export").get()
    with translation.override("ms"):  # written in the reader's language when read
        assert "sedia" in notification_summary(notice)  # Malay


def test_one_export_at_a_time_and_a_few_a_day(user, api_for):
    client = api_for(user)
    first = client.post("/api/v1/me/export")  # no on-commit run: it stays pending
    assert first.status_code == 202 and first.json()["status"] == "pending"
    second = client.post("/api/v1/me/export")
    assert second.status_code == 409 and second.json()["error"]["code"] == "export_in_progress"
    assert DataExport.objects.filter(user=user).count() == 1
    DataExport.objects.filter(user=user).update(status="ready")
    DataExport.objects.bulk_create([DataExport(user=user, status="ready") for _ in range(2)])
    third = client.post("/api/v1/me/export")
    assert third.status_code == 429 and third.json()["error"]["message"]
    assert DataExport.objects.filter(user=user).count() == 3


def test_build_is_idempotent(world, django_capture_on_commit_callbacks):
    export = DataExport.objects.create(user=world.owner)
    assert services.data_export_build(export_id=export.pk) == "ready"
    export.refresh_from_db()
    name, digest = export.file.name, export.sha256
    assert services.data_export_build(export_id=export.pk) == "ready"  # a retry changes nothing
    export.refresh_from_db()
    assert (export.file.name, export.sha256) == (name, digest)
    assert Notification.objects.filter(recipient=world.owner, data__export=export.pk).count() == 1
    assert services.data_export_build(export_id=10**9) == "missing"


def test_link_expires_and_the_periodic_job_deletes_the_file(
    world, api_for, django_capture_on_commit_callbacks
):
    client = api_for(world.owner)
    export_id = _request(client, django_capture_on_commit_callbacks).json()["id"]
    export = DataExport.objects.get(pk=export_id)
    path = Path(export.file.path)
    assert path.exists()
    assert export.expires_at - timezone.now() > timedelta(days=settings.MEADOW_EXPORT_TTL_DAYS) - timedelta(
        minutes=1
    )

    DataExport.objects.filter(pk=export_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone, _ = _download(client, export_id)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "export_expired"
    listed = client.get("/api/v1/me/exports").json()["items"][0]
    assert listed["download"] is None and listed["status"] == "expired"  # before the purge has run, too
    assert client.get(f"/api/v1/me/exports/{export_id}").json()["status"] == "expired"
    client.force_login(world.owner)
    page = client.get("/settings/data/").content.decode()
    assert 'data-testid="download-export"' not in page and "privacy-status-expired" in page

    assert services.data_exports_purge() == 1
    assert not path.exists()
    assert DataExport.objects.get(pk=export_id).status == "expired"
    assert services.data_exports_purge() == 0  # idempotent


def test_beat_schedule_runs_the_purge_and_the_erasure():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "meadow.privacy.tasks.data_exports_purge" in tasks
    assert "meadow.privacy.tasks.account_deletions_run_due" in tasks


# --- authorization matrix --------------------------------------------------------------------------------------
@pytest.fixture
def ready_export(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = services.data_export_request(user=world.owner)
    export.refresh_from_db()
    assert export.status == "ready"
    return export


@pytest.mark.parametrize("who", ["anonymous", "other", "staff", "owner"])
def test_export_endpoints_authorization_matrix(who, world, ready_export, anon, api_for):
    client = {
        "anonymous": anon,
        "other": api_for(UserFactory()) if who == "other" else None,
        "staff": api_for(UserFactory(is_staff=True, is_superuser=True)) if who == "staff" else None,
        "owner": api_for(world.owner),
    }[who]
    before = list(DataExport.objects.values_list("id", "status", "file", "sha256"))
    detail = client.get(f"/api/v1/me/exports/{ready_export.pk}")
    download, data = _download(client, ready_export.pk)
    listed = client.get("/api/v1/me/exports")
    if who == "anonymous":
        assert detail.status_code == download.status_code == listed.status_code == 401
        assert client.post("/api/v1/me/export").status_code == 401
    elif who == "owner":
        assert detail.status_code == 200 and download.status_code == 200 and data[:2] == b"PK"
    else:
        assert detail.status_code == download.status_code == 404
        assert download.json()["error"]["code"] == "not_found"
        assert listed.json()["items"] == []
    assert list(DataExport.objects.values_list("id", "status", "file", "sha256")) == before


def test_a_failing_build_is_marked_failed_and_the_account_may_ask_again(
    user, api_for, monkeypatch, private_media, django_capture_on_commit_callbacks
):
    from meadow.core import privacy as registry

    def broken(_user):
        raise OSError("disk full")

    monkeypatch.setitem(registry._sections, "broken", broken)
    client = api_for(user)
    response = _request(client, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert DataExport.objects.get(pk=response.json()["id"]).status == "failed"
    monkeypatch.delitem(registry._sections, "broken")
    again = _request(client, django_capture_on_commit_callbacks)
    assert again.status_code == 202 and DataExport.objects.get(pk=again.json()["id"]).status == "ready"


def _stored_archives() -> list[Path]:
    return list((Path(settings.MEADOW_PRIVATE_MEDIA_ROOT) / "exports").rglob("*.zip"))


def test_an_archive_whose_export_vanished_or_failed_to_record_is_not_left_behind(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    """The breaker found a ZIP of an erased account left in private storage: the export row was deleted while
    the archive was being written, and the build then failed looking the row up again."""
    write_archive = jobs._write_archive

    export = DataExport.objects.create(user=world.owner)

    def erased_meanwhile(**kwargs):
        write_archive(**kwargs)
        DataExport.objects.filter(pk=export.pk).delete()  # the account's erasure ran meanwhile

    monkeypatch.setattr(jobs, "_write_archive", erased_meanwhile)
    assert services.data_export_build(export_id=export.pk) == "missing"
    assert _stored_archives() == []

    monkeypatch.setattr(jobs, "_write_archive", write_archive)

    def notice_fails(**kwargs):
        raise RuntimeError("database is locked")

    second = DataExport.objects.create(user=world.owner)
    monkeypatch.setattr(jobs, "_notify", notice_fails)
    with pytest.raises(RuntimeError):
        services.data_export_build(export_id=second.pk)
    assert _stored_archives() == []
    assert DataExport.objects.get(pk=second.pk).status == "pending"  # the retry builds it again
