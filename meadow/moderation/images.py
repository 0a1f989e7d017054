"""What an image hides: QR codes, text (OCR) and explicit content, plus its perceptual hash. Plain Python
(Pillow, numpy, OpenCV, onnxruntime); no Django.

Every model ships inside its wheel and is loaded lazily, once per process (module-level cache): OpenCV's
``QRCodeDetector``; RapidOCR (``rapidocr-onnxruntime``: PP-OCRv4 detection + recognition, Chinese and Latin);
NudeNet's 320n detector. Nothing is downloaded at run time.

Images are downscaled before the models see them (OCR: longest side :data:`OCR_MAX_SIDE`; NudeNet resizes to
320 itself), and a *flat* image (almost one colour) carries nothing to read, so it is skipped early.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
from PIL import Image

SCAN_MAX_SIDE = 1440  # every check sees at most this (the detail rendition's width)
OCR_MAX_SIDE = 960
OCR_MIN_CONFIDENCE = 0.5
FLAT_RANGE = 24  # grey-level range below which an image is "flat" (one colour: nothing to read or hash)

_lock = threading.Lock()
_models: dict[str, Any] = {}


def _model(name: str, factory) -> Any:
    model = _models.get(name)
    if model is None:
        with _lock:
            model = _models.get(name)
            if model is None:
                model = _models[name] = factory()
    return model


# --- helpers --------------------------------------------------------------------------------------------------------
def to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def downscale(img: Image.Image, max_side: int) -> Image.Image:
    w, h = img.size
    if max(w, h) <= max_side:
        return img
    scale = max_side / max(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)


def is_flat(img: Image.Image) -> bool:
    """Almost one colour (the darkest and lightest grey levels are close): no QR code, text or body part can
    hide in it, and its fingerprint would match every other flat image. A small line of text on a plain
    background is *not* flat (its extremes are far apart)."""
    extrema = cast(tuple[int, int], img.convert("L").getextrema())
    return extrema[1] - extrema[0] < FLAT_RANGE


# --- QR codes -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QRCode:
    payload: str  # "" when a code was located but could not be decoded
    box: tuple[int, int, int, int]  # x, y, w, h in the scanned image


def find_qr_codes(img: Image.Image) -> list[QRCode]:
    """QR codes in ``img`` (OpenCV). A located but unreadable code is reported with an empty payload."""
    import cv2

    grey = np.asarray(img.convert("L"))
    try:  # a detector is cheap to make; one per call keeps threads apart
        ok, payloads, points, _ = cv2.QRCodeDetector().detectAndDecodeMulti(grey)
    except cv2.error:
        ok, payloads, points = False, (), None
    if not ok or points is None:
        return []
    out = []
    for payload, quad in zip(payloads, points, strict=False):
        xs, ys = quad[:, 0], quad[:, 1]
        box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min()))
        out.append(QRCode(payload=payload or "", box=box))
    return out


# --- OCR ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    score: float
    box: tuple[int, int, int, int]  # x, y, w, h in the original image's pixels


@dataclass(frozen=True, slots=True)
class ImageText:
    """The text read from an image: lines in reading order joined into one string (a space between boxes on
    one row, a newline between rows), with each line's span in :attr:`text`."""

    text: str
    lines: tuple[TextLine, ...]
    spans: tuple[tuple[int, int], ...]

    def line_at(self, offset: int) -> TextLine | None:
        for line, (s, e) in zip(self.lines, self.spans, strict=True):
            if s <= offset < e:
                return line
        return None


def _ocr_engine():
    from rapidocr_onnxruntime import RapidOCR

    # Detection on the image as given (we downscale first; the default *upscales* to a 736-pixel short
    # side), no angle classifier (text in notes is upright): ~40 % faster, same reads on our tests.
    return RapidOCR(det_limit_type="max", det_limit_side_len=OCR_MAX_SIDE, use_cls=False)


def read_text(img: Image.Image, *, max_side: int = OCR_MAX_SIDE) -> ImageText:
    """OCR (RapidOCR, PP-OCRv4, offline). Lines below :data:`OCR_MIN_CONFIDENCE` are dropped."""
    engine = _model("ocr", _ocr_engine)
    small = downscale(to_rgb(img), max_side)
    scale = img.size[0] / small.size[0]
    result, _elapsed = engine(np.asarray(small)[:, :, ::-1])  # RapidOCR expects OpenCV's BGR order
    lines: list[TextLine] = []
    for quad, text, score in result or ():
        score = float(score)
        text = str(text).strip()
        if not text or score < OCR_MIN_CONFIDENCE:
            continue
        xs = [p[0] * scale for p in quad]
        ys = [p[1] * scale for p in quad]
        box = (int(min(xs)), int(min(ys)), int(max(xs) - min(xs)), int(max(ys) - min(ys)))
        lines.append(TextLine(text=text, score=score, box=box))
    return join_lines(lines)


