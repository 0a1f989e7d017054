"""The share card (分享卡片): a PNG for other apps with the note's cover, title, author and link, drawn with Pillow.

CJK text needs a CJK font. No PyPI package on our lists ships one, so the card uses the first system font found
from ``MEADOW_SHARE_CARD_FONTS`` (default: Debian's fonts-noto-cjk, which ``.ci/run`` installs); without one
it falls back to Pillow's built-in font and draws Latin text only (other characters are dropped, never tofu).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont, ImageOps

WIDTH, HEIGHT = 750, 1000
COVER_HEIGHT = 720
ACCENT = (232, 119, 74)
FONT_CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
]


@lru_cache(maxsize=8)
def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """(font, supports_cjk)."""
    for path in getattr(settings, "MEADOW_SHARE_CARD_FONTS", None) or FONT_CANDIDATES:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size), True
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size), False
    except TypeError:  # very old Pillow
        return ImageFont.load_default(), False


def _latin_only(text: str) -> str:
    return "".join(ch for ch in text if ord(ch) < 0x250).strip()


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int, lines: int) -> list[str]:
    """Wrap by character (works for CJK and Latin alike), at most ``lines`` lines with an ellipsis."""
    out: list[str] = []
    current = ""
    for ch in text.replace("\n", " "):
        if draw.textlength(current + ch, font=font) > width:
            out.append(current)
            current = ch.lstrip()
            if len(out) == lines:
                out[-1] = out[-1][:-1] + "…"
                return out
        else:
            current += ch
    if current:
        out.append(current)
    return out[:lines]


def share_card_png(*, note, url: str) -> bytes:
    card = Image.new("RGB", (WIDTH, HEIGHT), (255, 250, 246))
    cover = note.cover
    if cover is not None and cover.detail:
        try:
            with cover.detail.open("rb") as fh, Image.open(fh) as img:
                fitted = ImageOps.fit(img.convert("RGB"), (WIDTH, COVER_HEIGHT))
                card.paste(fitted, (0, 0))
        except (OSError, ValueError):
            card.paste(_hex(cover.color), (0, 0, WIDTH, COVER_HEIGHT))
    else:
        card.paste(ACCENT, (0, 0, WIDTH, COVER_HEIGHT))
    draw = ImageDraw.Draw(card)
    title_font, cjk = _font(40)
    small_font, _cjk = _font(26)
    clean = (lambda s: s) if cjk else _latin_only
    title = clean(note.title or note.body or "")
    y = COVER_HEIGHT + 28
    for line in _fit(draw, title, title_font, WIDTH - 64, 2):
        draw.text((32, y), line, font=title_font, fill=(34, 28, 24))
        y += 52
    author = clean(f"{note.author.display_name} @{note.author.handle}") or f"@{note.author.handle}"
    draw.text((32, HEIGHT - 118), author, font=small_font, fill=(110, 100, 92))
    draw.rounded_rectangle((32, HEIGHT - 70, WIDTH - 32, HEIGHT - 26), radius=22, fill=ACCENT)
    link = _fit(draw, url, small_font, WIDTH - 110, 1)
    draw.text((54, HEIGHT - 62), link[0] if link else "", font=small_font, fill=(255, 255, 255))
    out = io.BytesIO()
    card.save(out, "PNG", optimize=True)
    return out.getvalue()


def _hex(value: str) -> tuple[int, int, int]:
    value = (value or "#cccccc").lstrip("#")
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return (204, 204, 204)
