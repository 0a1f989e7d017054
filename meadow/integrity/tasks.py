from celery import shared_task


@shared_task(name="meadow.integrity.tasks.integrity_scan")
def integrity_scan() -> dict[str, int]:
    """Periodic (beat): run the fake-engagement detectors and hold the suspected accounts' signals. Idempotent."""
    from meadow.integrity.services import scan

    return scan()
