"""Backups of a whole instance in one archive, and their restore (``meadow backup`` / ``meadow restore``).

An archive is a gzip-compressed tar file holding

* ``database.sqlite3`` (the embedded default, copied with SQLite's online backup API, so a running server may
  keep writing) or ``database.pgdump`` (PostgreSQL, ``pg_dump -Fc`` inside the same snapshot the row counts are
  read in);
* ``media/…`` (``MEDIA_ROOT``) and ``private/…`` (``MEADOW_PRIVATE_MEDIA_ROOT``);
* ``manifest.json``: format and version, the database's vendor, applied migrations and row count per table, and
  the size and SHA-256 of every other member.

Restoring extracts into a staging folder and checks everything (format version, checksums, no stray or missing
member, migrations this code knows, the same database vendor) before anything of the target is touched; a
target that already has accounts or uploaded files is only replaced with ``force``. Database first (SQLite:
backup API into the target file, one transaction; PostgreSQL: ``pg_restore --single-transaction`` into an emptied
``public`` schema), then each media folder is swapped in by renaming. Finally the row counts are compared with the
manifest's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from meadow.core.running import instance_exclusive

FORMAT = "meadow-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FOLDERS = ("media", "private")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message (translated) says why. Nothing was overwritten
    unless the message says otherwise."""


@dataclass
class Instance:
    """Where an instance keeps its state: the Django database entry and the two media folders."""

    database: dict[str, Any]
    media_root: Path
    private_root: Path
    # Where the running processes hold their lock (meadow.core.running); None: not checked.
    data_dir: Path | None = None
    folders: dict[str, Path] = field(init=False)

    def __post_init__(self) -> None:
        self.media_root = Path(self.media_root)
        self.private_root = Path(self.private_root)
        self.folders = {"media": self.media_root, "private": self.private_root}

    @property
    def vendor(self) -> str:
        engine = self.database["ENGINE"]
        if engine.endswith("sqlite3"):
            return "sqlite"
        if engine.endswith("postgresql"):
            return "postgresql"
        raise BackupError(_("Unsupported database engine: %(engine)s.") % {"engine": engine})


def instance_from_settings() -> Instance:
    from django.conf import settings

    return Instance(
        database=dict(settings.DATABASES["default"]),
        media_root=Path(settings.MEDIA_ROOT),
        private_root=Path(settings.MEADOW_PRIVATE_MEDIA_ROOT),
        data_dir=Path(settings.DATA_DIR),
    )


