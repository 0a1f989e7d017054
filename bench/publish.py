"""Publishing benchmark: notes published per second through the service layer (``publishing.note_publish``) on
SQLite and on PostgreSQL, and the image pipeline's images per second against raw Pillow decode+resize of the same files.

    .venv/bin/python bench/publish.py [--notes 200] [--images 24] [--no-postgres] [--write]

Each database runs in its own process on a scratch database (a temporary SQLite file; ``meadow_bench`` created
and dropped on the PostgreSQL server of ``MEADOW_BENCH_POSTGRES``, default postgresql://postgres@127.0.0.1:5432).
``--write`` appends the results to bench/RESULTS.md under "## Publishing".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("MEADOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "meadow_bench"


def _photo(seed: int, size: tuple[int, int]) -> bytes:
    """A phone-like JPEG: gradient, shapes and sensor noise (so it does not compress to nothing)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    w, h = size
    base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    tint = Image.new("RGB", (w, h), tuple(rng.randint(40, 220) for _ in range(3)))
    img = Image.blend(base, tint, 0.6)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(w // 20, w // 5)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randint(0, 255) for _ in range(3)))
    noise = Image.effect_noise((w, h), 24).convert("RGB")
    img = Image.blend(img, noise, 0.15)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


# --- worker: runs inside Django with DATABASE_URL pointing at the scratch database ----------------------------------
def worker(notes: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection

    from meadow.accounts.models import User
    from meadow.notes.text import extract_keywords
    from meadow.publishing.services import note_publish

    call_command("migrate", verbosity=0)
    author = User.objects.create_user("bench_author")
    photo = _photo(1, (1080, 1440))
    small = _photo(2, (64, 48))
    texts = [
        ("吉隆坡美食地图", "排队一小时也值得！汤头浓郁。", ["吉隆坡美食", "探店", "肉骨茶"]),
        ("Best nasi lemak", "Crispy chicken and a sambal that bites back.", ["KLfood", "foodie"]),
        ("Percutian Langkawi", "Pantai cantik, air jernih.", ["pelancongan", "pantai", "cuti"]),
    ]
    extract_keywords("预热 jieba 词典")  # jieba's one-time load is not part of publishing

    def run(count: int, data: bytes) -> float:
        start = time.perf_counter()
        for i in range(count):
            title, body, tags = texts[i % len(texts)]
            note_publish(
                author=author,
                title=title,
                body=f"{body} #{i % 50}",
                hashtags=[*tags, f"bench{i % 200}"],
                images=[SimpleUploadedFile("p.jpg", data, content_type="image/jpeg")],
            )
        return count / (time.perf_counter() - start)

    run(5, small)  # warm-up
    return {
        "vendor": connection.vendor,
        "notes_per_s_small_image": run(notes, small),
        "notes_per_s_photo": run(max(10, notes // 4), photo),
    }


def _spawn(env_extra: dict, notes: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="meadow-bench-") as tmp:
        env = {
            **os.environ,
            "MEADOW_ENV": "development",
            "MEADOW_DEBUG": "false",
            "MEADOW_DATA_DIR": tmp,
            "MEADOW_LOG_LEVEL": "WARNING",
            "MEADOW_TASKS_EAGER": "true",  # as measured so far: the publish tasks run inline (no worker here)
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            **env_extra,
        }
        env.pop("REDIS_URL", None)
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--notes", str(notes)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        return json.loads(out.stdout.strip().splitlines()[-1])


def postgres(notes: int) -> dict | None:
    try:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    except Exception as exc:
        print(f"PostgreSQL unavailable ({exc}); skipped.", file=sys.stderr)
        return None
    try:
        return _spawn({"DATABASE_URL": f"{PG_SERVER}/{PG_DB}"}, notes)
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


# --- image pipeline vs raw Pillow -------------------------------------------------------------------------------------
def images(count: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.test_settings")
    import django

    django.setup()
    from PIL import Image

    from meadow.notes.media import DETAIL_WIDTH, THUMB_WIDTH, image_process_bytes

    files = [_photo(seed, (4032, 3024)) for seed in range(4)]  # 12 MP phone photos

    def raw(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            for width in (DETAIL_WIDTH, THUMB_WIDTH):
                img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)

    def timed(fn) -> float:
        fn(files[0])
        start = time.perf_counter()
        for i in range(count):
            fn(files[i % len(files)])
        return count / (time.perf_counter() - start)

    pipeline = timed(lambda d: image_process_bytes(d))
    baseline = timed(raw)
    return {
        "pipeline_images_per_s": pipeline,
        "raw_pillow_images_per_s": baseline,
        "ratio": pipeline / baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.notes)))
        return

    sqlite = _spawn({}, args.notes)
    pg = None if args.no_postgres else postgres(args.notes)
    img = images(args.images)
    lines = [
        f"- SQLite (WAL, temp file): **{sqlite['notes_per_s_small_image']:.0f} notes/s** with one small image, "
        f"**{sqlite['notes_per_s_photo']:.1f} notes/s** with one 1080×1440 photo",
    ]
    if pg:
        lines.append(
            f"- PostgreSQL (scratch `{PG_DB}`): **{pg['notes_per_s_small_image']:.0f} notes/s** with one small "
            f"image, **{pg['notes_per_s_photo']:.1f} notes/s** with one 1080×1440 photo"
        )
        lines.append(
            f"- PostgreSQL / SQLite (small image): {pg['notes_per_s_small_image'] / sqlite['notes_per_s_small_image']:.2f}×"
        )
    lines.append(
        f"- Image pipeline on 12 MP JPEGs (validate, decode, orient, 1440 + 540 px WebP, colour, blurhash): "
        f"**{img['pipeline_images_per_s']:.1f} images/s** vs raw Pillow decode + the same two resizes "
        f"{img['raw_pillow_images_per_s']:.1f} images/s → **ratio {img['ratio']:.2f}**"
    )
    report = "\n".join(lines)
    print(report)
    if args.write:
        _write(report, args)


def _write(report: str, args) -> None:
    import platform

    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    command = f".venv/bin/python bench/publish.py --notes {args.notes} --images {args.images} --write"
    section = (
        "## Publishing\n\n"
        f"`{command}` — {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, one process, through `meadow.publishing.services.note_publish` (validation, "
        "screening, hashtags, categories, media, rows). The ratios are measured side by side in one run; absolute "
        "numbers move ±30 % between runs on a shared machine.\n\n" + report + "\n"
    )
    start = text.find("## Publishing")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("" if end == -1 else "\n" + text[end + 1 :])
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
