"""``meadow reindex``: rebuild the search index of notes in batches, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from meadow.notes.models import Note


class Command(BaseCommand):
    help = "Rebuild the full-text search index of notes (SQLite FTS5 or PostgreSQL GIN) in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Notes per transaction (default 500)."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar (for logs and tests)."
        )

    def handle(self, *args, batch_size: int = 500, no_progress: bool = False, **options):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from meadow.search.services import search_reindex

        total = Note.objects.filter(status=Note.Status.PUBLISHED).count()
        if no_progress:
            done = search_reindex(batch_size=max(1, batch_size))
        else:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            ) as progress:
                task = progress.add_task("Indexing notes", total=total)
                done = search_reindex(
                    batch_size=max(1, batch_size), progress=lambda n: progress.advance(task, n)
                )
        self.stdout.write(f"Indexed {done} notes.")
