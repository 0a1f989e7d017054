"""Believable demo notes, fast: ``seed_notes`` bulk-creates notes in Chinese, English and Malay across the
interest categories, with covers drawn by Pillow (a pool of a few dozen, processed once by the real media
pipeline and shared between notes; ``tasks.note_media_purge`` never deletes a file another note still uses).

Every random choice is drawn first into a plan per note (the same for a given seed on either database); the plan is
then written with PostgreSQL's COPY as plain tuples (``meadow.core.bulk``: no model instances, note ids reserved
from the identity sequence) or, on SQLite, with ``bulk_create``. A 20,000-note profile of the earlier version
(bulk_create of model instances, then search indexing note by note) spent 74 % of its time in the search index's
``update_or_create`` (a savepoint, a SELECT and an INSERT per note) and most of the rest building model instances;
the callers' per-batch hook (``on_batch``) now writes pools and search documents for the batch in the same pass.

It lives in the web shell with ``meadow demo`` because it seeds more than one app."""

from __future__ import annotations

import queue
import random
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from meadow.accounts.models import User
from meadow.core.bulk import BulkTable, ids_reserve, tables_analyze
from meadow.notes import media
from meadow.notes.models import Hashtag, HashtagCategory, Note, NoteCategory, NoteHashtag, NoteImage
from meadow.notes.services import category_matcher, hashtags_resolve, note_category_scores
from meadow.notes.text import display_hashtag, normalize_hashtag

COVER_POOL = 12  # photo-like images after the cover (the cover itself is a text card of the note's title)
TEXT_COVERS = 240  # text-card covers drawn at most; beyond, a note shares the cover of its template title
BATCH = 2000


class SeededNote(NamedTuple):
    """A note just seeded, as the per-batch hook sees it (pools, search documents)."""

    id: int
    title: str
    body: str
    hashtags: tuple[Hashtag, ...]
    published_at: datetime
    public: bool
    like_count: int
    save_count: int
    comment_count: int


class _Plan(NamedTuple):
    author_id: int
    title: str
    body: str
    content_type: str
    public: bool
    when: datetime
    likes: int
    saves: int
    comment_count: int
    images: tuple[int, ...]  # cover-pool index per position
    hashtags: tuple[Hashtag, ...]
    comments: tuple[tuple[int, str, datetime], ...]  # (author id, body, created at)
    categories: list[tuple[int, float]]


