"""Generated test images (no fixtures, no network): a busy "photo", a QR code, a line of text."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont


def photo(seed: int = 1, size: tuple[int, int] = (360, 480)) -> Image.Image:
    """A busy, neutral picture: a colour gradient with random ellipses and rectangles (nothing to read)."""
    rnd = random.Random(seed)
    w, h = size
    top = tuple(rnd.randrange(256) for _ in range(3))
    bottom = tuple(rnd.randrange(256) for _ in range(3))
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / (h - 1)
        draw.line(
            [(0, y), (w, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    for _ in range(14):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        x1, y1 = x0 + rnd.randrange(40, w // 2), y0 + rnd.randrange(40, h // 3)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    return img


def qr(payload: str = "https://wa.me/60123456789", size: tuple[int, int] = (480, 640)) -> Image.Image:
    """A QR code (segno) pasted on a plain light card, as people post them."""
    import segno

    buf = io.BytesIO()
    segno.make(payload, error="m").save(buf, kind="png", scale=6, border=4)
    code = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    img = Image.new("RGB", size, (246, 238, 228))
    img.paste(code, ((size[0] - code.width) // 2, (size[1] - code.height) // 2))
    return img


def text(line: str = "vx: lily1998", size: tuple[int, int] = (480, 640), font_size: int = 44) -> Image.Image:
    """A line of text on a plain card (Pillow's bundled font; sizes need Pillow ≥ 10.1)."""
    img = Image.new("RGB", size, (250, 240, 230))
    ImageDraw.Draw(img).text(
        (40, size[1] // 2), line, fill=(25, 25, 25), font=ImageFont.load_default(font_size)
    )
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} | save if fmt == "JPEG" else save))
    return buf.getvalue()
