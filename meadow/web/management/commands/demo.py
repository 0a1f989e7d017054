"""``meadow demo``: seed a believable demo — people with avatars and bios in Chinese, English and Malay, who
follow each other along a power law, and (once the notes app is installed) their notes.

The same command seeds 100 users or 100,000 for load tests: bulk inserts in batches, one password hash shared
by all demo accounts, a small pool of generated avatar images reused across people.
"""

from __future__ import annotations

import io
import itertools
import math
import random
import time
from contextlib import nullcontext

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from PIL import Image, ImageDraw
from pypinyin import lazy_pinyin
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from meadow.accounts.models import Follow, User
from meadow.accounts.services import ACCENT_COLORS
from meadow.core.bulk import BulkTable, models_copy, tables_analyze

DEMO_PASSWORD = "meadow-demo"
BATCH = 2000

ZH_SURNAMES = "陈 林 黄 张 李 王 吴 刘 蔡 杨 郑 许 何 谢 罗 周 梁 叶 苏 曾".split()
ZH_GIVEN = "小美 晓雯 嘉欣 子涵 思琪 雨桐 俊杰 家豪 志明 伟强 慧敏 佳怡 欣怡 文杰 诗涵 可馨 浩然 一诺".split()
ZH_ROLES = [
    "吉隆坡探店",
    "护肤分享",
    "健身教练",
    "旅行博主",
    "宝妈日常",
    "数码控",
    "家居改造",
    "咖啡爱好者",
    "穿搭笔记",
    "烘焙日记",
]
EN_FIRST = (
    "Mike Lily Sarah Daniel Chloe Ethan Grace Ryan Olivia Jason Emma Kevin Sophie Marcus Hannah Aaron".split()
)
EN_LAST = "Chen Tan Lim Wong Lee Ng Goh Teo Ong Low Yap Koh".split()
EN_ROLES = [
    "Fitness Coach",
    "Food Hunter",
    "Skincare Nerd",
    "Travel Diaries",
    "Home Barista",
    "Tech Reviews",
    "Plant Mum",
    "Weekend Baker",
    "Outfit Notes",
    "Budget Traveller",
]
MS_FIRST = "Aisyah Nurul Siti Farah Amirah Hafiz Aiman Danial Irfan Syafiq Nabila Zara Iman Haziq".split()
MS_LAST = "Rahman Ismail Hassan Abdullah Yusof Ahmad Osman Karim Salleh Hamid".split()
MS_ROLES = [
    "Resepi Mudah",
    "Jalan-jalan Cari Makan",
    "Kecantikan",
    "Fesyen Muslimah",
    "Hidup Sihat",
    "Ibu Muda",
    "Kopi & Buku",
    "Rumah Minimalis",
    "Pengembara",
    "Gajet Terkini",
]
LOCATIONS = [
    "Kuala Lumpur",
    "Petaling Jaya",
    "Penang",
    "Johor Bahru",
    "Ipoh",
    "Melaka",
    "Kota Kinabalu",
    "Kuching",
    "Shah Alam",
    "Singapore",
    "上海",
    "深圳",
    "台北",
]
BIOS = {
    "zh": [
        "在吉隆坡吃吃喝喝的上班族｜每周更新探店笔记｜有问题评论区见",
        "敏感肌护肤五年｜只分享自己用过的｜欢迎在 Meadow 私信交流",
        "健身三年减脂 15kg｜分享简单好坚持的训练｜一起变更好",
        "带着娃到处走的宝妈｜亲子游和育儿好物｜Meadow 里聊",
        "咖啡和甜点是我的快乐源泉｜记录生活里的小确幸",
    ],
    "en": [
        "KL food hunter · honest reviews of hawker stalls and cafés · ask me in the comments",
        "Certified coach · 20-minute home workouts · progress over perfection",
        "Skincare for humid weather · only what I've tried myself",
        "Weekend traveller · budget itineraries across Southeast Asia",
        "Home barista and plant parent · slow mornings, good coffee",
    ],
    "ms": [
        "Pencinta makanan di Lembah Klang · ulasan jujur kedai makan · jom borak di ruangan komen",
        "Resepi mudah untuk keluarga · masak sedap tanpa pening kepala",
        "Fesyen sopan dan selesa · inspirasi gaya harian",
        "Ibu kepada dua cahaya mata · tips keibubapaan dan barang bayi",
        "Suka mengembara · catatan perjalanan bajet ke seluruh Malaysia",
    ],
}


