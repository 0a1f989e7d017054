from celery import shared_task


@shared_task(name="meadow.enforcement.tasks.expire_sanctions")
def expire_sanctions() -> int:
    """Periodic (beat): stamp ended sanctions and reactivate accounts whose suspension ended. Idempotent —
    expiry itself never waits for it (the queries compare end dates)."""
    from meadow.enforcement.services import sanctions_expire

    return sanctions_expire()
