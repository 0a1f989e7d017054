"""``meadow restore PATH``: restore a ``meadow backup`` archive into the instance that MEADOW_DATA_DIR /
DATABASE_URL point to."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from meadow.core.backup import BackupError, backup_restore, instance_from_settings


class Command(BaseCommand):
    help = (
        "Restore a backup archive (checked against its manifest first) into this instance's database and media "
        "folders. Refuses an instance that has accounts or files unless --force. Stop the web and worker "
        "processes first: it refuses while they run on this host, unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive written by `meadow backup`")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the database and files of a non-empty instance, even while it runs",
        )

    def handle(self, *args, **opts):
        connections.close_all()
        try:
            manifest = backup_restore(
                instance=instance_from_settings(), path=Path(opts["path"]), force=opts["force"]
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest["database"]["row_counts"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {manifest['created_at']}: {rows} rows, "
                f"{len(manifest['files']) - 1} files. Run `meadow migrate` if this Meadow is newer."
            )
        )
