"""The note media pipeline: images and video, validated from their content, never their names.

Images (JPEG, PNG, WebP, HEIC/HEIF) are processed synchronously while the note is published: every image of
the note is decoded and checked before anything is stored, so one bad file refuses the whole note and leaves no
row and no file behind. Each becomes two WebP renditions (grid thumbnail 540 px wide, detail 1440 px wide,
aspect kept), upright (EXIF orientation applied) and without metadata (a fresh encode carries no EXIF/GPS),
with a placeholder (dominant colour and a blurhash).

Video (MP4/MOV) is checked synchronously (container magic, size, duration through the ffmpeg binary that the
``imageio-ffmpeg`` package ships) and stored as uploaded; the note stays in ``media_state=processing`` (seen only
by its author) until ``tasks.note_video_process`` has remuxed it without metadata and taken the poster frame.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import tempfile
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

import meadow.core.images  # noqa: F401 - registers the HEIC/HEIF opener
from meadow.core.errors import ValidationFailed

IMAGE_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "HEIF", "HEIC"}
THUMB_WIDTH = 540
DETAIL_WIDTH = 1440
MAX_ASPECT = 4  # taller than 1:4 is cropped in renditions (long screenshots) to keep files sane
WEBP_QUALITY = 82
WEBP_METHOD = 2  # libwebp effort 0–6: 2 is ~2.4× faster than 4 for the same size at this quality

try:
    import blurhash as _blurhash
except ImportError:  # pragma: no cover - optional: the dominant colour is the fallback placeholder
    _blurhash = None


@dataclass
class ImageRenditions:
    thumb: bytes
    detail: bytes
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    color: str
    blurhash: str


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f}".rstrip("0").rstrip(".")


def _read(upload, *, field: str, max_bytes: int, code: str) -> bytes:
    size = getattr(upload, "size", None)
    if not size:
        raise ValidationFailed(_("The file is empty."), field=field, code="empty_file")
    if size > max_bytes:
        raise ValidationFailed(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": _mb(size), "limit": _mb(max_bytes)},
            field=field,
            code=code,
        )
    upload.seek(0)
    return upload.read()


def _target(size: tuple[int, int], width: int) -> tuple[int, int]:
    w, h = size
    if w > width:
        h, w = max(1, round(h * width / w)), width
    return w, h


def image_process(upload, *, field: str = "images") -> ImageRenditions:
    """Validate one uploaded image and make its renditions, or raise ``ValidationFailed`` (bad_image_type,
    image_too_large, image_too_big for too many pixels, bad_image for corrupt files)."""
    data = _read(upload, field=field, max_bytes=settings.MEADOW_IMAGE_MAX_BYTES, code="image_too_large")
    return image_process_bytes(data, field=field)


def image_process_bytes(data: bytes, *, field: str = "images") -> ImageRenditions:
    max_pixels = settings.MEADOW_IMAGE_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data)) as source:
            fmt = (source.format or "").upper()
            if fmt not in IMAGE_FORMATS:
                raise ValidationFailed(
                    _("Please upload JPEG, PNG, WebP or HEIC images."), field=field, code="bad_image_type"
                )
            if source.width * source.height > max_pixels:
                raise ValidationFailed(_("The image has too many pixels."), field=field, code="image_too_big")
            if fmt in {"JPEG", "MPO"}:
                # Decode at the smallest DCT scale still ≥ the detail rendition: 2–8× less work for phone photos.
                source.draft("RGB", (DETAIL_WIDTH, DETAIL_WIDTH))
            source.load()  # a truncated or corrupt file fails here
            upright = ImageOps.exif_transpose(source)
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
            upright.mode == "P" and "transparency" in upright.info
        )
        img = upright.convert("RGBA" if has_alpha else "RGB")
        w, h = img.size
        if h > w * MAX_ASPECT:
            img = img.crop((0, 0, w, w * MAX_ASPECT))
        detail = (
            img.resize(_target(img.size, DETAIL_WIDTH), Image.Resampling.LANCZOS) if w > DETAIL_WIDTH else img
        )
        thumb = detail.resize(_target(detail.size, THUMB_WIDTH), Image.Resampling.LANCZOS)
        detail_bytes, thumb_bytes = io.BytesIO(), io.BytesIO()
        detail.save(
            detail_bytes, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD
        )  # fresh encode: no EXIF, no GPS
        thumb.save(thumb_bytes, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        color, hash_ = placeholder(thumb)
    except ValidationFailed:
        raise
    except Image.DecompressionBombError as exc:
        raise ValidationFailed(
            _("The image has too many pixels."), field=field, code="image_too_big"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ValidationFailed(
            _("This file is not an image we can read. Please upload JPEG, PNG, WebP or HEIC images."),
            field=field,
            code="bad_image",
        ) from exc
    return ImageRenditions(
        thumb=thumb_bytes.getvalue(),
        detail=detail_bytes.getvalue(),
        width=detail.width,
        height=detail.height,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        color=color,
        blurhash=hash_,
    )


def placeholder(img: Image.Image) -> tuple[str, str]:
    """(dominant colour ``#rrggbb``, blurhash or "") of an image, from a 32 px copy."""
    small = img.convert("RGB")
    small.thumbnail((32, 32))
    quantized = small.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    counts: list[tuple[int, int]] = sorted(quantized.getcolors() or [], reverse=True)  # type: ignore[arg-type]
    palette = quantized.getpalette() or [204, 204, 204]
    index = counts[0][1] if counts else 0
    r, g, b = palette[index * 3 : index * 3 + 3]
    hash_ = ""
    if _blurhash is not None:
        try:
            with warnings.catch_warnings():  # blurhash-python uses Image.getdata (deprecated in Pillow 12)
                warnings.simplefilter("ignore", DeprecationWarning)
                hash_ = _blurhash.encode(small, x_components=4, y_components=3)
        except Exception:
            hash_ = ""
    return f"#{r:02x}{g:02x}{b:02x}", hash_


# --- storage -------------------------------------------------------------------------------------------------------
def _media_dir() -> str:
    now = timezone.now()
    return f"notes/{now:%Y/%m}"


def store_renditions(renditions: ImageRenditions, *, saved: list[str]) -> tuple[str, str]:
    """Save both renditions through the storage API; every saved name is appended to ``saved`` (for cleanup)."""
    stem = f"{_media_dir()}/{uuid.uuid4().hex}"
    thumb = default_storage.save(f"{stem}_t.webp", ContentFile(renditions.thumb))
    saved.append(thumb)
    detail = default_storage.save(f"{stem}_d.webp", ContentFile(renditions.detail))
    saved.append(detail)
    return thumb, detail


def delete_files(names: list[str]) -> None:
    for name in names:
        if name:
            with contextlib.suppress(OSError):  # best effort; the purge task retries
                default_storage.delete(name)


# --- video ---------------------------------------------------------------------------------------------------------
@dataclass
class VideoProbe:
    duration: float
    width: int
    height: int
    container: str


_MP4_BRANDS = (b"ftyp",)
_QT_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff_video(head: bytes) -> str | None:
    """``"mp4"``/``"mov"`` from the first bytes (ISO-BMFF box header), else None."""
    if len(head) < 12:
        return None
    box = head[4:8]
    if box in _MP4_BRANDS:
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if box in _QT_ATOMS:
        return "mov"
    return None


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO_STREAM = re.compile(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})")


