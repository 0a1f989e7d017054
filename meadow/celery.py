"""The Celery application. Tasks go through a broker to ``celery -A meadow worker`` processes and
``celery -A meadow beat`` sends the periodic ones (settings.CELERY_BEAT_SCHEDULE) — on both profiles (the
Procfile). The broker is Redis at scale and a SQLite file under ``MEADOW_DATA_DIR`` on the embedded default;
``MEADOW_TASKS_EAGER=true`` runs tasks inline instead."""

import os
import sqlite3
from pathlib import Path

from celery import Celery, signals

from meadow.core.broker import register as register_ack_broker

register_ack_broker()  # the "sqlack+" broker URLs of the embedded default
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")

app = Celery("meadow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def prepare_sqlite_broker(url: str) -> None:
    """Put the SQLite broker file in WAL mode (persistent in the file) so the web process can queue a task
    while a worker polls; the busy timeout is set per connection (CELERY_BROKER_TRANSPORT_OPTIONS)."""
    if not url.startswith(("sqla+sqlite:///", "sqlack+sqlite:///")):
        return
    path = Path(url.split("+sqlite:///", 1)[1])
    if not path.name or str(path) == ":memory:":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as db:
        db.execute("PRAGMA journal_mode=WAL")
    db.close()


@app.on_after_configure.connect
def _on_configure(sender: Celery, **kwargs: object) -> None:
    prepare_sqlite_broker(str(sender.conf.broker_url or ""))


@signals.worker_init.connect(weak=False)
def _worker_holds_the_instance(**kwargs):
    """A worker is part of the running instance: `meadow restore` refuses while it runs."""
    from meadow.core.running import instance_lock_hold

    instance_lock_hold(role="worker")


@signals.beat_init.connect(weak=False)
def _beat_holds_the_instance(**kwargs):
    from meadow.core.running import instance_lock_hold

    instance_lock_hold(role="beat")


# Structured logs (meadow.core.logs): a task queued during a request carries its request id in a message header,
# and the worker binds it for the task's log lines. Imported lazily: this module loads before Django is set up.
@signals.setup_logging.connect(weak=False)
def _log_setup(**kwargs):
    """Workers and beat log through settings.LOGGING (MEADOW_LOG_FORMAT, MEADOW_LOG_LEVEL), not Celery's own."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.before_task_publish.connect(weak=False)
def _log_before_publish(**kwargs):
    from meadow.core import logs, metrics

    logs.on_before_task_publish(**kwargs)
    metrics.on_before_task_publish(**kwargs)


@signals.task_prerun.connect(weak=False)
def _log_task_prerun(**kwargs):
    from meadow.core import logs, metrics

    logs.on_task_prerun(**kwargs)
    metrics.on_task_prerun(**kwargs)


@signals.task_postrun.connect(weak=False)
def _log_task_postrun(**kwargs):
    from meadow.core.logs import on_task_postrun

    on_task_postrun(**kwargs)


@signals.worker_ready.connect(weak=False)
def _resend_spool_at_start(sender=None, **kwargs):
    """A worker that starts (the broker reachable) queues the re-send of tasks spooled during a broker outage
    (meadow.core.spool), without waiting for beat's next ``core-spool-resend``."""
    import logging

    try:
        app.send_task("meadow.core.tasks.spool_resend")
    except Exception as exc:  # the worker must start whatever this finds
        logging.getLogger("meadow.spool").warning(
            "could not queue the spool re-send at worker start: %s", exc
        )
