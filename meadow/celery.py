"""The Celery application. Tasks go through a broker to ``celery -A meadow worker`` processes and
``celery -A meadow beat`` sends the periodic ones (settings.CELERY_BEAT_SCHEDULE) — on both profiles (the
Procfile). The broker is Redis at scale and a SQLite file under ``MEADOW_DATA_DIR`` on the embedded default;
``MEADOW_TASKS_EAGER=true`` runs tasks inline instead."""

import os
import sqlite3
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")

app = Celery("meadow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def prepare_sqlite_broker(url: str) -> None:
    """Put the SQLite broker file in WAL mode (persistent in the file) so the web process can queue a task
    while a worker polls; the busy timeout is set per connection (CELERY_BROKER_TRANSPORT_OPTIONS)."""
    if not url.startswith("sqla+sqlite:///"):
        return
    path = Path(url.removeprefix("sqla+sqlite:///"))
    if not path.name or str(path) == ":memory:":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as db:
        db.execute("PRAGMA journal_mode=WAL")
    db.close()


@app.on_after_configure.connect
def _on_configure(sender: Celery, **kwargs: object) -> None:
    prepare_sqlite_broker(str(sender.conf.broker_url or ""))
