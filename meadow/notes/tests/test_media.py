"""The media pipeline: every kind of bad file, EXIF/GPS stripped, orientation, HEIC, video."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from meadow.core.errors import ValidationFailed
from meadow.notes import media
from meadow.notes.models import Note, NoteImage, NoteVideo
from meadow.notes.services import note_publish
from meadow.notes.tests.factories import image_bytes, jpeg, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def refused(code, **kwargs):
    return pytest.raises(ValidationFailed, match=r".") if code is None else _Refused(code, kwargs)


class _Refused:
    def __init__(self, code, kwargs):
        self.code, self.field = code, kwargs.get("field", "images")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        assert exc_type is ValidationFailed, f"expected ValidationFailed({self.code}), got {exc_type}"
        assert exc.code == self.code and exc.field == self.field, (exc.code, exc.field)
        assert str(exc.message)
        return True


def _png_bomb(width=50_000, height=50_000) -> bytes:
    """A tiny PNG whose header claims 2.5 gigapixels."""
    raw = bytearray(image_bytes("PNG", size=(1, 1)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw[16:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(raw)


def test_not_an_image(user):
    with refused("bad_image"):
        note_publish(author=user, images=[upload(b"%PDF-1.7 hello", "photo.jpg")])


def test_gif_is_not_accepted_even_named_jpg(user):
    with refused("bad_image_type"):
        note_publish(author=user, images=[upload(image_bytes("GIF"), "photo.jpg")])


def test_truncated_jpeg(user):
    data = image_bytes("JPEG", size=(400, 300))
    with refused("bad_image"):
        note_publish(author=user, images=[upload(data[: len(data) // 2])])


def test_decompression_bomb(user):
    with refused("image_too_big"):
        note_publish(author=user, images=[upload(_png_bomb(), "bomb.png")])


def test_too_many_pixels_under_the_bomb_threshold(user, settings):
    settings.MEADOW_IMAGE_MAX_PIXELS = 1000
    with refused("image_too_big"):
        note_publish(author=user, images=[jpeg(size=(50, 50))])


def test_too_large_file(user, settings):
    settings.MEADOW_IMAGE_MAX_BYTES = 100
    with refused("image_too_large"):
        note_publish(author=user, images=[jpeg(size=(64, 64))])
    assert not Note.objects.exists()


def test_empty_file(user):
    with refused("empty_file"):
        note_publish(author=user, images=[upload(b"")])


def _exif_with_gps_and_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SecretPhone Inc."
    exif[0x8825] = {1: "N", 2: (3.0, 8.0, 21.0), 3: "E", 4: (101.0, 41.0, 12.0)}
    return exif


def test_exif_and_gps_are_stripped_and_orientation_honoured(user):
    # 200×100: left half red, right half blue; orientation 6 = rotate 90° clockwise to display.
    img = Image.new("RGB", (200, 100), (255, 0, 0))
    img.paste((0, 0, 255), (100, 0, 200, 100))
    source = io.BytesIO()
    exif = _exif_with_gps_and_orientation(6)
    img.save(source, "JPEG", exif=exif.tobytes(), quality=95)
    assert Image.open(io.BytesIO(source.getvalue())).getexif().get_ifd(0x8825)  # the input has GPS

    note = note_publish(author=user, images=[upload(source.getvalue())])
    image = NoteImage.objects.get(note=note)
    assert (image.width, image.height) == (100, 200)  # upright: portrait
    for name in (image.thumb.name, image.detail.name):
        with default_storage.open(name, "rb") as fh:
            data = fh.read()
        stored = Image.open(io.BytesIO(data))
        assert stored.format == "WEBP"
        assert not stored.getexif() and "exif" not in stored.info
        assert b"Exif" not in data and b"SecretPhone" not in data
        rgb = stored.convert("RGB")
        top, bottom = rgb.getpixel((rgb.width // 2, 5)), rgb.getpixel((rgb.width // 2, rgb.height - 5))
        assert top[0] > 200 and top[2] < 60  # red on top after rotating clockwise
        assert bottom[2] > 200 and bottom[0] < 60


def test_renditions_keep_aspect_and_widths(user):
    note = note_publish(author=user, images=[jpeg(size=(3000, 4000))])
    image = NoteImage.objects.get(note=note)
    assert (image.width, image.height) == (1440, 1920)
    assert (image.thumb_width, image.thumb_height) == (540, 720)
    assert image.color.startswith("#") and len(image.color) == 7
    assert image.blurhash  # blurhash-python is installed


def test_placeholder_colour_is_the_dominant_one(user):
    note = note_publish(author=user, images=[jpeg(size=(80, 60), color=(20, 160, 60))])
    r, g, b = (int(NoteImage.objects.get(note=note).color[i : i + 2], 16) for i in (1, 3, 5))
    assert abs(r - 20) < 12 and abs(g - 160) < 12 and abs(b - 60) < 12


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_accepted(user, fmt):
    note = note_publish(author=user, images=[upload(image_bytes(fmt), "x.bin", "application/octet-stream")])
    assert note.images.count() == 1


def test_heic_accepted(user):
    pillow_heif = pytest.importorskip("pillow_heif")
    buf = io.BytesIO()
    try:
        pillow_heif.from_pillow(Image.new("RGB", (120, 90), (10, 120, 200))).save(buf, format="HEIF")
    except Exception as exc:  # pragma: no cover - only when this pillow-heif build cannot encode
        pytest.skip(f"this pillow-heif cannot write HEIF: {exc}")
    note = note_publish(author=user, images=[upload(buf.getvalue(), "IMG_0001.HEIC", "image/heic")])
    image = NoteImage.objects.get(note=note)
    assert (image.width, image.height) == (120, 90)


def test_media_conflicts(user, mp4_2s):
    with refused("media_conflict", field="video"):
        note_publish(author=user, images=[jpeg()], video=upload(mp4_2s, "v.mp4", "video/mp4"))
    with refused("invalid", field="cover"):
        note_publish(author=user, images=[jpeg()], cover=jpeg())


# --- video ---------------------------------------------------------------------------------------------------------
def test_video_note_gets_poster_and_duration(api_for, user, mp4_2s, django_capture_on_commit_callbacks):
    client = api_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/api/v1/notes",
            {"title": "Vlog", "video": upload(mp4_2s, "clip.bin", "application/octet-stream")},
        )
    assert r.status_code == 201, r.content
    note = r.json()
    assert note["kind"] == "video" and note["media_state"] == "processing"  # answered before the task ran
    detail = client.get(f"/api/v1/notes/{note['id']}").json()
    assert detail["media_state"] == "ready"
    assert 1.9 <= detail["video"]["duration"] <= 2.1
    assert (detail["video"]["width"], detail["video"]["height"]) == (160, 120)
    assert detail["video"]["url"].endswith(".mp4")
    assert detail["cover"] is not None and detail["placeholder"]["color"].startswith("#")
    video = NoteVideo.objects.get(note_id=note["id"])
    assert not video.source  # the upload was replaced by the remuxed file
    with default_storage.open(video.file.name, "rb") as fh:
        assert b"101.6869" not in fh.read()  # location metadata removed


def test_video_with_uploaded_cover(user, mp4_2s, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        note = note_publish(
            author=user, video=upload(mp4_2s, "clip.mov", "video/quicktime"), cover=jpeg(size=(90, 120))
        )
    note.refresh_from_db()
    assert note.media_state == "ready"
    assert [(i.width, i.height) for i in note.images.all()] == [(90, 120)]


def test_processing_video_note_is_only_for_its_author(api_for, user, other_user, mp4_2s):
    note = note_publish(author=user, video=upload(mp4_2s, "clip.mp4", "video/mp4"))  # task not run yet
    assert api_for(other_user).get(f"/api/v1/notes/{note.pk}").status_code == 404
    assert api_for(user).get(f"/api/v1/notes/{note.pk}").status_code == 200


def test_video_that_is_not_a_video(user):
    with refused("bad_video_type", field="video"):
        note_publish(author=user, video=jpeg("clip.mp4"))
    fake = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000  # right magic bytes, no video inside
    with refused("bad_video", field="video"):
        note_publish(author=user, video=upload(fake, "clip.mp4", "video/mp4"))


def test_video_too_long(user, settings, mp4_2s):
    settings.MEADOW_VIDEO_MAX_SECONDS = 1
    with refused("video_too_long", field="video"):
        note_publish(author=user, video=upload(mp4_2s, "clip.mp4", "video/mp4"))
    assert not Note.objects.exists()


def test_video_too_large(user, settings, mp4_2s):
    settings.MEADOW_VIDEO_MAX_BYTES = 1000
    with refused("video_too_large", field="video"):
        note_publish(author=user, video=upload(mp4_2s, "clip.mp4", "video/mp4"))


def test_video_task_is_idempotent(user, mp4_2s, django_capture_on_commit_callbacks):
    from meadow.notes.tasks import note_video_process

    with django_capture_on_commit_callbacks(execute=True):
        note = note_publish(author=user, video=upload(mp4_2s, "clip.mp4", "video/mp4"))
    first = NoteVideo.objects.get(note=note).file.name
    assert note_video_process(note.pk) == "done"
    assert NoteVideo.objects.get(note=note).file.name == first
    assert NoteImage.objects.filter(note=note).count() == 1


def test_sniff_video():
    assert media.sniff_video(b"\x00\x00\x00\x20ftypisom\x00\x00") == "mp4"
    assert media.sniff_video(b"\x00\x00\x00\x14ftypqt  \x00\x00") == "mov"
    assert media.sniff_video(b"\xff\xd8\xff\xe0" + b"\x00" * 12) is None


def test_avatar_pipeline_still_works(api_for, user):
    r = api_for(user).post("/api/v1/me/avatar", {"file": jpeg(size=(500, 300))})
    assert r.status_code == 200 and r.json()["avatar"].endswith(".webp")