# (category, language) → (titles, bodies, hashtags). Short, plausible, within every limit.
TEMPLATES: dict[str, dict[str, tuple[list[str], list[str], list[str]]]] = {
    "food": {
        "zh": (
            ["吉隆坡美食地图", "这家肉骨茶绝了", "周末探店｜咖啡", "槟城小吃合集"],
            [
                "排队一小时也值得！汤头浓郁，配油条一流。人均30令吉。",
                "藏在老街里的咖啡馆，拿铁香浓，甜品也不错。",
            ],
            ["吉隆坡美食", "探店", "肉骨茶", "咖啡", "美食分享"],
        ),
        "en": (
            ["Best nasi lemak in KL", "Weekend brunch spot", "Hawker food crawl"],
            [
                "Crispy chicken, fragrant rice and a sambal that bites back. Worth the queue.",
                "Sourdough, flat white and a quiet corner. Perfect lazy Sunday.",
            ],
            ["KLfood", "brunch", "foodie", "hawker"],
        ),
        "ms": (
            ["Nasi lemak paling sedap", "Kedai kopi lama", "Resipi kuih mudah"],
            [
                "Sambal pedas manis, ayam goreng rangup. Memang berbaloi!",
                "Kopi tarik dan roti bakar pagi-pagi.",
            ],
            ["makanan", "sedap", "nasilemak", "kopi"],
        ),
    },
    "travel": {
        "zh": (
            ["兰卡威三天两夜", "马六甲一日游攻略", "云顶避暑"],
            ["海水超清，日落绝美。附上行程和酒店推荐。", "古城慢慢逛，鸡场街夜市一定要去。"],
            ["旅行", "兰卡威", "马六甲", "攻略"],
        ),
        "en": (
            ["3 days in Penang", "Island hopping guide", "Cameron Highlands trip"],
            [
                "Street art, char kway teow and a sunrise hike. Full itinerary inside.",
                "Cool air, tea fields and strawberries. Go on a weekday.",
            ],
            ["travel", "penang", "itinerary", "holiday"],
        ),
        "ms": (
            ["Percutian ke Langkawi", "Jalan-jalan Melaka"],
            [
                "Pantai cantik, air jernih. Tips hotel murah di hujung nota.",
                "Bandar bersejarah, makanan pun sedap.",
            ],
            ["pelancongan", "cuti", "pantai"],
        ),
    },
    "beauty": {
        "zh": (
            ["油皮夏日护肤", "通勤淡妆教程", "平价口红试色"],
            ["控油保湿两不误，分享我的早晚护肤步骤。", "五分钟快速出门妆，新手也能学会。"],
            ["护肤", "美妆", "口红试色", "淡妆"],
        ),
        "en": (
            ["My 5-step skincare", "Everyday makeup"],
            ["Humid weather routine that finally works for me."],
            ["skincare", "makeup", "beauty"],
        ),
        "ms": (
            ["Rutin penjagaan kulit", "Solekan ringkas"],
            ["Produk murah tapi berkesan untuk kulit berminyak."],
            ["kecantikan", "solekan"],
        ),
    },
    "fitness": {
        "zh": (
            ["减脂一个月记录", "居家瑜伽15分钟"],
            ["每天半小时，坚持一个月瘦了4公斤。", "适合新手的晨间瑜伽流程。"],
            ["健身", "减脂", "瑜伽"],
        ),
        "en": (
            ["Couch to 5K", "Home workout plan"],
            ["Week 6 and I can finally run without stopping!"],
            ["fitness", "running", "workout"],
        ),
        "ms": (
            ["Senaman di rumah", "Larian pertama saya"],
            ["Mulakan perlahan-lahan, konsisten itu kunci."],
            ["senaman", "kecergasan"],
        ),
    },
    "fashion": {
        "zh": (
            ["一周通勤穿搭", "小个子显高穿搭"],
            ["基础款也能穿出高级感。", "高腰裤加短外套，比例瞬间变好。"],
            ["穿搭", "ootd", "通勤穿搭"],
        ),
        "en": (
            ["Raya outfit ideas", "Capsule wardrobe"],
            ["Ten pieces, thirty outfits."],
            ["ootd", "fashion"],
        ),
        "ms": (
            ["Idea baju raya", "Gaya tudung mudah"],
            ["Warna pastel untuk raya tahun ini."],
            ["fesyen", "bajuraya"],
        ),
    },
    "pets": {
        "zh": (
            ["我家猫咪的一天", "新手养狗指南"],
            ["睡觉、吃饭、拆家，一天的日常。", "疫苗、驱虫、社会化训练都要做。"],
            ["萌宠", "猫咪", "养狗"],
        ),
        "en": (
            ["Meet my rescue cat", "Puppy training tips"],
            ["She was shy for a week, now she owns the sofa."],
            ["cats", "pets", "puppy"],
        ),
        "ms": (
            ["Kucing saya yang manja", "Tips jaga anak kucing"],
            ["Comel sangat bila tidur."],
            ["kucing", "haiwan"],
        ),
    },
    "home": {
        "zh": (
            ["出租屋改造", "小厨房收纳"],
            ["花了800块，房间焕然一新。", "墙面收纳让台面清爽很多。"],
            ["家居", "收纳", "租房改造"],
        ),
        "en": (
            ["Small apartment makeover", "Plant corner"],
            ["Renter-friendly changes under RM500."],
            ["homedecor", "interior"],
        ),
        "ms": (
            ["Hiasan rumah bajet", "Dapur kecil kemas"],
            ["Idea murah untuk rumah sewa."],
            ["hiasanrumah", "dekorasi"],
        ),
    },
    "tech": {
        "zh": (
            ["新手机一周体验", "学生党电脑推荐"],
            ["续航和拍照都很能打，说说缺点。", "预算三千以内怎么选。"],
            ["数码", "手机测评"],
        ),
        "en": (
            ["Desk setup 2026", "Budget laptop review"],
            ["Everything I use to work from home."],
            ["tech", "desksetup"],
        ),
        "ms": (
            ["Telefon pintar murah terbaik", "Gajet wajib ada"],
            ["Bajet bawah RM1000."],
            ["teknologi", "gajet"],
        ),
    },
    "finance": {
        "zh": (
            ["月薪五千怎么存钱", "记账一年的变化"],
            ["分享我的三个账户存钱法。", "坚持记账，消费习惯变了很多。"],
            ["理财", "存钱"],
        ),
        "en": (
            ["How I budget", "Saving 30% of my salary"],
            ["The simple spreadsheet I use every month."],
            ["budgeting", "finance"],
        ),
        "ms": (
            ["Cara menabung", "Bajet bulanan saya"],
            ["Tips simpan duit untuk anak muda."],
            ["kewangan", "menabung"],
        ),
    },
    "education": {
        "zh": (
            ["雅思7.5备考经验", "高效学习方法"],
            ["三个月从6分到7.5，资料清单在这里。", "番茄钟加费曼学习法。"],
            ["学习", "雅思"],
        ),
        "en": (
            ["Study with me", "How I passed IELTS"],
            ["Pomodoro, flashcards and lots of tea."],
            ["study", "ielts"],
        ),
        "ms": (
            ["Tips belajar SPM", "Cara ulang kaji"],
            ["Jadual belajar yang saya guna."],
            ["pendidikan", "spm"],
        ),
    },
}
LANGS = ("zh", "en", "ms")
# Comments the demo writes under its notes (real rows, so a note's comment count matches its comment section).
DEMO_COMMENTS = {
    "zh": ("好喜欢这篇！", "收藏了，周末去试试", "求链接～", "太实用了，谢谢分享", "拍得真好看", "同款get"),
    "en": (
        "Love this!",
        "Saving it for the weekend",
        "So useful, thank you",
        "Great photos",
        "Need to try this",
    ),
    "ms": (
        "Cantiknya!",
        "Simpan dulu, nak cuba hujung minggu",
        "Terima kasih kongsi",
        "Bestnya",
        "Nak cuba!",
    ),
}
CONTENT_TYPES = [c for c, _label in Note.ContentType.choices]
# Ways one template title becomes many different notes' titles (each title at most TITLE_MAX long).
TITLE_VARIANTS = {
    "zh": [
        "",
        "｜第二弹",
        "｜真实测评",
        "｜新手必看",
        "｜周末篇",
        "｜省钱版",
        "｜吉隆坡",
        "｜槟城",
        "｜怡保",
        "｜干货",
    ],
    "en": ["", ": part 2", " (honest)", " in KL", " in Penang", ", again", " for beginners", " on a budget"],
    "ms": ["", " (bahagian 2)", " di KL", " di Penang", " untuk pemula", " bajet", " hujung minggu"],
}


