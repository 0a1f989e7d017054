"""The Celery application. On the embedded default tasks run inline (CELERY_TASK_ALWAYS_EAGER); with REDIS_URL
set they go through Redis to ``celery -A meadow worker`` processes, and ``celery -A meadow beat`` runs the
periodic ones (settings.CELERY_BEAT_SCHEDULE)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")

app = Celery("meadow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
