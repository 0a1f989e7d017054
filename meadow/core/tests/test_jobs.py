"""Job bookkeeping and `meadow status`: a worker's runs of periodic tasks (their last run, duration, outcome)
and any task's failure are recorded; inline runs are not. Tasks are run through Celery's own tracer — the code
path a worker runs each message with — so the real task signals fire as on a worker."""

from __future__ import annotations

import json
import uuid
from io import StringIO

import pytest
from celery.app.trace import build_tracer
from django.core.management import call_command

from meadow.celery import app
from meadow.core.models import JobRun
from meadow.core.tasks import ping
from meadow.orders import tasks as order_tasks
from meadow.search import tasks as search_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def run_as_worker(task, **kwargs):
    """Run ``task`` the way a worker does (not eagerly): prerun, the task, failure/postrun signals."""
    tracer = build_tracer(task.name, task, app=app, eager=False, propagate=False)
    task_id = uuid.uuid4().hex
    return tracer(task_id, (), kwargs, {"id": task_id, "delivery_info": {}})


def test_a_periodic_jobs_run_is_recorded_with_its_outcome_and_duration():
    run_as_worker(order_tasks.orders_expire_unpaid)
    run_as_worker(order_tasks.orders_expire_unpaid)
    row = JobRun.objects.get(task="meadow.orders.tasks.orders_expire_unpaid")
    assert row.periodic and row.runs == 2 and row.failures == 0
    assert row.outcome == JobRun.Outcome.SUCCESS and row.last_error == ""
    assert row.started_at <= row.finished_at and row.duration_ms is not None and row.worker


def test_a_failure_is_recorded_with_its_error_and_a_later_success_keeps_it(monkeypatch):
    def broken():
        raise RuntimeError("the search index is gone")

    monkeypatch.setattr("meadow.search.services.search_rank_refresh", broken)
    run_as_worker(search_tasks.search_rank_refresh)
    row = JobRun.objects.get(task="meadow.search.tasks.search_rank_refresh")
    assert row.outcome == JobRun.Outcome.FAILURE and row.failures == 1
    assert row.last_error == "RuntimeError: the search index is gone" and row.last_error_at is not None
    monkeypatch.undo()
    run_as_worker(search_tasks.search_rank_refresh)
    row.refresh_from_db()
    assert row.outcome == JobRun.Outcome.SUCCESS and row.runs == 2 and row.failures == 1
    assert "the search index is gone" in row.last_error  # the last error stays visible


def test_other_tasks_are_recorded_only_when_they_fail(monkeypatch):
    run_as_worker(ping, token="x")
    assert not JobRun.objects.filter(task=ping.name).exists()

    def broken(**kwargs):
        raise ValueError("no such note")

    monkeypatch.setattr("meadow.distribution.services.pool_enter", broken)
    from meadow.distribution.tasks import pool_enter

    run_as_worker(pool_enter, note_id=1)
    row = JobRun.objects.get(task=pool_enter.name)
    assert not row.periodic and row.outcome == JobRun.Outcome.FAILURE and "no such note" in row.last_error


def test_inline_runs_are_not_recorded():
    order_tasks.orders_expire_unpaid.apply()
    assert not JobRun.objects.exists()


def test_meadow_status_shows_every_periodic_job_its_last_run_and_the_last_error(monkeypatch, settings):
    run_as_worker(order_tasks.orders_expire_unpaid)
    monkeypatch.setattr("meadow.search.services.search_rank_refresh", lambda: 1 / 0)
    run_as_worker(search_tasks.search_rank_refresh)
    out = StringIO()
    call_command("status", "--json", stdout=out)
    status = json.loads(out.getvalue())
    jobs = {job["name"]: job for job in status["jobs"]}
    assert set(jobs) == set(settings.CELERY_BEAT_SCHEDULE)
    assert jobs["orders-expire-unpaid"]["runs"] == 1 and jobs["orders-expire-unpaid"]["outcome"] == "success"
    assert jobs["search-refresh-ranks"]["outcome"] == "failure"
    assert (
        jobs["distribution-cf-retrain"]["runs"] == 0 and jobs["distribution-cf-retrain"]["last_run"] is None
    )
    assert status["last_error"]["task"] == "meadow.search.tasks.search_rank_refresh"
    assert "ZeroDivisionError" in status["last_error"]["error"]
    assert status["processes"]["workers"]  # this test process ran them "as a worker"
    text = StringIO()
    call_command("status", stdout=text)
    printed = text.getvalue()
    assert "orders-expire-unpaid" in printed and "distribution-cf-retrain" in printed
    assert "Last error: meadow.search.tasks.search_rank_refresh" in printed and "ZeroDivisionError" in printed


def test_queue_depth_is_asked_of_the_sqlite_broker(settings, tmp_path, monkeypatch):
    from meadow.core.jobs import queue_depth

    url = f"sqlack+sqlite:///{tmp_path / 'broker.sqlite3'}"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = url
    # The options the embedded default configures for its SQLite broker (on the scale profile the app carries
    # Redis's socket options, which SQLAlchemy's create_engine refuses).
    monkeypatch.setitem(app.conf, "broker_transport_options", {"connect_args": {"timeout": 30}})
    with app.connection_for_write(url) as conn:
        producer = conn.Producer()
        for _ in range(3):
            producer.publish({"x": 1}, routing_key="celery", declare=[], exchange="")
    assert queue_depth() == {"queue": "celery", "depth": 3, "error": ""}