def probe_video(path: str) -> VideoProbe | None:
    """Duration and size of a video file by asking ffmpeg to read its header; None if it is no video."""
    try:
        run = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    err = run.stderr.decode("utf-8", "replace")
    duration = _DURATION.search(err)
    stream = _VIDEO_STREAM.search(err)
    if not duration or not stream:
        return None
    hours, minutes, seconds = duration.groups()
    total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return VideoProbe(duration=total, width=int(stream.group(1)), height=int(stream.group(2)), container="")


@contextmanager
def local_copy(upload):
    """A path on local disk for an upload (its temporary file when Django already wrote one)."""
    path = getattr(upload, "temporary_file_path", None)
    if callable(path):
        upload.seek(0)
        yield path()
        return
    with tempfile.NamedTemporaryFile(suffix=".video") as tmp:
        upload.seek(0)
        for chunk in upload.chunks():
            tmp.write(chunk)
        tmp.flush()
        yield tmp.name


def video_validate(upload, *, field: str = "video") -> VideoProbe:
    """Check a video upload: size, container from its magic bytes, a readable video stream, duration."""
    size = getattr(upload, "size", None)
    if not size:
        raise ValidationFailed(_("The file is empty."), field=field, code="empty_file")
    limit = settings.MEADOW_VIDEO_MAX_BYTES
    if size > limit:
        raise ValidationFailed(
            _("The video is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": _mb(size), "limit": _mb(limit)},
            field=field,
            code="video_too_large",
        )
    upload.seek(0)
    container = sniff_video(upload.read(16))
    if container is None:
        raise ValidationFailed(_("Please upload an MP4 or MOV video."), field=field, code="bad_video_type")
    with local_copy(upload) as path:
        probe = probe_video(path)
    if probe is None or probe.duration <= 0:
        raise ValidationFailed(
            _("This file is not a video we can read. Please upload an MP4 or MOV video."),
            field=field,
            code="bad_video",
        )
    if probe.duration > settings.MEADOW_VIDEO_MAX_SECONDS:
        raise ValidationFailed(
            _("The video is too long (%(length)s); the limit is %(limit)s.")
            % {"length": _clock(probe.duration), "limit": _clock(settings.MEADOW_VIDEO_MAX_SECONDS)},
            field=field,
            code="video_too_long",
        )
    probe.container = container
    upload.seek(0)
    return probe


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def store_video_source(upload, *, container: str, saved: list[str]) -> str:
    upload.seek(0)
    name = default_storage.save(f"{_media_dir()}/src/{uuid.uuid4().hex}.{container}", upload)
    saved.append(name)
    return name


def video_transcode(source_name: str) -> tuple[bytes, bytes, VideoProbe | None]:
    """Remux the stored upload without metadata (no GPS atoms) and with fast start, and grab a poster frame
    (at 1 s, or the first frame of shorter clips). Returns (mp4 bytes, poster PNG bytes, probe)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / ("in" + Path(source_name).suffix)
        with default_storage.open(source_name, "rb") as fh, open(src, "wb") as out:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                out.write(chunk)
        probe = probe_video(str(src))
        remuxed = Path(tmp) / "out.mp4"
        poster = Path(tmp) / "poster.png"
        exe = ffmpeg_exe()
        base = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        subprocess.run(
            [
                *base,
                "-i",
                str(src),
                "-map",
                "0:v:0",
                "-map",
                "0:a?",
                "-c",
                "copy",
                "-map_metadata",
                "-1",
                "-movflags",
                "+faststart",
                str(remuxed),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        at = "1" if probe and probe.duration > 1.5 else "0"
        subprocess.run(
            [*base, "-ss", at, "-i", str(src), "-frames:v", "1", str(poster)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return remuxed.read_bytes(), poster.read_bytes(), probe
