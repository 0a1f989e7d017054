"""Background work for privacy rights: build an export, purge expired ones, erase accounts whose grace period
is over. Each task is idempotent and safe to retry."""

from __future__ import annotations

import logging

from celery import shared_task

from meadow.privacy import jobs  # the work; services (which queue these tasks) sit above

logger = logging.getLogger(__name__)


@shared_task(name="meadow.privacy.tasks.data_export_build", bind=True, max_retries=2, default_retry_delay=60)
def data_export_build(self, export_id: int) -> str:
    """Pack the account's data into a ZIP in private storage and tell the owner (queued by the request)."""
    try:
        return jobs.data_export_build(export_id=export_id)
    except Exception as exc:
        if not self.request.is_eager and self.request.retries < self.max_retries:
            raise self.retry(exc=exc) from exc
        # Given up: the export is marked failed (the page says so) and the account may ask again. Inline (the
        # embedded default) this must not turn the request that queued it into an error page.
        logger.exception("data export %s failed", export_id)
        jobs.data_export_fail(export_id=export_id)
        return "failed"


@shared_task(name="meadow.privacy.tasks.data_exports_purge")
def data_exports_purge() -> int:
    """Beat (hourly): delete the archives whose download link expired (``MEADOW_EXPORT_TTL_DAYS``)."""
    return jobs.data_exports_purge()


@shared_task(name="meadow.privacy.tasks.account_deletions_run_due")
def account_deletions_run_due() -> int:
    """Beat (hourly): erase the accounts whose deletion grace period (``MEADOW_DELETION_GRACE_DAYS``) is over."""
    return jobs.account_deletions_run_due()
