"""Believable demo notes, fast: ``seed_notes`` bulk-creates notes in Chinese, English and Malay across the
interest categories, with covers drawn by Pillow (a pool of a few dozen, processed once by the real media
pipeline and shared between notes; ``tasks.note_media_purge`` never deletes a file another note still uses),
and comments under them. It lives in the web shell with ``meadow demo`` because it seeds more than one app."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from meadow.accounts.models import User
from meadow.notes import media
from meadow.notes.models import Hashtag, HashtagCategory, Note, NoteCategory, NoteHashtag, NoteImage
from meadow.notes.services import category_matcher, hashtags_resolve, note_category_scores
from meadow.notes.text import display_hashtag, normalize_hashtag

COVER_POOL = 36
BATCH = 2000


def _insert(model, objs: list) -> None:
    """Bulk insert rows whose ids are not needed back: PostgreSQL's COPY (several times faster than INSERT),
    else bulk_create."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=BATCH)
        return
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.get_internal_type().endswith("AutoField"))
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(
            f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        ) as copy,
    ):
        # Plain values go to COPY as they are (psycopg adapts them); only fields that compute or convert their
        # value (auto_now dates, JSON) take Django's slower path.
        slow = [
            getattr(f, "auto_now", False)
            or getattr(f, "auto_now_add", False)
            or f.get_internal_type() == "JSONField"
            for f in fields
        ]
        attnames = [f.attname for f in fields]
        for obj in objs:
            copy.write_row(
                [
                    f.get_db_prep_save(f.pre_save(obj, True), connection) if convert else obj.__dict__[name]
                    for f, name, convert in zip(fields, attnames, slow, strict=True)
                ]
            )


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
) -> int:
    """Create ``count`` published notes (mostly public, a few followers-only) by ``authors``, spread over the
    last 30 days, in zh/en/ms across the categories, with hashtags, categories and use counts. Returns the
    number created. ``progress`` is called with the number done after each batch."""
    if not authors or count <= 0:
        return 0
    pool = _cover_pool(rng, min(COVER_POOL, max(4, count // 20)))
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
    known: dict[tuple[tuple[str, ...], str], list[tuple[int, float]]] = {}

    def scores(tags: tuple[str, ...], text: str) -> list[tuple[int, float]]:
        """The templates repeat: score each (hashtags, text) combination once."""
        key = (tags, text)
        if key not in known:
            known[key] = list(
                note_category_scores(
                    hashtag_categories=[c for t in tags for c in tag_categories[normalize_hashtag(t)]],
                    text=text,
                    matcher=matcher,
                )
            )
        return known[key]

    now = timezone.now()
    done = 0
    categories = list(TEMPLATES)
    while done < count:
        size = min(BATCH, count - done)
        specs = []
        for _ in range(size):
            category = rng.choice(categories)
            lang = rng.choice(LANGS)
            titles, bodies, tags = TEMPLATES[category][lang]
            chosen = rng.sample(tags, k=min(len(tags), rng.randint(1, 4)))
            specs.append((category, lang, rng.choice(titles), rng.choice(bodies), chosen))
        with transaction.atomic():
            notes = Note.objects.bulk_create(
                [
                    Note(
                        author=rng.choice(authors),
                        kind=Note.Kind.IMAGE,
                        title=title,
                        body=body + "\n" + " ".join(f"#{t}" for t in tags),
                        content_type=rng.choice(CONTENT_TYPES),
                        visibility=Note.Visibility.FOLLOWERS
                        if rng.random() < 0.05
                        else Note.Visibility.PUBLIC,
                        status=Note.Status.PUBLISHED,
                        created_at=(when := now - timedelta(minutes=rng.randint(0, 30 * 24 * 60))),
                        updated_at=when,
                        published_at=when,
                        like_count=int(rng.paretovariate(1.2) * 3),
                        save_count=int(rng.paretovariate(1.3) * 2),
                        comment_count=int(rng.paretovariate(1.5)),
                    )
                    for _c, _l, title, body, tags in specs
                ]
            )
            if notes and notes[0].pk is None:  # backends that do not return ids from bulk inserts
                notes = list(Note.objects.order_by("-id")[: len(notes)])[::-1]
            images, links = [], []
            for note, (_c, _l, _t, _b, tags) in zip(notes, specs, strict=True):
                for position in range(rng.choice((1, 1, 1, 2, 3))):
                    r, (thumb, detail) = rng.choice(pool)
                    images.append(
                        NoteImage(
                            note=note, position=position, thumb=thumb, detail=detail, width=r.width,
                            height=r.height, thumb_width=r.thumb_width, thumb_height=r.thumb_height,
                            color=r.color, blurhash=r.blurhash,
                        )
                    )  # fmt: skip
                for position, tag in enumerate(tags):
                    links.append(
                        NoteHashtag(note=note, hashtag=tag_rows[normalize_hashtag(tag)], position=position)
                    )
            _insert(NoteImage, images)
            _insert(NoteHashtag, links)
            from meadow.engagement.models import Comment

            _insert(
                Comment,
                [
                    Comment(
                        note=note,
                        author=rng.choice(authors),
                        body=rng.choice(DEMO_COMMENTS[lang]),
                        created_at=note.created_at + timedelta(minutes=rng.randint(1, 3 * 24 * 60)),
                    )
                    for note, (_c, lang, _t, _b, _tags) in zip(notes, specs, strict=True)
                    for _ in range(note.comment_count)
                ],
            )
            _insert(
                NoteCategory,
                [
                    NoteCategory(note=note, category_id=cid, score=score)
                    for note, (_c, _l, _t, _b, tags) in zip(notes, specs, strict=True)
                    for cid, score in scores(tuple(tags), f"{note.title}\n{note.body}")
                ],
            )
        done += size
        if progress is not None:
            progress(size)  # the number just done: the callers' progress bars advance by it
    _recount(list(tag_rows.values()))
    return done


def _recount(hashtags: list[Hashtag]) -> None:
    from meadow.notes.services import hashtags_recount

    hashtags_recount(hashtag_ids=[h.pk for h in hashtags])
