"""Backing services down: the database unreachable answers 503 fast (API, pages, middleware errors), the Redis
cache down is a miss (rate limits fail open), a full media disk is a clear 503 that keeps no file and no row,
and a broker outage after commit does not fail the request."""

from __future__ import annotations

import errno
import logging
import os

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from meadow.core import outage
from meadow.core.cache import CacheUnavailable, RedisCache
from meadow.core.errors import StorageFull
from meadow.core.storage import MediaStorage

# Nothing listens on port 1: every connection is refused at once (a Redis that is down).
DOWN = "redis://127.0.0.1:1/0"


def _down_cache() -> RedisCache:
    return RedisCache(DOWN, {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}})


# --- database unavailable ---------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_api_answers_503_when_the_database_is_unreachable(api_for, user, monkeypatch, error):
    client = api_for(user)

    def down(*args, **kwargs):
        raise error("connection to server at 127.0.0.1 failed: Connection refused")

    import meadow.urls  # noqa: F401  (the API's modules import each other through meadow.api)

    monkeypatch.setattr("meadow.accounts.api.me_out", down)
    r = client.get("/api/v1/me")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "service_unavailable"
    assert r["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)


@pytest.mark.django_db
def test_a_page_answers_a_503_page_when_the_database_is_unreachable(client, monkeypatch):
    from meadow.distribution import selectors as feeds

    def down(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(feeds, "feed_discover", down)
    r = client.get("/")
    assert r.status_code == 503
    assert r["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert b"Briefly unavailable" in r.content and b"Traceback" not in r.content


def test_handler500_turns_a_middleware_database_error_into_503_and_leaves_other_errors_500(
    rf: RequestFactory,
):
    request = rf.get("/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        assert outage.server_error(request).status_code == 503
    api_request = rf.get("/api/v1/me")
    try:
        raise InterfaceError("connection already closed")
    except InterfaceError:
        response = outage.server_error(api_request)
        assert response.status_code == 503 and b"service_unavailable" in response.content
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        assert outage.server_error(request).status_code == 500


# --- Redis cache unavailable ------------------------------------------------------------------------------------
def test_a_cache_that_is_down_is_a_miss_and_drops_writes(caplog):
    cache = _down_cache()
    with caplog.at_level(logging.WARNING, logger="meadow.cache"):
        assert cache.get("k", "fallback") == "fallback"
        assert cache.get_many(["a", "b"]) == {}
        assert cache.has_key("k") is False
        cache.set("k", 1)
        assert cache.add("k", 1) is False
        assert cache.delete("k") is False
        cache.delete_many(["a"])
        assert cache.get_or_set("k", 5) == 5  # computed, not stored
        with pytest.raises(CacheUnavailable):
            cache.incr("k")


def test_rate_limits_fail_open_while_the_cache_is_down(monkeypatch, settings):
    from meadow.core import ratelimit

    settings.MEADOW_RATE_LIMITS = "on"
    monkeypatch.setattr(ratelimit, "cache", _down_cache())
    for _ in range(ratelimit.RATES["code:phone:burst"].limit + 3):
        ratelimit.rate_limit_hit(scope="code:phone:burst", key="+60123456789")  # never RateLimited


# --- broker unavailable ------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_after_commit_spools_the_task_instead_of_raising(monkeypatch, settings):
    from kombu.exceptions import OperationalError as BrokerDown

    from meadow.core import tasks
    from meadow.core.models import SpooledTask
    from meadow.core.tasks import enqueue, ping

    settings.CELERY_TASK_ALWAYS_EAGER = False

    def refuse(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(ping, "apply_async", refuse)
    monkeypatch.setattr(tasks, "_broker_down_until", 0.0)
    from django.db import transaction

    with transaction.atomic():
        enqueue(ping, token="t-1")
    [row] = SpooledTask.objects.all()
    assert (row.task, row.args, row.kwargs, row.options) == (
        "meadow.core.tasks.ping",
        [],
        {"token": "t-1"},
        {},
    )
    assert row.attempts == 1 and "Connection refused" in row.last_error and row.last_attempt_at


# --- media disk full ---------------------------------------------------------------------------------------------
class _FullAfter(ContentFile):
    """Content whose second chunk meets a full disk, as a write on a full file system would."""

    def chunks(self, chunk_size=None):
        yield b"x" * 1000
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_no_partial_file_and_says_so(tmp_path):
    storage = MediaStorage(location=str(tmp_path))
    with pytest.raises(StorageFull) as caught:
        storage.save("notes/a.webp", _FullAfter(b"", name="a.webp"))
    assert caught.value.status == 503 and caught.value.code == "storage_full"
    assert [f for _, _, files in os.walk(tmp_path) for f in files] == []
    # other errors are not disguised
    with pytest.raises(FileNotFoundError):
        storage.open("missing.webp")


@pytest.mark.django_db
def test_publishing_on_a_full_disk_is_a_clear_503_with_no_rows_or_files(
    api_for, user, monkeypatch, private_media
):
    from meadow.notes.models import Note, NoteImage
    from meadow.notes.tests.factories import jpeg

    real_save = FileSystemStorage._save
    calls = {"n": 0}

    def fill_up(self, name, content):
        calls["n"] += 1
        if calls["n"] < 3:
            return real_save(self, name, content)
        with open(self.path(name), "wb") as fh:  # the disk fills in the middle of the third file
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", fill_up)
    r = api_for(user).post(
        "/api/v1/notes", {"title": "t", "body": "b", "images": [jpeg("a.jpg"), jpeg("b.jpg")]}
    )
    assert r.status_code == 503, r.content
    assert r.json()["error"]["code"] == "storage_full"
    assert "try again later" in r.json()["error"]["message"]
    assert calls["n"] == 3
    assert not Note.objects.exists() and not NoteImage.objects.exists()
    assert [f for _, _, files in os.walk(private_media / "media") for f in files] == []


@pytest.mark.django_db
def test_the_publish_form_shows_the_full_disk_as_a_form_error(client, user, monkeypatch, private_media):
    from meadow.notes.models import Note
    from meadow.notes.tests.factories import jpeg

    def full(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", full)
    client.force_login(user)
    r = client.post("/publish/", {"title": "Nasi lemak", "body": "Sedap!", "images": [jpeg("a.jpg")]})
    page = r.content.decode()
    assert r.status_code >= 400 and "error-box" in page
    assert "no room for this file" in page and "Nasi lemak" in page  # the typed text is kept
    assert not Note.objects.exists()
