"""``meadow demo`` looks like a real Meadow: comments are written after their note and never in the future, titles and
covers do not repeat across authors, covers are text cards of the note's own title (set in a CJK font), and
"see what people say" under a product shows notes of the product's own topic."""

from __future__ import annotations

import io
import random
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageDraw

from meadow.engagement.models import Comment
from meadow.notes.models import TITLE_MAX, Note, NoteCategory, NoteImage
from meadow.web import demo_covers


@pytest.fixture
def demo(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    before = timezone.now()
    call_command("demo", users=40, notes=120, follows=4, no_progress=True, stdout=io.StringIO())
    return before, timezone.now()


@pytest.mark.django_db
def test_comments_come_after_their_note_and_never_from_the_future(demo):
    _before, after = demo
    comments = Comment.objects.select_related("note")
    assert comments.count() > 20
    assert not comments.filter(created_at__gt=after).exists()
    assert not comments.filter(created_at__lt=F("note__published_at")).exists()
    assert not comments.filter(created_at__gt=F("note__published_at") + timedelta(days=3, minutes=2)).exists()
    # spread out, not piled up at the moment the demo ran
    assert Counter(comments.values_list("created_at", flat=True)).most_common(1)[0][1] < 5


@pytest.mark.django_db
def test_titles_and_covers_do_not_repeat_across_authors(demo):
    from meadow.core.text import visible_length

    notes = list(Note.objects.all())
    titles = Counter(n.title for n in notes)
    assert len(notes) == 120
    assert titles.most_common(1)[0][1] == 1, titles.most_common(3)
    assert all(visible_length(n.title) <= TITLE_MAX for n in notes)
    covers = list(NoteImage.objects.filter(position=0).values_list("note__title", "thumb"))
    by_file = Counter(thumb for _title, thumb in covers)
    assert by_file.most_common(1)[0][1] == 1  # every note has its own cover: its own title on it


@pytest.mark.django_db
def test_product_tags_are_from_the_products_own_topic(demo):
    from meadow.store.models import NoteProductTag

    tags = list(NoteProductTag.objects.select_related("product__shop__owner", "note"))
    assert tags
    shop_topic = {"Kopi & Kaya": "food", "Kedai Batik Mei": "fashion", "Glow Lab": "beauty"}
    for tag in tags:
        topics = set(NoteCategory.objects.filter(note=tag.note).values_list("category__slug", flat=True))
        assert shop_topic[tag.product.shop.name] in topics, (tag.product.title, tag.note.title, topics)


def test_wrapping_breaks_cjk_anywhere_latin_at_spaces_and_keeps_punctuation():
    width = lambda s: len(s)  # noqa: E731  one unit a character
    assert demo_covers.wrap("周末探店咖啡拿铁", width=3, measure=width) == ["周末探", "店咖啡", "拿铁"]
    assert demo_covers.wrap("Best nasi lemak in KL", width=10, measure=width) == [
        "Best nasi",
        "lemak in",
        "KL",
    ]
    # a comma never starts a line: it stays with the character before it
    assert demo_covers.wrap("好吃，便宜", width=2, measure=width) == ["好", "吃，", "便宜"]
    # mixed text: the Latin word is not cut, the CJK around it breaks where it must
    assert demo_covers.wrap("吉隆坡kopi店", width=4, measure=width) == ["吉隆坡", "kopi", "店"]
    # a word wider than the line is cut rather than overflowing
    assert demo_covers.wrap("Supercalifragilistic", width=8, measure=width) == [
        "Supercal",
        "ifragili",
        "stic",
    ]


def test_a_cover_title_shrinks_rather_than_cutting_a_word():
    """The attack pass saw "apartmen/t" and "menabun/g" on Discover's covers: the first size that fit in five
    lines was taken even when a word had to be cut."""
    text = "Tips cari apartment murah dekat KL"
    measure_at = lambda px, s: len(s) * px / 10  # noqa: E731  a character is a tenth of the size wide
    px, lines = demo_covers.title_layout(text, width=60, measure_at=measure_at)
    assert px == 66  # "apartment" (9 characters) fits at 66 (59.4), not at 74 (66.6)
    assert " ".join(lines).split() == text.split()  # every word whole, in order
    # a word no size fits is still cut at the smallest size rather than overflowing
    px, lines = demo_covers.title_layout(
        "Supercalifragilisticexpialidocious", width=60, measure_at=measure_at
    )
    assert px == demo_covers.TITLE_SIZES[-1] and len(lines) > 1


def test_the_cover_font_draws_chinese():
    font = demo_covers.cjk_font()
    assert font.cjk, "no CJK font: install fonts-noto-cjk (CI does)"
    data = demo_covers.draw_text_cover("周末探店｜咖啡", tags=("咖啡",), rng=random.Random(1))
    from io import BytesIO

    img = Image.open(BytesIO(data))
    assert img.size == (600, 800)
    # the glyphs differ from one another (a font without them draws the same empty box for each)
    one = Image.new("L", (60, 60))
    two = Image.new("L", (60, 60))
    ImageDraw.Draw(one).text((2, 2), "咖", font=font.get(48), fill=255)
    ImageDraw.Draw(two).text((2, 2), "啡", font=font.get(48), fill=255)
    assert one.tobytes() != two.tobytes()


def test_without_a_cjk_font_the_cover_writes_pinyin(monkeypatch):
    monkeypatch.setattr(demo_covers, "cjk_font", lambda: demo_covers.CoverFont(None))
    assert demo_covers._readable("咖啡", demo_covers.cjk_font()) == "ka fei"
    assert demo_covers.draw_text_cover("咖啡 time", rng=random.Random(2))[:2] == b"\xff\xd8"  # still a JPEG
