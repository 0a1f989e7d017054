"""Demo covers that look like the notes they belong to: text cards, the title set large on a soft colour (how many
XiaoHongShu notes look), drawn offline by Pillow.

The font is found at run time with ``fc-match`` (Debian's fonts-noto-cjk gives Noto Sans CJK; CI installs it). When
no font with CJK glyphs is found the card is still drawn, with Pillow's own font and the Chinese written in pinyin
(``pypinyin``), so no card ever shows empty boxes; :func:`cjk_font` says which one is used.

Line breaking: CJK text may break between any two characters, Latin and Malay only at spaces (a word longer than a
line is cut); closing punctuation never starts a line and opening punctuation never ends one (kinsoku)."""

from __future__ import annotations

import io
import logging
import random
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

# Soft backgrounds with their ink (each pair has a contrast of at least 7:1).
PALETTES = [
    ("#fdf1e7", "#5a2d0c"),
    ("#fef6d8", "#4a3b00"),
    ("#e9f5ec", "#1f4a2c"),
    ("#e7f0fb", "#17365d"),
    ("#f7e9f2", "#5c1d43"),
    ("#f1ecfa", "#3b2466"),
    ("#fff0ee", "#6b1f17"),
    ("#eef4f2", "#23403a"),
]
NO_LINE_START = set("，。、！？：；）」』】》〉”’,.!?:;)]}%·｜|…")
NO_LINE_END = set("（「『【《〈“‘([{")


class CoverFont:
    """The fonts a cover is drawn with; ``cjk`` says whether they have CJK glyphs."""

    def __init__(self, path: str | None, index: int = 0) -> None:
        self.path, self.index = path, index
        self.cjk = path is not None

    def get(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if self.path is not None:
            return ImageFont.truetype(self.path, size=size, index=self.index)
        return ImageFont.load_default(size=size)


def _fc_match(pattern: str) -> tuple[str, int] | None:
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}|%{index}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = out.partition("|")
    if not path or not Path(path).is_file():
        return None
    return path, int(index or 0)


def _has_cjk(path: str, index: int) -> bool:
    try:
        font = ImageFont.truetype(path, size=32, index=index)
    except OSError:
        return False
    # a font without the glyphs draws the same box (.notdef) for every missing character

    def drawn(ch: str) -> bytes:
        img = Image.new("L", (48, 48))
        ImageDraw.Draw(img).text((4, 4), ch, font=font, fill=255)
        return img.tobytes()

    first, second = drawn("咖"), drawn("啡")
    return any(first) and first != second


@cache
def cjk_font() -> CoverFont:
    """Noto Sans CJK SC (bold if there is one) found by fontconfig, else any font fontconfig offers for Chinese,
    else Pillow's built-in font without CJK (the covers then write Chinese in pinyin; a warning says so)."""
    for pattern in ("Noto Sans CJK SC:style=Bold", "Noto Sans CJK SC", "sans-serif:lang=zh-cn"):
        found = _fc_match(pattern)
        if found and _has_cjk(*found):
            return CoverFont(*found)
    log.warning(
        "No CJK font found (fc-match 'Noto Sans CJK SC'): demo covers write Chinese in pinyin. "
        "Install fonts-noto-cjk for Chinese text cards."
    )
    return CoverFont(None)


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """Units a line may break between: each CJK character (with the punctuation that may not start a line
    attached), and each Latin word with its following space."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if _is_cjk(ch) or ch.isspace():
            if word:
                tokens.append(word)
                word = ""
            if ch.isspace():
                if tokens:
                    tokens[-1] += " "
                continue
            if (ch in NO_LINE_START and tokens) or (tokens and tokens[-1] and tokens[-1][-1] in NO_LINE_END):
                tokens[-1] += ch
            else:
                tokens.append(ch)
        else:
            if ch in NO_LINE_START and not word and tokens:
                tokens[-1] += ch
            else:
                word += ch
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, *, width: float, measure) -> list[str]:
    """Greedy line breaking of ``text`` into lines at most ``width`` wide (``measure(str) -> float``)."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        candidate = line + token
        if not line or measure(candidate.rstrip()) <= width:
            line = candidate
        else:
            lines.append(line.rstrip())
            line = token
        while measure(line.rstrip()) > width and len(line.rstrip()) > 1:  # a word wider than the line: cut it
            cut = len(line) - 1
            while cut > 1 and measure(line[:cut]) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


TITLE_SIZES = (96, 84, 74, 66, 58, 50, 44, 38)


def title_layout(
    text: str, *, width: float, measure_at: Callable[[int, str], float], max_lines: int = 5
) -> tuple[int, list[str]]:
    """The largest of ``TITLE_SIZES`` at which the title fits in ``max_lines`` lines without cutting a word
    (``measure_at(size, s)`` is the width of ``s`` at that size): a long Malay or English word such as
    "apartment" shrinks the title rather than breaking as "apartmen/t". At the smallest size a word wider than
    the line is still cut (``wrap``), since nothing smaller is readable."""
    words = [t.rstrip() for t in _tokens(text) if t.strip()]
    px, lines = TITLE_SIZES[-1], [text]
    for px in TITLE_SIZES:
        lines = wrap(text, width=width, measure=lambda s, p=px: measure_at(p, s))
        if len(lines) <= max_lines and all(measure_at(px, w) <= width for w in words):
            break
    return px, lines


def _readable(text: str, font: CoverFont) -> str:
    if font.cjk or not any(_is_cjk(ch) for ch in text):
        return text
    from pypinyin import lazy_pinyin

    return " ".join(part.strip() for part in lazy_pinyin(text) if part.strip())


def draw_text_cover(
    title: str, *, tags: tuple[str, ...] = (), rng: random.Random, size: tuple[int, int] = (600, 800)
) -> bytes:
    """A text card: ``title`` large and wrapped, the note's topics small underneath, on a soft colour. JPEG."""
    font = cjk_font()
    w, h = size
    background, ink = rng.choice(PALETTES)
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    margin = int(w * 0.11)
    text = _readable(title, font)
    # the largest size at which the title fits in five lines with no word cut
    px, lines = title_layout(
        text, width=w - 2 * margin, measure_at=lambda size, s: draw.textlength(s, font=font.get(size))
    )
    big = font.get(px)
    line_h = int(px * 1.3)
    top = max(margin + px, (h - 140 - len(lines) * line_h) // 2)  # centred above the topics, never cut
    draw.rectangle([margin, top - int(px * 0.6), margin + int(px * 0.9), top - int(px * 0.45)], fill=ink)
    for i, line in enumerate(lines):
        draw.text((margin, top + i * line_h), line, font=big, fill=ink)
    if tags:
        small = font.get(30)
        tag_line = "  ".join(f"#{_readable(t, font)}" for t in tags[:3])
        tag_lines = wrap(tag_line, width=w - 2 * margin, measure=lambda s: draw.textlength(s, font=small))[:2]
        for i, line in enumerate(tag_lines):
            draw.text((margin, h - margin - (len(tag_lines) - i) * 42), line, font=small, fill=ink)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()