# --- helpers -------------------------------------------------------------------------------------------------
def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _HashingReader:
    """Reads a file for tarfile while hashing exactly what went into the archive."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _walk(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _pg_env(database: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if database.get(key):
            env[var] = str(database[key])
    env["PGDATABASE"] = str(database["NAME"])
    return env


def _pg_connect(database: dict[str, Any]) -> Any:
    import psycopg

    params = {
        "dbname": database["NAME"],
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v is not None})


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            _("%(tool)s was not found: install the PostgreSQL client tools (Debian: postgresql-client).")
            % {"tool": name}
        )
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(
            _("%(tool)s failed: %(detail)s")
            % {"tool": Path(command[0]).name, "detail": result.stderr.strip()[-2000:]}
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    counts: dict[str, int] = {}
    for table in tables:
        try:
            counts[table] = conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0]
        except sqlite3.OperationalError:
            continue  # a virtual table whose module this build lacks is not counted
    return counts


def _sqlite_migrations(conn: sqlite3.Connection) -> list[list[str]]:
    try:
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()
    except sqlite3.OperationalError:
        return []
    return [[app, name] for app, name in rows]


def _pg_counts(cursor: Any) -> dict[str, int]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    tables = [row[0] for row in cursor.fetchall()]
    counts: dict[str, int] = {}
    for table in tables:
        cursor.execute(f"SELECT count(*) FROM public.{_quote(table)}")
        counts[table] = cursor.fetchone()[0]
    return counts


def _pg_migrations(cursor: Any) -> list[list[str]]:
    cursor.execute("SELECT to_regclass('public.django_migrations') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return []
    cursor.execute("SELECT app, name FROM public.django_migrations ORDER BY app, name")
    return [[app, name] for app, name in cursor.fetchall()]


# --- backup --------------------------------------------------------------------------------------------------
def backup_create(*, instance: Instance, path: Path) -> dict[str, Any]:
    """Write the archive to ``path`` (via a temporary name, so a failed backup leaves no half archive);
    returns the manifest."""
    path = Path(path)
    public = instance.media_root.resolve()
    if path.resolve() == public or path.resolve().is_relative_to(public):
        # the public media folder is served to anyone: an archive there would publish the whole database
        raise BackupError(
            _("Write the backup outside the public media folder (%(path)s): it is served to anyone.")
            % {"path": public}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    vendor = instance.vendor
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "meadow_version": _meadow_version(),
        "database": {"vendor": vendor, "member": DB_MEMBER[vendor]},
        "files": {},
    }
    partial = path.with_name(path.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="meadow-backup-", dir=path.parent) as staging:
        dump = Path(staging) / DB_MEMBER[vendor]
        if vendor == "sqlite":
            counts, migrations = _sqlite_dump(instance.database, dump)
        else:
            counts, migrations = _pg_dump(instance.database, dump)
        manifest["database"].update({"row_counts": counts, "migrations": migrations})
        try:
            # readable by the owner only, from its first byte: it holds password hashes and private files
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with (
                os.fdopen(descriptor, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as archive,
            ):
                _add(archive, dump, DB_MEMBER[vendor], manifest)
                dump.unlink()
                for folder, root in instance.folders.items():
                    for file in _walk(root):
                        _add(archive, file, f"{folder}/{file.relative_to(root).as_posix()}", manifest)
                body = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), int(datetime.now(UTC).timestamp()), 0o644
                archive.addfile(info, _BytesReader(body))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.position + size
        chunk = self.data[self.position : end]
        self.position += len(chunk)
        return chunk


def _add(archive: tarfile.TarFile, file: Path, name: str, manifest: dict[str, Any]) -> None:
    stat = file.stat()
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o644
    with file.open("rb") as handle:
        reader = _HashingReader(handle)
        archive.addfile(info, reader)
    manifest["files"][name] = {"size": stat.st_size, "sha256": reader.digest.hexdigest()}


def _meadow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("meadow")
    except PackageNotFoundError:
        return "unknown"


def _sqlite_dump(database: dict[str, Any], dump: Path) -> tuple[dict[str, int], list[list[str]]]:
    name = str(database["NAME"])
    if not Path(name).is_file():
        raise BackupError(_("There is no database at %(path)s.") % {"path": name})
    source = sqlite3.connect(f"file:{name}?mode=ro", uri=True)
    target = sqlite3.connect(dump)
    try:
        source.backup(target)  # online: a consistent copy even while the server writes
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        return _sqlite_counts(target), _sqlite_migrations(target)
    finally:
        target.close()
        source.close()


def _pg_dump(database: dict[str, Any], dump: Path) -> tuple[dict[str, int], list[list[str]]]:
    pg_dump = _tool("pg_dump")
    # One snapshot for the dump and the row counts, so the manifest describes exactly what was dumped.
    with _pg_connect(database) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            _run(
                [pg_dump, "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", "-f", str(dump)],
                _pg_env(database),
            )
            counts, migrations = _pg_counts(cursor), _pg_migrations(cursor)
        conn.rollback()
    return counts, migrations


# --- restore -------------------------------------------------------------------------------------------------
def backup_restore(*, instance: Instance, path: Path, force: bool = False) -> dict[str, Any]:
    """Restore the archive at ``path`` into ``instance``; returns its manifest. Raises BackupError, having
    changed nothing, when the archive is damaged, of another version or vendor, or — unless ``force`` — the
    instance is running (a web, worker or beat process holds its lock) or the target is not empty. While it
    restores it holds the instance exclusively when it can."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(_("There is no backup at %(path)s.") % {"path": path})
    if instance.data_dir is None:
        return _restore(instance=instance, path=path, force=force)
    with instance_exclusive(instance.data_dir) as alone:
        if not alone and not force:
            raise BackupError(
                _(
                    "Meadow is running on this instance (its web, worker or beat processes). Stop them "
                    "first, or pass --force to restore under them."
                )
            )
        return _restore(instance=instance, path=path, force=force)


def _restore(*, instance: Instance, path: Path, force: bool) -> dict[str, Any]:
    vendor = instance.vendor
    # Staging beside each folder, so the final swap is a rename on the same file system.
    for root in instance.folders.values():
        root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".meadow-restore-", dir=instance.media_root.parent) as staging:
        manifest = _extract_and_verify(path, Path(staging))
        if manifest["database"]["vendor"] != vendor:
            raise BackupError(
                _("This backup holds a %(archive)s database; this instance uses %(target)s.")
                % {"archive": manifest["database"]["vendor"], "target": vendor}
            )
        _check_migrations(manifest["database"].get("migrations", []))
        if not force and not instance_is_empty(instance):
            raise BackupError(
                _(
                    "The target instance already has accounts or uploaded files. Restore into an empty "
                    "instance, or pass --force to replace everything in it."
                )
            )
        dump = Path(staging) / manifest["database"]["member"]
        if vendor == "sqlite":
            _sqlite_restore(instance.database, dump)
        else:
            _pg_restore(instance.database, dump)
        for folder, root in instance.folders.items():
            _swap_folder(Path(staging) / folder, root)
            if folder == "private":
                _owner_only(root)
        counts = _target_counts(instance)
        expected = manifest["database"]["row_counts"]
        wrong = sorted(t for t in expected if counts.get(t) != expected[t])
        if wrong:
            raise BackupError(
                _("The restored database differs from the backup in these tables: %(tables)s.")
                % {"tables": ", ".join(wrong)}
            )
    return manifest