def _person(rng: random.Random, index: int) -> tuple[str, str, str]:
    """A (handle, display name, language) that reads like a real person or creator."""
    language = rng.choices(["zh", "en", "ms"], weights=[45, 30, 25])[0]
    if language == "zh":
        name = rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
        display = f"{name}｜{rng.choice(ZH_ROLES)}" if rng.random() < 0.6 else name
        handle = "".join(lazy_pinyin(name)) + str(index)
    elif language == "en":
        first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        display = f"{first} {last} [{rng.choice(EN_ROLES)}]" if rng.random() < 0.5 else f"{first} {last}"
        handle = f"{first.lower()}.{last.lower()}{index}"
    else:
        first, last = rng.choice(MS_FIRST), rng.choice(MS_LAST)
        display = f"{first} · {rng.choice(MS_ROLES)}" if rng.random() < 0.5 else f"{first} {last}"
        handle = f"{first.lower()}_{last.lower()}{index}"
    return handle[:24], display[:40], language


def _avatar_pool(rng: random.Random, size: int) -> list[str]:
    """Generate ``size`` abstract avatar images once and store them; people share them."""
    names = []
    for i in range(size):
        base = ACCENT_COLORS[i % len(ACCENT_COLORS)]
        img = Image.new("RGB", (400, 400), base)
        draw = ImageDraw.Draw(img)
        for _ in range(4):
            x, y, r = rng.randint(-50, 400), rng.randint(-50, 400), rng.randint(60, 220)
            colour = tuple(rng.randint(90, 255) for _ in range(3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        buf = io.BytesIO()
        img.save(buf, "WEBP", quality=80)
        names.append(default_storage.save(f"avatars/demo/demo-{i:03d}.webp", ContentFile(buf.getvalue())))
    return names


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _users_insert(batch: list[User]) -> None:
    """New people whose ids are read back afterwards: COPY on PostgreSQL, bulk_create elsewhere."""
    if _postgres():
        with transaction.atomic():
            models_copy(User, batch)
    else:
        User.objects.bulk_create(batch, batch_size=BATCH)


class Command(BaseCommand):
    help = (
        "Seed a believable demo: users with avatars and bios (zh/en/ms), follows, and notes when available."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=120, help="how many people (default 120)")
        parser.add_argument(
            "--notes", type=int, default=400, help="how many notes, once notes exist (default 400)"
        )
        parser.add_argument("--follows", type=int, default=12, help="average follows per person (default 12)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed, for a reproducible demo")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database has users already"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
        parser.add_argument(
            "--jobs",
            type=int,
            default=2,
            help="PostgreSQL: batches of notes written at once, each on its own connection (default 2)",
        )
        parser.add_argument(
            "--no-search-index",
            action="store_true",
            help="leave the new notes out of the search index (a benchmark that never searches them)",
        )

    def handle(self, *args, **opts):
        users, notes, follows = opts["users"], opts["notes"], opts["follows"]
        if users < 1 or users > 5_000_000 or notes < 0 or follows < 0:
            raise CommandError("--users must be 1..5,000,000; --notes and --follows must be 0 or more.")
        if opts["if_empty"] and User.objects.exists():
            self.stdout.write("The database has users already: no demo seeded.")
            return
        rng = random.Random(opts["seed"])
        progress = (
            nullcontext(None)
            if opts["no_progress"]
            else Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
        )
        began = time.perf_counter()
        with progress as bar:
            created = self._seed_users(rng, users, bar)
            self._seed_follows(rng, created, follows, bar)
            started = time.perf_counter()
            seeded_notes = self._seed_notes(
                rng, created, notes, bar, index=not opts["no_search_index"], jobs=max(1, opts["jobs"])
            )
            notes_seconds = time.perf_counter() - started
            self._analyze_hooked()
            seeded_products = self._seed_store(rng, created) if seeded_notes else 0
        total_seconds = time.perf_counter() - began
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(created)} people, {seeded_notes} notes and {seeded_products} products. "
                f"Log in as @demo with the password {DEMO_PASSWORD!r}."
            )
        )
        if seeded_notes:
            self.stdout.write(
                f"Notes: {seeded_notes / max(notes_seconds, 1e-9):,.0f} notes/s "
                f"({seeded_notes:,} in {notes_seconds:,.1f} s, with their traffic pools and search documents); "
                f"whole command {total_seconds:,.1f} s."
            )

    def _track(self, bar, description: str, total: int):
        if bar is None:
            return lambda n: None
        task = bar.add_task(description, total=total)
        return lambda n: bar.advance(task, n)

    def _seed_users(self, rng: random.Random, count: int, bar) -> list[int]:
        advance = self._track(bar, "people", count)
        password = make_password(DEMO_PASSWORD)
        avatars = _avatar_pool(rng, min(48, count))
        start = (User.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        taken = set(User.objects.values_list("handle", flat=True)) if start > 1 else set()
        batch: list[User] = []
        if "demo" not in taken:
            batch.append(
                User(
                    handle="demo",
                    display_name="Meadow Demo",
                    password=password,
                    bio=BIOS["en"][0],
                    location="Kuala Lumpur",
                    language="en",
                    avatar=avatars[0],
                )
            )
        for i in range(start, start + count - len(batch)):
            handle, display, language = _person(rng, i)
            if handle in taken:
                handle = f"u{i}"[:24]
            taken.add(handle)
            batch.append(
                User(
                    handle=handle,
                    display_name=display,
                    password=password,
                    language="zh-hans" if language == "zh" else language,
                    bio=rng.choice(BIOS[language]),
                    location=rng.choice(LOCATIONS),
                    avatar=rng.choice(avatars),
                    accent_color=rng.choice(ACCENT_COLORS),
                    is_private=rng.random() < 0.03,
                )
            )
            if len(batch) >= BATCH:
                _users_insert(batch)
                advance(len(batch))
                batch = []
        if batch:
            _users_insert(batch)
            advance(len(batch))
        return list(User.objects.filter(password=password).order_by("id").values_list("id", flat=True))

    def _seed_follows(self, rng: random.Random, ids: list[int], average: int, bar) -> None:
        if len(ids) < 2 or average == 0:
            return
        advance = self._track(bar, "follows", len(ids))
        # popularity follows a power law: a few creators are followed by many
        cumulative = list(itertools.accumulate(1.0 / math.pow(rank + 1, 0.9) for rank in range(len(ids))))
        now = timezone.now()
        popular = ids[:]
        rng.shuffle(popular)
        # The pairs are new (``ids`` are people this run created) and unique per follower: PostgreSQL takes them
        # with COPY, other databases with bulk_create (ignoring conflicts all the same).
        copy = BulkTable(Follow, ["follower_id", "followee_id", "created_at"]) if _postgres() else None
        batch: list[tuple[int, int]] = []
        pending = [0]  # followers whose pairs are in the batch

        def flush() -> None:
            if copy is not None:
                with transaction.atomic():
                    copy.copy((a, b, now) for a, b in batch)
            else:
                Follow.objects.bulk_create(
                    [Follow(follower_id=a, followee_id=b, created_at=now) for a, b in batch],
                    ignore_conflicts=True,
                    batch_size=BATCH,
                )
            advance(pending[0])
            pending[0] = 0
            batch.clear()

        for follower in ids:
            k = min(len(ids) - 1, max(1, int(rng.expovariate(1 / average))))
            batch += [
                (follower, followee)
                for followee in set(rng.choices(popular, cum_weights=cumulative, k=k))
                if followee != follower
            ]
            pending[0] += 1
            if len(batch) >= 10 * BATCH:
                flush()
        flush()
        tables_analyze([User, Follow])  # the recount below is planned on fresh statistics
        self._recount_follows(ids)

    @staticmethod
    def _recount_follows(ids: list[int]) -> None:
        """Counters are derived once from the rows (one UPDATE), never incremented blindly in bulk."""
        active = Follow.objects.filter(status=Follow.Status.ACTIVE)
        followers = (
            active.filter(followee=OuterRef("pk")).values("followee").annotate(n=Count("id")).values("n")
        )
        following = (
            active.filter(follower=OuterRef("pk")).values("follower").annotate(n=Count("id")).values("n")
        )
        with transaction.atomic():
            User.objects.filter(pk__in=ids).update(
                followers_count=Coalesce(Subquery(followers), 0),
                following_count=Coalesce(Subquery(following), 0),
            )

    def _seed_store(self, rng: random.Random, ids: list[int]) -> int:
        """Three verified businesses (the last of the seeded people, not @demo) with shops, products and
        product tags in some notes."""
        if not apps.is_installed("meadow.store") or len(ids) < 8:
            return 0
        from meadow.store.demo import seed_store

        owners = list(User.objects.filter(pk__in=ids[-3:]).order_by("id"))
        return seed_store(rng=rng, owners=owners)

    def _seed_notes(
        self, rng: random.Random, ids: list[int], count: int, bar, *, index: bool, jobs: int
    ) -> int:
        if count == 0 or not apps.is_installed("meadow.notes"):
            return 0
        try:
            from meadow.web.demo_notes import seed_notes
        except ImportError:  # the notes app is present but has no seeder yet
            return 0
        authors = list(User.objects.filter(pk__in=ids[: max(10, len(ids) // 3)]))
        advance = self._track(bar, "notes", count)
        return seed_notes(
            authors=authors,
            count=count,
            rng=rng,
            progress=advance,
            on_batch=self._batch_hook(index=index),
            jobs=jobs,
        )

    @staticmethod
    def _analyze_hooked() -> None:
        """Fresh planner statistics for what the batch hook filled (seed_notes does its own tables)."""
        models = []
        if apps.is_installed("meadow.distribution"):
            from meadow.distribution.models import NotePool, PoolTransition

            models += [NotePool, PoolTransition]
        if apps.is_installed("meadow.search"):
            from meadow.search.models import NoteSearchDoc

            models.append(NoteSearchDoc)
        tables_analyze(models)

    @staticmethod
    def _batch_hook(*, index: bool):
        """What publishing does after a note, for each batch of bulk-created notes (no publish service runs):
        public notes enter traffic pool 1 when they were published (as ``pool_enter`` would), and every note
        gets its search document (unless ``--no-search-index``; ``meadow reindex`` does it later)."""
        hooks = []
        if apps.is_installed("meadow.distribution"):
            from meadow.distribution.services import pools_enter_new

            hooks.append(
                lambda notes: pools_enter_new(notes=[(n.id, n.published_at) for n in notes if n.public])
            )
        if index and apps.is_installed("meadow.search"):
            from meadow.search.services import NoteDocCache, search_index_new

            cache = NoteDocCache()

            def index_batch(notes) -> None:
                cache.topics_learn((h.name, h.display_name) for n in notes for h in n.hashtags)
                search_index_new(
                    docs=[
                        cache.build(
                            note_id=n.id,
                            title=n.title,
                            body=n.body,
                            topics=tuple((h.name, h.display_name) for h in n.hashtags),
                            published=n.published_at,
                            likes=n.like_count,
                            saves=n.save_count,
                            comments=n.comment_count,
                        )
                        for n in notes
                    ]
                )

            hooks.append(index_batch)

        def run(notes) -> None:
            for hook in hooks:
                hook(notes)

        return run
