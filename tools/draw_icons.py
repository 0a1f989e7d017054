"""Draw the installable web app's icons (Meadow's leaf logo, logo.svg) with Pillow, offline.

    .venv/bin/python tools/draw_icons.py

writes meadow/web/static/meadow/icons/: icon-192.png and icon-512.png (rounded square, "any" purpose),
maskable-192.png and maskable-512.png (full bleed, the leaf inside the 80 % safe zone a launcher may crop to a
circle) and apple-touch-icon.png (180 × 180, opaque: iOS draws its own corners). The PNGs are committed; run the
script again only when the logo changes. Drawn at 4× and scaled down, so the edges are smooth."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ORANGE = (0xE8, 0x77, 0x4A, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parents[1] / "meadow" / "web" / "static" / "meadow" / "icons"


def _bezier(p0, p1, p2, p3, steps=64):
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        yield (
            u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
            u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
        )


def _leaf(draw: ImageDraw.ImageDraw, *, origin: float, scale: float) -> None:
    """The logo's leaf and vein, in the logo's 64-unit box placed at ``origin`` with ``scale`` px a unit."""

    def at(x: float, y: float) -> tuple[float, float]:
        return (origin + x * scale, origin + y * scale)

    # M16 46 c0-15 9-26 30-28 -2 18-12 28-30 28z (relative cubic curves)
    first = list(_bezier((16, 46), (16, 31), (25, 20), (46, 18)))
    second = list(_bezier((46, 18), (44, 36), (34, 46), (16, 46)))
    draw.polygon([at(x, y) for x, y in first + second], fill=WHITE)
    draw.line([at(16, 46), at(31, 31)], fill=ORANGE, width=max(1, round(3.5 * scale)))
    radius = 3.5 * scale / 2
    for x, y in ((16, 46), (31, 31)):
        cx, cy = at(x, y)
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=ORANGE)


def draw(size: int, *, maskable: bool, opaque: bool = False) -> Image.Image:
    big = size * 4
    image = Image.new("RGBA", (big, big), ORANGE if (maskable or opaque) else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        # the safe zone is the centred circle of 80 % of the size: the leaf stays inside it
        box = big * 0.9  # the leaf reaches 21 of the 64 units from the centre: 30 % of the size, inside 40 %
        _leaf(pen, origin=(big - box) / 2, scale=box / 64)
    else:
        if not opaque:
            pen.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 16 / 64, fill=ORANGE)
        _leaf(pen, origin=0, scale=big / 64)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        draw(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)
    draw(180, maskable=False, opaque=True).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
