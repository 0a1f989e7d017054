"""The Celery application. On the embedded default tasks run inline (CELERY_TASK_ALWAYS_EAGER); with REDIS_URL
set they go through Redis to ``celery -A meadow worker`` processes, and ``celery -A meadow beat`` runs the
periodic ones (settings.CELERY_BEAT_SCHEDULE)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")

app = Celery("meadow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
