"""`meadow backup` / `meadow restore`: a populated instance round-trips into a fresh one (SQLite, and PostgreSQL
under the postgres marker), and a damaged, tampered, foreign or newer archive is refused with nothing changed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.utils import translation

from meadow.core.backup import BackupError, Instance, backup_create, backup_restore

# --- helpers -------------------------------------------------------------------------------------------------


def _meadow(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL", "REDIS_URL"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "meadow.settings", "MEADOW_TASKS_EAGER": "true", **env})
    return subprocess.run(
        [sys.executable, "-m", "meadow", *args], env=clean, capture_output=True, text=True, timeout=600
    )


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _tree(*roots: Path) -> dict[str, str]:
    """relative path → sha256 of every file under the roots."""
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                found[f"{root.name}/{path.relative_to(root)}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'search_note_fts%'"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


def _populate(data: Path, **env: str) -> None:
    _ok(_meadow(["migrate", "--no-input", "-v0"], MEADOW_DATA_DIR=str(data), **env))
    _ok(_meadow(["demo", "--users", "6", "--notes", "6", "--no-progress"], MEADOW_DATA_DIR=str(data), **env))
    licence = data / "private" / "licences" / "shop-1.pdf"
    licence.parent.mkdir(parents=True, exist_ok=True)
    licence.write_bytes(b"%PDF-1.4 a business licence " + os.urandom(64))


# --- round trips ---------------------------------------------------------------------------------------------


def test_sqlite_instance_round_trips_into_a_fresh_data_directory(tmp_path):
    source, fresh, archive = tmp_path / "source", tmp_path / "fresh", tmp_path / "backups" / "meadow.tar.gz"
    _populate(source)
    counts = _sqlite_counts(source / "meadow.sqlite3")
    assert counts["accounts_user"] >= 6 and counts["notes_note"] >= 6
    files = _tree(source / "media", source / "private")
    assert any(name.startswith("private/") for name in files) and len(files) > 5

    _ok(_meadow(["backup", str(archive)], MEADOW_DATA_DIR=str(source)))
    assert archive.stat().st_mode & 0o777 == 0o600  # it holds password hashes and private files
    manifest = _manifest_of(archive)
    assert manifest["format_version"] == 1 and manifest["database"]["vendor"] == "sqlite"
    assert manifest["database"]["row_counts"]["accounts_user"] == counts["accounts_user"]

    restored = _ok(_meadow(["restore", str(archive)], MEADOW_DATA_DIR=str(fresh)))
    assert "Restored" in restored.stdout
    assert _sqlite_counts(fresh / "meadow.sqlite3") == counts
    assert _tree(fresh / "media", fresh / "private") == files
    # private files come back private: folders 0700, files 0600, as private storage writes them
    assert (fresh / "private").stat().st_mode & 0o777 == 0o700
    for restored_file in (fresh / "private").rglob("*"):
        assert restored_file.stat().st_mode & 0o777 == (0o700 if restored_file.is_dir() else 0o600), (
            restored_file
        )
    # a backup is never written where the web server serves files to anyone
    public = _meadow(["backup", str(source / "media" / "backup.tar.gz")], MEADOW_DATA_DIR=str(source))
    assert public.returncode != 0 and "public media" in public.stderr
    assert not list((source / "media").glob("backup.tar.gz*"))
    # the restored instance is usable: nothing left to migrate, and it serves its data
    check = _ok(_meadow(["migrate", "--check", "--no-input"], MEADOW_DATA_DIR=str(fresh)))
    assert check.returncode == 0

    # a second restore into the now non-empty instance is refused without --force, and changes nothing
    before = (fresh / "meadow.sqlite3").read_bytes()
    refused = _meadow(["restore", str(archive)], MEADOW_DATA_DIR=str(fresh))
    assert refused.returncode != 0 and "--force" in refused.stderr
    assert (fresh / "meadow.sqlite3").read_bytes() == before
    _ok(_meadow(["restore", "--force", str(archive)], MEADOW_DATA_DIR=str(fresh)))
    assert _sqlite_counts(fresh / "meadow.sqlite3") == counts


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("MEADOW_TEST_POSTGRES"), reason="PostgreSQL profile only: set MEADOW_TEST_POSTGRES"
)
def test_postgresql_instance_round_trips_through_pg_dump_and_pg_restore(tmp_path):
    import psycopg

    base = os.environ.get("MEADOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/meadow")
    server, name = base.rsplit("/", 1)
    suffix = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:6]}"
    src, dst = f"{name}_bk_src_{suffix}", f"{name}_bk_dst_{suffix}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        for db in (src, dst):
            admin.execute(f'CREATE DATABASE "{db}"')
    try:
        source, fresh, archive = tmp_path / "source", tmp_path / "fresh", tmp_path / "pg.tar.gz"
        _populate(source, DATABASE_URL=f"{server}/{src}")
        _ok(_meadow(["backup", str(archive)], MEADOW_DATA_DIR=str(source), DATABASE_URL=f"{server}/{src}"))
        manifest = _manifest_of(archive)
        assert manifest["database"]["member"] == "database.pgdump"
        _ok(_meadow(["restore", str(archive)], MEADOW_DATA_DIR=str(fresh), DATABASE_URL=f"{server}/{dst}"))

        def counts(db: str) -> dict[str, int]:
            with psycopg.connect(f"{server}/{db}") as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname='public'"
                    ).fetchall()
                ]
                return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}

        assert counts(src)["accounts_user"] >= 6
        assert counts(dst) == counts(src)
        assert _tree(fresh / "media", fresh / "private") == _tree(source / "media", source / "private")
        refused = _meadow(
            ["restore", str(archive)], MEADOW_DATA_DIR=str(fresh), DATABASE_URL=f"{server}/{dst}"
        )
        assert refused.returncode != 0 and "--force" in refused.stderr
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            for db in (src, dst):
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# --- refusals: nothing is overwritten ------------------------------------------------------------------------


def _tiny_instance(root: Path, *, users: int, marker: bytes) -> Instance:
    """A small SQLite instance (accounts table, a real applied migration) with one media and one private file."""
    root.mkdir(parents=True)
    with sqlite3.connect(root / "db.sqlite3") as conn:
        conn.execute(
            "CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT, applied TEXT)"
        )
        conn.execute("INSERT INTO django_migrations (app, name) VALUES ('accounts', '0001_initial')")
        conn.execute("CREATE TABLE accounts_user (id INTEGER PRIMARY KEY, handle TEXT)")
        conn.executemany("INSERT INTO accounts_user (handle) VALUES (?)", [(f"u{i}",) for i in range(users)])
    (root / "media" / "notes").mkdir(parents=True)
    (root / "media" / "notes" / "a.webp").write_bytes(marker * 100)
    (root / "private").mkdir()
    (root / "private" / "licence.pdf").write_bytes(b"%PDF " + marker)
    return Instance(
        database={"ENGINE": "django.db.backends.sqlite3", "NAME": str(root / "db.sqlite3")},
        media_root=root / "media",
        private_root=root / "private",
    )


def _state(instance: Instance) -> tuple:
    return Path(instance.database["NAME"]).read_bytes(), _tree(instance.media_root, instance.private_root)


def _rewrite(archive: Path, out: Path, change) -> Path:
    """Copy the archive, letting ``change(members)`` edit the {name: bytes} it holds."""
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    change(members)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def _manifest_edit(edit):
    def change(members):
        manifest = json.loads(members["manifest.json"])
        edit(manifest)
        members["manifest.json"] = json.dumps(manifest).encode()

    return change


@pytest.fixture
def archive_and_target(tmp_path):
    source = _tiny_instance(tmp_path / "source", users=3, marker=b"SOURCE")
    archive = tmp_path / "backup.tar.gz"
    backup_create(instance=source, path=archive)
    target = _tiny_instance(tmp_path / "target", users=5, marker=b"TARGET")
    return archive, target, tmp_path


def test_a_good_archive_replaces_a_non_empty_target_only_with_force(archive_and_target):
    archive, target, _ = archive_and_target
    before = _state(target)
    with pytest.raises(BackupError, match="--force"):
        backup_restore(instance=target, path=archive)
    assert _state(target) == before
    backup_restore(instance=target, path=archive, force=True)
    with sqlite3.connect(target.database["NAME"]) as conn:
        assert conn.execute("SELECT count(*) FROM accounts_user").fetchone()[0] == 3
    assert (target.media_root / "notes" / "a.webp").read_bytes() == b"SOURCE" * 100
    assert (target.private_root / "licence.pdf").read_bytes() == b"%PDF SOURCE"


def _truncate(archive: Path, out: Path) -> Path:
    data = archive.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def _flip_byte(archive: Path, out: Path) -> Path:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_truncate, "damaged or truncated"),
        (_flip_byte, "damaged"),
        (lambda a, o: o.write_bytes(b"not an archive at all") and o, "damaged or truncated"),
        (
            lambda a, o: _rewrite(a, o, lambda m: m.__setitem__("media/notes/a.webp", b"EVIL" * 150)),
            "Checksum mismatch for media/notes/a.webp",
        ),
        (
            lambda a, o: _rewrite(a, o, lambda m: m.__setitem__("media/extra.js", b"x")),
            "not in the manifest",
        ),
        (lambda a, o: _rewrite(a, o, lambda m: m.pop("manifest.json")), "no readable manifest"),
        (
            lambda a, o: _rewrite(a, o, _manifest_edit(lambda m: m.__setitem__("format_version", 99))),
            "format version 99",
        ),
        (
            lambda a, o: _rewrite(a, o, _manifest_edit(lambda m: m.__setitem__("format", "other"))),
            "not a Meadow backup",
        ),
        (
            lambda a, o: _rewrite(
                a, o, _manifest_edit(lambda m: m["database"]["migrations"].append(["notes", "9999_future"]))
            ),
            "notes.9999_future",
        ),
        (
            lambda a, o: _rewrite(
                a, o, _manifest_edit(lambda m: m["database"].__setitem__("vendor", "postgresql"))
            ),
            "postgresql database",
        ),
    ],
    ids=[
        "truncated",
        "flipped-byte",
        "garbage",
        "checksum",
        "stray-member",
        "no-manifest",
        "version",
        "format",
        "newer-migrations",
        "vendor",
    ],
)
def test_a_bad_archive_is_refused_even_with_force_and_nothing_is_overwritten(
    archive_and_target, spoil, message
):
    archive, target, tmp_path = archive_and_target
    bad = spoil(archive, tmp_path / "bad.tar.gz")
    before = _state(target)
    with pytest.raises(BackupError, match=message):
        backup_restore(instance=target, path=bad, force=True)
    assert _state(target) == before
    leftovers = [p.name for p in (tmp_path / "target").iterdir()]
    assert sorted(leftovers) == ["db.sqlite3", "media", "private"]  # no staging folder left behind


def test_refusals_are_translated(archive_and_target):
    archive, target, _ = archive_and_target
    with translation.override("zh-hans"), pytest.raises(BackupError) as refused:
        backup_restore(instance=target, path=archive)
    assert "--force" in str(refused.value) and "target instance" not in str(refused.value)
    with translation.override("ms"), pytest.raises(BackupError) as refused:
        backup_restore(instance=target, path=archive)
    assert "--force" in str(refused.value) and "target instance" not in str(refused.value)


def test_a_failed_backup_leaves_no_partial_archive(tmp_path):
    missing = Instance(
        database={"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "nothing.sqlite3")},
        media_root=tmp_path / "media",
        private_root=tmp_path / "private",
    )
    with pytest.raises(BackupError, match="no database"):
        backup_create(instance=missing, path=tmp_path / "out" / "b.tar.gz")
    assert list((tmp_path / "out").iterdir()) == []


# --- a running instance is not restored under its processes -------------------------------------------------------
def _holder(data_dir: Path, code: str, **env: str) -> subprocess.Popen:
    """A process of the instance (started here, stopped by the test): prints 'held' once it holds the lock."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL", "REDIS_URL"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "meadow.settings", "MEADOW_DATA_DIR": str(data_dir), **env})
    proc = subprocess.Popen(
        [sys.executable, "-c", code + "; print('held', flush=True); import time; time.sleep(120)"],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.strip() == "held", line + proc.stderr.read()
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=30)


