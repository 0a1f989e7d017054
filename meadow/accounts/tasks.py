from celery import shared_task


@shared_task(name="meadow.accounts.tasks.purge_expired_codes")
def purge_expired_codes() -> int:
    """Periodic (beat): delete one-time codes that expired more than a day ago. Idempotent."""
    from meadow.accounts.services import phone_codes_purge

    return phone_codes_purge()