def join_lines(lines: Iterable[TextLine]) -> ImageText:
    """Reading order: rows top to bottom (a box joins a row when its centre is within half a line height of
    the row's first box), boxes left to right within a row."""

    def centre(ln: TextLine) -> float:
        return ln.box[1] + ln.box[3] / 2

    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=centre):
        if rows and abs(centre(line) - centre(rows[-1][0])) < max(line.box[3], rows[-1][0].box[3], 1) / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    parts: list[str] = []
    ordered: list[TextLine] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for r, row in enumerate(rows):
        for i, line in enumerate(sorted(row, key=lambda ln: ln.box[0])):
            if r or i:
                parts.append(" " if i else "\n")
                pos += 1
            parts.append(line.text)
            ordered.append(line)
            spans.append((pos, pos + len(line.text)))
            pos += len(line.text)
    return ImageText(text="".join(parts), lines=tuple(ordered), spans=tuple(spans))


# --- explicit images ------------------------------------------------------------------------------------------------
EXPLICIT_CLASSES = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)


@dataclass(frozen=True, slots=True)
class BodyPart:
    label: str
    score: float
    box: tuple[int, int, int, int]


class ExplicitImageDetector(Protocol):
    """Finds body parts in an image; :func:`explicit_verdict` applies the threshold policy."""

    name: str

    def detect(self, img: Image.Image) -> list[BodyPart]: ...


class NudeNetDetector:
    """NudeNet 3 (its 320n ONNX model ships in the ``nudenet`` wheel; onnxruntime on CPU)."""

    name = "nudenet-320n"

    def __init__(self) -> None:
        from nudenet import NudeDetector

        self._detector = NudeDetector()

    def detect(self, img: Image.Image) -> list[BodyPart]:
        # NudeNet pads to a square and resizes to 320 itself; a smaller input only saves the resize cost.
        small = downscale(to_rgb(img), 640)
        bgr = np.ascontiguousarray(np.asarray(small)[:, :, ::-1])  # what cv2.imread would give it
        scale = img.size[0] / small.size[0]
        return [
            BodyPart(
                label=str(d["class"]),
                score=float(d["score"]),
                box=tuple(int(v * scale) for v in d["box"]),  # type: ignore[arg-type]
            )
            for d in self._detector.detect(bgr)
        ]


def explicit_detector() -> ExplicitImageDetector:
    """This process's detector (NudeNet), loaded once."""
    return _model("nsfw", NudeNetDetector)


@dataclass(frozen=True, slots=True)
class ExplicitVerdict:
    flagged: bool
    score: float  # the highest score among the explicit classes (0 when none)
    parts: tuple[BodyPart, ...]  # the explicit parts at or above the threshold


def explicit_verdict(parts: Sequence[BodyPart], *, threshold: float) -> ExplicitVerdict:
    """The threshold policy: flagged when an *exposed* genitalia/breast/buttocks/anus part scores at least
    ``threshold``. Covered parts, faces and feet never flag (a skin-coloured blob scores ~0.44)."""
    explicit = [p for p in parts if p.label in EXPLICIT_CLASSES]
    score = max((p.score for p in explicit), default=0.0)
    over = tuple(p for p in explicit if p.score >= threshold)
    return ExplicitVerdict(flagged=bool(over), score=score, parts=over)


# --- perceptual hash ------------------------------------------------------------------------------------------------
_DCT_N = 32


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0, :] = np.sqrt(1 / n)
    return m


_DCT = _dct_matrix(_DCT_N)


def phash(img: Image.Image) -> int:
    """64-bit perceptual hash (pHash): the signs of the 8×8 lowest frequencies of a 32×32 grey DCT against
    their median. Survives re-encoding, resizing and mild colour changes; as :mod:`imagehash` computes it."""
    grey = np.asarray(img.convert("L").resize((_DCT_N, _DCT_N), Image.Resampling.LANCZOS), dtype=np.float64)
    low = (_DCT @ grey @ _DCT.T)[:8, :8]
    bits = (low > np.median(low)).flatten()
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return value
