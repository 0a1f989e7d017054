"""``meadow backup PATH``: the database, media and private files of this instance in one archive."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from meadow.core.backup import BackupError, backup_create, instance_from_settings


class Command(BaseCommand):
    help = (
        "Write one archive (.tar.gz) with the database (SQLite online backup or pg_dump), MEDIA_ROOT and "
        "MEADOW_PRIVATE_MEDIA_ROOT, and a manifest of checksums. Safe while the server runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="where to write the archive, e.g. backups/meadow-2026-12-06.tar.gz")

    def handle(self, *args, **opts):
        path = Path(opts["path"])
        try:
            manifest = backup_create(instance=instance_from_settings(), path=path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest["database"]["row_counts"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written to {path}: {manifest['database']['vendor']} database "
                f"({rows} rows), {len(manifest['files']) - 1} files, {path.stat().st_size} bytes."
            )
        )