def test_restore_refuses_while_a_process_of_the_instance_runs_unless_forced(archive_and_target):
    archive, target, tmp_path = archive_and_target
    target.data_dir = tmp_path / "target"
    before = _state(target)
    worker = _holder(
        target.data_dir,
        f"from meadow.core.running import instance_lock_hold; instance_lock_hold(role='worker', data_dir={str(target.data_dir)!r})",
    )
    try:
        with pytest.raises(BackupError, match="Meadow is running on this instance"):
            backup_restore(instance=target, path=archive)
        assert _state(target) == before
        with translation.override("ms"), pytest.raises(BackupError) as refused:
            backup_restore(instance=target, path=archive)
        assert "--force" in str(refused.value) and "is running" not in str(refused.value)
    finally:
        _stop(worker)
    # once it stopped, the next refusal is only the non-empty target's (the running check passed)
    with pytest.raises(BackupError, match="already has accounts"):
        backup_restore(instance=target, path=archive)
    worker = _holder(
        target.data_dir,
        f"from meadow.core.running import instance_lock_hold; instance_lock_hold(role='worker', data_dir={str(target.data_dir)!r})",
    )
    try:
        backup_restore(instance=target, path=archive, force=True)  # --force restores under it
    finally:
        _stop(worker)
    with sqlite3.connect(target.database["NAME"]) as conn:
        assert conn.execute("SELECT count(*) FROM accounts_user").fetchone()[0] == 3


def test_meadow_restore_refuses_while_the_web_process_runs(tmp_path):
    data = tmp_path / "data"
    archive = tmp_path / "backup.tar.gz"
    archive.write_bytes(b"never read: the running instance is refused first")
    web = _holder(data, "import meadow.asgi")  # what uvicorn imports: the web process holds the lock
    try:
        result = _meadow(["restore", str(archive)], MEADOW_DATA_DIR=str(data))
        assert result.returncode != 0
        assert "Meadow is running on this instance" in result.stderr, result.stderr
    finally:
        _stop(web)
    result = _meadow(["restore", str(archive)], MEADOW_DATA_DIR=str(data))
    assert result.returncode != 0 and "damaged" in result.stderr  # no longer running: the archive is read
