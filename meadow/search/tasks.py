"""Background work for search, queued with ``meadow.core.tasks.enqueue`` (after commit). Idempotent."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="meadow.search.tasks.search_index_note")
def search_index_note(note_id: int) -> bool:
    from meadow.search import services

    return services.search_index_note(note_id=note_id)


@shared_task(name="meadow.search.tasks.search_remove_note")
def search_remove_note(note_id: int) -> None:
    from meadow.search import services

    services.search_remove_note(note_id=note_id)


@shared_task(name="meadow.search.tasks.search_rank_refresh")
def search_rank_refresh() -> int:
    from meadow.search import services

    return services.search_rank_refresh()


@shared_task(name="meadow.search.tasks.search_log_purge")
def search_log_purge() -> int:
    from meadow.search import services

    return services.search_log_purge()