def _damaged(detail: object) -> BackupError:
    return BackupError(
        _("This is not a complete Meadow backup (damaged or truncated): %(detail)s") % {"detail": detail}
    )


def _extract_and_verify(path: Path, staging: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = archive.getmembers()
            for member in members:
                if not member.isfile() and not member.isdir():
                    raise _damaged(_("unexpected member %(name)s") % {"name": member.name})
            archive.extractall(staging, filter="data")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _damaged(error) from error
    try:
        manifest = json.loads((staging / MANIFEST).read_text("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError
    except (OSError, ValueError) as error:
        raise _damaged(_("no readable manifest")) from error
    if manifest.get("format") != FORMAT:
        raise BackupError(_("This file is not a Meadow backup."))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            _("This backup has format version %(found)s; this Meadow restores version %(supported)s.")
            % {"found": manifest.get("format_version"), "supported": FORMAT_VERSION}
        )
    listed: dict[str, dict[str, Any]] = manifest.get("files", {})
    present = {
        p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file() and p.name != MANIFEST
    }
    present.discard(MANIFEST)
    missing, extra = sorted(set(listed) - present), sorted(present - set(listed))
    if missing or extra:
        raise _damaged(
            _("members missing or not in the manifest: %(names)s") % {"names": (missing + extra)[:5]}
        )
    for name, entry in listed.items():
        if _sha256_file(staging / name) != entry.get("sha256"):
            raise BackupError(
                _("Checksum mismatch for %(name)s: the backup is damaged. Nothing was restored.")
                % {"name": name}
            )
    if manifest.get("database", {}).get("member") not in listed:
        raise _damaged(_("no database in the archive"))
    return manifest


def _check_migrations(migrations: list[list[str]]) -> None:
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{app}.{name}" for app, name in migrations if (app, name) not in known]
    if unknown:
        raise BackupError(
            _(
                "This backup was made by a newer or different Meadow: it has migrations this one does not "
                "know (%(names)s). Upgrade Meadow first."
            )
            % {"names": ", ".join(unknown[:5])}
        )


def instance_is_empty(instance: Instance) -> bool:
    """An instance is empty when it has no accounts and no uploaded files (a freshly migrated one is)."""
    for root in instance.folders.values():
        if next(_walk(root), None) is not None:
            return False
    if instance.vendor == "sqlite":
        name = Path(str(instance.database["NAME"]))
        if not name.is_file():
            return True
        with contextlib.closing(sqlite3.connect(f"file:{name}?mode=ro", uri=True)) as conn:
            try:
                return conn.execute("SELECT count(*) FROM accounts_user").fetchone()[0] == 0
            except sqlite3.OperationalError:
                return True
    with _pg_connect(instance.database) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.accounts_user') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return True
        cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM public.accounts_user)")
        return bool(cursor.fetchone()[0])


def _target_counts(instance: Instance) -> dict[str, int]:
    if instance.vendor == "sqlite":
        with contextlib.closing(sqlite3.connect(str(instance.database["NAME"]))) as conn:
            return _sqlite_counts(conn)
    with _pg_connect(instance.database) as conn, conn.cursor() as cursor:
        return _pg_counts(cursor)


def _sqlite_restore(database: dict[str, Any], dump: Path) -> None:
    name = Path(str(database["NAME"]))
    name.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    target = sqlite3.connect(name, timeout=30)
    try:
        # Replaces every page of the target in one transaction (a reader sees the old or the new database).
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


def _pg_restore(database: dict[str, Any], dump: Path) -> None:
    pg_restore = _tool("pg_restore")
    env = _pg_env(database)
    _run(
        [pg_restore, "--list", str(dump)], env
    )  # the dump's table of contents reads before anything is dropped
    with _pg_connect(database) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.commit()
    _run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            str(database["NAME"]),
            str(dump),
        ],
        env,
    )


def _owner_only(root: Path) -> None:
    """Private files come back as private storage writes them: folders 0700, files 0600."""
    root.chmod(0o700)
    for folder, folders, files in os.walk(root):
        for name in folders:
            (Path(folder) / name).chmod(0o700)
        for name in files:
            (Path(folder) / name).chmod(0o600)


def _swap_folder(staged: Path, root: Path) -> None:
    """Put the restored folder in place of ``root`` by renaming (the old one is removed afterwards)."""
    if not staged.exists():
        staged.mkdir(parents=True)
    old = root.with_name(f".{root.name}.old-{os.getpid()}")
    if root.exists():
        os.replace(root, old)
    try:
        shutil.move(str(staged), str(root))
    except OSError:
        if old.exists() and not root.exists():
            os.replace(old, root)
        raise
    shutil.rmtree(old, ignore_errors=True)
