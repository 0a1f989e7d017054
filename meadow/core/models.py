"""Operational bookkeeping of the background work (not business data)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    """The last run of one task by name, written by the worker (``meadow.core.jobs``): every run of a periodic
    task (settings.CELERY_BEAT_SCHEDULE) and every failure of any task. ``meadow status`` and the staff page
    read it; the same table serves both profiles."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCESS = "success", _("Succeeded")
        FAILURE = "failure", _("Failed")

    task = models.CharField(max_length=200, unique=True)
    periodic = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, default="")  # hostname and pid of the last run

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")

    def __str__(self) -> str:
        return self.task


class SpooledTask(models.Model):
    """A task that could not be queued because the broker was down (meadow.core.tasks.enqueue), kept in the
    database until ``spool_resend`` (periodic, and when a worker starts) hands it to the broker; the row is
    deleted once sent. Tasks are idempotent, so a resend that raced another is harmless."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    options = models.JSONField(default=dict)  # apply_async options (countdown, queue, …)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)  # failed sends, the first one included
    last_error = models.TextField(blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("spooled task")
        verbose_name_plural = _("spooled tasks")

    def __str__(self) -> str:
        return self.task


class OutboxEvent(models.Model):
    """A fact an app recorded for the apps above it (``meadow.core.outbox``): written in the transaction that
    made the fact true, read by each registered consumer in id order. Apps below never import their consumers."""

    topic = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")

    def __str__(self) -> str:
        return f"{self.topic}#{self.pk}"


class OutboxCursor(models.Model):
    """How far one consumer has read the outbox: it handled every event of its topics up to ``position``, but
    the ids in ``gaps`` (``{"id": first seen missing, epoch seconds}``): ids below ``position`` that were not
    visible when it was read past them (on PostgreSQL, a transaction still open then may commit them later)."""

    consumer = models.CharField(max_length=100, unique=True)
    position = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("outbox cursor")
        verbose_name_plural = _("outbox cursors")

    def __str__(self) -> str:
        return f"{self.consumer}@{self.position}"