class _Titles:
    """Titles that do not repeat: a template title with a variant no other note has used yet (then numbered),
    so no two authors post the same title, and no author posts one twice."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.count: dict[str, int] = {}

    def take(self, base: str, lang: str) -> str:
        from meadow.core.text import visible_length
        from meadow.notes.models import TITLE_MAX

        variants = TITLE_VARIANTS[lang][:]
        self.rng.shuffle(variants)
        for variant in variants:
            title = base + variant
            if title not in self.used and visible_length(title) <= TITLE_MAX:
                self.used.add(title)
                return title
        n = self.count.get(base, 1)
        while True:
            n += 1
            forms = [f"{base}（{n}）", f"{base}{n}"] if lang == "zh" else [f"{base} ({n})", f"{base} {n}"]
            fitting = [t for t in forms if visible_length(t) <= TITLE_MAX]
            if not fitting:  # too long to number: the number replaces the end (whole words in Latin script)
                room = TITLE_MAX - len(str(n)) - (0 if lang == "zh" else 1)
                cut = base[:room]
                if lang != "zh" and " " in cut and base[room : room + 1] not in ("", " "):
                    cut = cut.rsplit(" ", 1)[0]
                fitting = [f"{cut.rstrip()}{n}" if lang == "zh" else f"{cut.rstrip()} {n}"]
            if fitting[0] not in self.used:
                self.count[base] = n
                self.used.add(fitting[0])
                return fitting[0]


def _comment_time(rng: random.Random, *, when: datetime, now: datetime) -> datetime:
    """When a demo comment was written: after its note (a minute to three days later), never after ``now``."""
    span = min(timedelta(days=3), now - when) - timedelta(minutes=1)
    if span <= timedelta(0):
        return now
    return when + timedelta(minutes=1) + span * rng.random()


def _draw_cover(rng: random.Random, index: int) -> bytes:
    """A gradient with soft shapes in the shapes phones shoot (mostly 3:4, some square or landscape), so the
    waterfall looks like a real feed; costs a few ms."""
    import io

    w, h = rng.choice([(600, 800), (600, 800), (600, 800), (600, 600), (800, 600), (600, 720)])
    top = tuple(rng.randint(60, 240) for _ in range(3))
    bottom = tuple(rng.randint(20, 200) for _ in range(3))
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / h
        draw.line(
            [(0, y), (w, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    for _ in range(rng.randint(2, 5)):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(40, 220)
        color = tuple(rng.randint(0, 255) for _ in range(3))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=color)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


class _TextCovers:
    """The text-card cover of each title (``demo_covers``), drawn and stored once; past ``limit`` covers a note
    gets the cover of its template title. ``pool`` is the list the notes' image rows index into."""

    def __init__(self, pool: list, rng: random.Random, limit: int = TEXT_COVERS) -> None:
        self.pool, self.rng, self.limit = pool, rng, limit
        self.index: dict[str, int] = {}
        self.drawn = 0

    def cover(self, title: str, base: str, tags: tuple[str, ...]) -> int:
        key = title if (title in self.index or self.drawn < self.limit) else base
        if key not in self.index:
            from meadow.web.demo_covers import draw_text_cover

            renditions = media.image_process_bytes(
                draw_text_cover(key, tags=tags, rng=self.rng), field="images"
            )
            self.pool.append((renditions, media.store_renditions(renditions, saved=[])))
            self.index[key] = len(self.pool) - 1
            self.drawn += 1
        return self.index[key]


