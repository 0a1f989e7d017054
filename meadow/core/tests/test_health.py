"""/healthz and /readyz: unauthenticated, cheap, never rate-limited; /readyz names the dependency that failed
(503, the one error shape). And the staff page of the background work: staff only, read-only, translated."""

from __future__ import annotations

import logging

import pytest

from meadow.core.health import ProbeAccessFilter
from meadow.core.models import JobRun
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert "no-cache" in r["Cache-Control"] or "max-age=0" in r["Cache-Control"]
    assert client.post("/healthz").status_code == 405


def test_readyz_checks_the_database_the_cache_and_the_broker(client, settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"sqlack+sqlite:///{tmp_path / 'broker.sqlite3'}"
    r = client.get("/readyz")
    assert r.status_code == 200, r.content
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def test_readyz_names_the_broker_when_it_is_down_in_the_callers_language(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "unavailable"}
    assert body["error"]["code"] == "not_ready" and body["error"]["field"] == "broker"
    assert "broker" in body["error"]["message"]
    zh = client.get("/readyz", headers={"accept-language": "zh-hans"}).json()["error"]["message"]
    ms = client.get("/readyz", headers={"accept-language": "ms"}).json()["error"]["message"]
    assert zh != body["error"]["message"] and ms != body["error"]["message"] and "broker" in zh


def test_readyz_names_the_database_when_it_fails(client, monkeypatch):
    from meadow.core import health

    def down():
        raise OSError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", down)
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["error"]["field"] == "database"
    assert r.json()["checks"]["database"] == "unavailable"


def test_probes_are_never_rate_limited_and_need_no_login(client):
    for _ in range(60):
        assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_successful_probes_stay_out_of_the_access_log():
    keep = ProbeAccessFilter().filter

    def line(path: str, status: int) -> logging.LogRecord:
        args = ("127.0.0.1:5000", "GET", path, "1.1", status)
        return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)

    assert not keep(line("/healthz", 200)) and not keep(line("/readyz", 200))
    assert keep(line("/readyz", 503)) and keep(line("/", 200)) and keep(line("/healthz-not", 200))


# --- the staff page (admin → Background jobs) ------------------------------------------------------------------
PAGE = "/admin/core/jobrun/"


@pytest.fixture
def job():
    return JobRun.objects.create(
        task="meadow.orders.tasks.orders_expire_unpaid",
        periodic=True,
        runs=3,
        outcome="success",
        worker="h:1",
    )


@pytest.mark.parametrize("who", ["anonymous", "user"])
def test_the_status_page_is_for_staff_only(client, job, who):
    if who == "user":
        client.force_login(UserFactory())
    r = client.get(PAGE)
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
    assert client.post(f"/admin/core/jobrun/{job.pk}/delete/", {"post": "yes"}).status_code == 302
    assert JobRun.objects.filter(pk=job.pk, runs=3).exists()


def test_staff_see_the_status_and_can_change_nothing(client, job):
    client.force_login(UserFactory(is_staff=True))
    r = client.get(PAGE)
    assert r.status_code == 200
    page = r.content.decode()
    assert 'data-testid="system-status"' in page and "orders-expire-unpaid" in page
    assert "distribution-cf-retrain" in page  # every periodic job, run or not
    assert client.get("/admin/").content.decode().count(PAGE) >= 1  # reachable from the console's index
    assert client.post(f"/admin/core/jobrun/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/core/jobrun/add/", {"task": "x"}).status_code == 403
    assert JobRun.objects.filter(pk=job.pk, runs=3).exists() and JobRun.objects.count() == 1


@pytest.mark.parametrize(
    "language, title", [("zh-hans", "后台任务"), ("ms", "Kerja latar"), ("en", "Background jobs")]
)
def test_the_status_page_is_translated(client, job, language, title):
    client.force_login(UserFactory(is_staff=True))
    page = client.get(PAGE, headers={"accept-language": language}).content.decode()
    assert title in page