def _cover_pool(rng: random.Random, size: int) -> list[tuple[media.ImageRenditions, tuple[str, str]]]:
    pool = []
    saved: list[str] = []
    for i in range(size):
        renditions = media.image_process_bytes(_draw_cover(rng, i), field="images")
        pool.append((renditions, media.store_renditions(renditions, saved=saved)))
    return pool


def seed_notes(
    *,
    authors: list[User],
    count: int,
    rng: random.Random,
    progress: Callable[[int], None] | None = None,
    on_batch: Callable[[list[SeededNote]], None] | None = None,
    jobs: int = 1,
) -> int:
    """Create ``count`` published notes (mostly public, a few followers-only) by ``authors``, spread over the
    last 30 days, in zh/en/ms across the categories, with images, hashtags, categories and comments (as many
    rows as each note's comment count). Returns the number created. ``progress`` is called with the number done
    after each batch; ``on_batch`` with the batch's notes inside its transaction (to add pools or search
    documents in the same pass). ``jobs`` > 1 on PostgreSQL: that many batches are written at once, each by a
    thread on its own connection (PostgreSQL then works on several cores)."""
    if not authors or count <= 0:
        return 0
    pool = _cover_pool(rng, min(COVER_POOL, max(2, count // 20)))
    photos = len(pool)
    titles = _Titles(rng)
    covers = _TextCovers(pool, rng, limit=min(TEXT_COVERS, count))
    matcher = category_matcher()
    all_tags = {
        normalize_hashtag(t): display_hashtag(t)
        for langs in TEMPLATES.values()
        for _titles, _bodies, tags in langs.values()
        for t in tags
    }
    tag_rows = {h.name: h for h in hashtags_resolve(tags=list(all_tags.items()), matcher=matcher)}
    tag_categories: dict[str, list[int]] = {name: [] for name in tag_rows}
    for name, cid in HashtagCategory.objects.filter(hashtag__in=tag_rows.values()).values_list(
        "hashtag__name", "category_id"
    ):
        tag_categories[name].append(cid)
    # The templates repeat: each (title, body, hashtags) combination is composed and scored once.
    known: dict[
        tuple[str, str, tuple[str, ...]], tuple[str, tuple[Hashtag, ...], list[tuple[int, float]]]
    ] = {}

    def compose(title: str, body: str, tags: tuple[str, ...]):
        key = (title, body, tags)
        if key not in known:
            full = body + "\n" + " ".join(f"#{t}" for t in tags)
            known[key] = (
                full,
                tuple(tag_rows[normalize_hashtag(t)] for t in tags),
                list(
                    note_category_scores(
                        hashtag_categories=[c for t in tags for c in tag_categories[normalize_hashtag(t)]],
                        text=f"{title}\n{full}",
                        matcher=matcher,
                    )
                ),
            )
        return known[key]

    author_ids = [a.pk for a in authors]
    now = timezone.now()
    categories = list(TEMPLATES)

    def plan(size: int) -> list[_Plan]:
        plans = []
        for _ in range(size):
            category = rng.choice(categories)
            lang = rng.choice(LANGS)
            titles_of, bodies, tags = TEMPLATES[category][lang]
            chosen = tuple(rng.sample(tags, k=min(len(tags), rng.randint(1, 4))))
            base = rng.choice(titles_of)
            body, hashtags, scores = compose(base, rng.choice(bodies), chosen)
            title = titles.take(base, lang)
            when = now - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            comment_count = int(rng.paretovariate(1.5))
            cover = covers.cover(title, base, tuple(display_hashtag(t) for t in chosen))
            more = rng.choice((0, 0, 0, 1, 2))
            plans.append(
                _Plan(
                    author_id=rng.choice(author_ids),
                    title=title,
                    body=body,
                    content_type=rng.choice(CONTENT_TYPES),
                    public=rng.random() >= 0.05,
                    when=when,
                    likes=int(rng.paretovariate(1.2) * 3),
                    saves=int(rng.paretovariate(1.3) * 2),
                    comment_count=comment_count,
                    images=(cover, *(rng.randrange(photos) for _ in range(more))),
                    hashtags=hashtags,
                    comments=tuple(
                        (
                            rng.choice(author_ids),
                            rng.choice(DEMO_COMMENTS[lang]),
                            _comment_time(rng, when=when, now=now),
                        )
                        for _ in range(comment_count)
                    ),
                    categories=scores,
                )
            )
        return plans

    postgres = connection.vendor == "postgresql"
    write = _write_copy if postgres else _write_orm
    tables = _copy_tables() if postgres else {}

    def store(plans: list[_Plan]) -> int:
        with transaction.atomic():
            if postgres:  # a crash loses at most the last batches of a demo, never makes it inconsistent
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            ids = write(plans, pool, tables)
            if on_batch is not None:
                on_batch(
                    [
                        SeededNote(
                            id=note_id,
                            title=p.title,
                            body=p.body,
                            hashtags=p.hashtags,
                            published_at=p.when,
                            public=p.public,
                            like_count=p.likes,
                            save_count=p.saves,
                            comment_count=p.comment_count,
                        )
                        for note_id, p in zip(ids, plans, strict=True)
                    ]
                )
        return len(plans)

    batches = _ahead([min(BATCH, count - start) for start in range(0, count, BATCH)], plan)
    # Writer threads have their own connections, which cannot see what this one has not committed (the
    # authors, the topics): inside a transaction (tests) every batch is written on this connection.
    if postgres and jobs > 1 and not connection.in_atomic_block:
        done = _in_threads(batches, store, jobs=jobs, progress=progress)
    else:
        done = 0
        for plans in batches:
            done += store(plans)
            if progress is not None:
                progress(len(plans))  # the number just done: the callers' progress bars advance by it
    tables_analyze([Note, NoteImage, NoteHashtag, NoteCategory, _comment_model()])
    _recount(list(tag_rows.values()))
    return done


Pool = Sequence[tuple[media.ImageRenditions, tuple[str, str]]]


def _in_threads(
    batches: Iterator[list[_Plan]],
    store: Callable[[list[_Plan]], int],
    *,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> int:
    """``store`` each batch in a pool of ``jobs`` threads, at most two batches a thread queued; the first error
    stops the run (batches already committed stay: each is consistent on its own)."""
    done = 0
    pending: deque[Future[int]] = deque()

    def finish(future: Future[int]) -> None:
        nonlocal done
        n = future.result()
        done += n
        if progress is not None:
            progress(n)

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="demo-writer") as pool:
        try:
            for plans in batches:
                pending.append(pool.submit(store, plans))
                while len(pending) > 2 * jobs or (pending and pending[0].done()):
                    finish(pending.popleft())
            while pending:
                finish(pending.popleft())
        finally:
            for future in pending:
                future.cancel()
            barrier = threading.Barrier(jobs)

            def close() -> None:  # once in every thread of the pool: its connection is closed
                barrier.wait(timeout=600)
                connection.close()

            for _ in range(jobs):
                pool.submit(close)
    return done


def _ahead(sizes: list[int], plan: Callable[[int], list[_Plan]]) -> Iterator[list[_Plan]]:
    """``plan(size)`` for each size, computed one batch ahead in a thread (pure Python, no database): while
    this thread waits for PostgreSQL to take a batch (COPY, constraint checks at commit), the next is drawn."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for size in sizes:
                if not offer(plan(size)):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(exc)

    worker = threading.Thread(target=produce, name="demo-plans", daemon=True)
    worker.start()
    try:
        for _size in sizes:
            batch = ready.get()
            if isinstance(batch, BaseException):
                raise batch
            yield batch
    finally:
        stop.set()
        worker.join()


def _copy_tables() -> dict[str, BulkTable]:
    return {
        "note": BulkTable(
            Note,
            ["id", "author_id", "kind", "title", "body", "content_type", "visibility", "status",
             "created_at", "updated_at", "published_at", "like_count", "save_count", "comment_count"],
        ),
        "image": BulkTable(
            NoteImage,
            ["note_id", "position", "thumb", "detail", "width", "height", "thumb_width", "thumb_height",
             "color", "blurhash"],
        ),
        "hashtag": BulkTable(NoteHashtag, ["note_id", "hashtag_id", "position"]),
        "comment": BulkTable(_comment_model(), ["note_id", "author_id", "body", "created_at"]),
        "category": BulkTable(NoteCategory, ["note_id", "category_id", "score"]),
    }  # fmt: skip


def _write_copy(plans: list[_Plan], pool: Pool, tables: dict[str, BulkTable]) -> list[int]:
    """PostgreSQL: reserve the notes' ids, then COPY the notes and their rows as plain tuples."""
    ids = ids_reserve(Note, len(plans))
    image, public, followers = (
        str(Note.Kind.IMAGE),
        str(Note.Visibility.PUBLIC),
        str(Note.Visibility.FOLLOWERS),
    )
    published = str(Note.Status.PUBLISHED)
    tables["note"].copy(
        (note_id, p.author_id, image, p.title, p.body, p.content_type, public if p.public else followers,
         published, p.when, p.when, p.when, p.likes, p.saves, p.comment_count)
        for note_id, p in zip(ids, plans, strict=True)
    )  # fmt: skip
    covers = [
        (thumb, detail, r.width, r.height, r.thumb_width, r.thumb_height, r.color, r.blurhash)
        for r, (thumb, detail) in pool
    ]
    tables["image"].copy(
        (note_id, position, *covers[cover])
        for note_id, p in zip(ids, plans, strict=True)
        for position, cover in enumerate(p.images)
    )
    tables["hashtag"].copy(
        (note_id, tag.pk, position)
        for note_id, p in zip(ids, plans, strict=True)
        for position, tag in enumerate(p.hashtags)
    )
    tables["comment"].copy(
        (note_id, author, body, at)
        for note_id, p in zip(ids, plans, strict=True)
        for author, body, at in p.comments
    )
    tables["category"].copy(
        (note_id, cid, score) for note_id, p in zip(ids, plans, strict=True) for cid, score in p.categories
    )
    return ids


def _write_orm(plans: list[_Plan], pool: Pool, tables: dict[str, BulkTable]) -> list[int]:
    """Other databases (SQLite): the same rows with ``bulk_create``."""
    notes = Note.objects.bulk_create(
        [
            Note(
                author_id=p.author_id,
                kind=Note.Kind.IMAGE,
                title=p.title,
                body=p.body,
                content_type=p.content_type,
                visibility=Note.Visibility.PUBLIC if p.public else Note.Visibility.FOLLOWERS,
                status=Note.Status.PUBLISHED,
                created_at=p.when,
                updated_at=p.when,
                published_at=p.when,
                like_count=p.likes,
                save_count=p.saves,
                comment_count=p.comment_count,
            )
            for p in plans
        ],
        batch_size=BATCH,
    )
    if notes and notes[0].pk is None:  # backends that do not return ids from bulk inserts
        notes = list(Note.objects.order_by("-id")[: len(notes)])[::-1]
    images, links, comments, categories = [], [], [], []
    comment = _comment_model()
    for note, p in zip(notes, plans, strict=True):
        for position, cover in enumerate(p.images):
            r, (thumb, detail) = pool[cover]
            images.append(
                NoteImage(
                    note=note, position=position, thumb=thumb, detail=detail, width=r.width, height=r.height,
                    thumb_width=r.thumb_width, thumb_height=r.thumb_height, color=r.color, blurhash=r.blurhash,
                )
            )  # fmt: skip
        links += [NoteHashtag(note=note, hashtag=tag, position=i) for i, tag in enumerate(p.hashtags)]
        comments += [comment(note=note, author_id=a, body=b, created_at=at) for a, b, at in p.comments]
        categories += [NoteCategory(note=note, category_id=cid, score=s) for cid, s in p.categories]
    for model, objs in (
        (NoteImage, images),
        (NoteHashtag, links),
        (comment, comments),
        (NoteCategory, categories),
    ):
        model.objects.bulk_create(objs, batch_size=BATCH)
    return [note.pk for note in notes]


def _comment_model():
    from meadow.engagement.models import Comment

    return Comment


def _recount(hashtags: list[Hashtag]) -> None:
    from meadow.notes.services import hashtags_recount

    hashtags_recount(hashtag_ids=[h.pk for h in hashtags])
