"""What happens to moderation after publishing: an edit is screened like a publish and re-checks the copy,
and a video's poster frame is scanned like a photo once the video is processed."""

from __future__ import annotations

import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from meadow.enforcement.models import ReviewItem
from meadow.moderation import services as moderation_services
from meadow.moderation.models import ImageFingerprint, ModerationFinding
from meadow.moderation.tests import imagegen
from meadow.notes.media import ffmpeg_exe
from meadow.notes.models import Note, NoteImage
from meadow.publishing.services import note_publish, note_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BODY = (
    "周末和闺蜜去了吉隆坡新开的一家咖啡店，环境很安静，适合拍照。我们点了椰浆饭和拿铁，拿铁的奶泡很细，"
    "椰浆饭的参巴酱有点辣但很香。店员很热情，还推荐了他们自己烤的面包。下次想带爸妈一起来，"
    "顺便去附近的公园散步。停车有点难，建议搭地铁过来，出站走五分钟就到了。"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_SCAN_INLINE_OCR_IMAGES = 0  # OCR is slow and not what these tests are about


def _jpeg(img) -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.jpg", imagegen.encode(img), content_type="image/jpeg")


def _publish(capture, author, *, body: str, seed: int) -> Note:
    with capture(execute=True):
        return note_publish(author=author, body=body, images=[_jpeg(imagegen.photo(seed=seed))])


def _pending_holds(note: Note) -> int:
    return ReviewItem.objects.filter(
        kind=ReviewItem.Kind.HELD, state=ReviewItem.State.PENDING, target_id=note.pk
    ).count()


# --- editing ------------------------------------------------------------------------------------------------------
def test_editing_the_copy_into_a_copy_of_another_note_is_found(
    django_capture_on_commit_callbacks, monkeypatch
):
    original = _publish(django_capture_on_commit_callbacks, UserFactory(), body=BODY, seed=41)
    author = UserFactory()
    note = _publish(django_capture_on_commit_callbacks, author, body="今天的咖啡不错", seed=42)
    assert not ModerationFinding.objects.filter(note=note).exists()
    scanned_images: list[int] = []
    real_scan = moderation_services._scan_image
    monkeypatch.setattr(
        moderation_services,
        "_scan_image",
        lambda **kw: scanned_images.append(kw["image"].pk) or real_scan(**kw),
    )
    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=note, editor=author, body=BODY.replace("闺蜜", "朋友"))
    [finding] = ModerationFinding.objects.filter(note=note, category="plagiarism")
    assert finding.source == "simhash" and finding.original_note_id == original.pk
    assert scanned_images == []  # a text edit re-checks the copy only: the images did not change
    assert ImageFingerprint.objects.filter(note=note).count() == 1


def test_only_a_text_edit_queues_the_copy_check(django_capture_on_commit_callbacks, monkeypatch):
    author = UserFactory()
    note = _publish(django_capture_on_commit_callbacks, author, body=BODY, seed=43)
    calls: list[dict] = []
    monkeypatch.setattr(moderation_services, "note_media_scan_run", lambda **kw: calls.append(kw) or {})
    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=note, editor=author, visibility=Note.Visibility.PUBLIC)
    assert calls == []
    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=note, editor=author, title="新标题")
    assert [(c["note_id"], c["with_images"]) for c in calls] == [(note.pk, False)]


def test_publishing_a_draft_scans_its_images(django_capture_on_commit_callbacks):
    author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        draft = note_publish(author=author, body="草稿", images=[_jpeg(imagegen.qr())], draft=True)
    ModerationFinding.objects.filter(note=draft).delete()  # as if the draft had never been scanned
    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=draft, editor=author, publish=True)
    assert ModerationFinding.objects.filter(note=draft, source="qr", category="redirect").exists()


def test_an_edit_is_screened_on_the_text_it_leaves_like_a_publish(django_capture_on_commit_callbacks):
    """The old body's #topics that the edit removes are not screened again (publishing would not see them)."""
    author = UserFactory()
    note = _publish(django_capture_on_commit_callbacks, author, body="好吃 #全网最低", seed=44)
    assert _pending_holds(note) == 1  # an absolute claim: held for review
    ReviewItem.objects.filter(target_id=note.pk).update(state=ReviewItem.State.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=note, editor=author, body="好吃")
    assert _pending_holds(note) == 0
    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=note, editor=author, body="好吃", hashtags=["全网最低"])
    assert _pending_holds(note) == 1  # a listed topic is screened, as at publishing


# --- video poster frames ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def qr_video(tmp_path_factory) -> bytes:
    """A two-second MP4 whose every frame is a QR code card (so is its poster frame)."""
    folder = tmp_path_factory.mktemp("qrvideo")
    imagegen.qr().save(folder / "qr.png")
    out = folder / "qr.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "10", "-i",
         str(folder / "qr.png"), "-t", "2", "-pix_fmt", "yuv420p", "-c:v", "mpeg4", "-q:v", "2", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    return out.read_bytes()


def test_a_video_poster_frame_is_scanned_once_the_video_is_processed(
    django_capture_on_commit_callbacks, qr_video
):
    with django_capture_on_commit_callbacks(execute=True):
        note = note_publish(
            author=UserFactory(),
            body="周末vlog",
            video=SimpleUploadedFile("clip.mp4", qr_video, content_type="video/mp4"),
        )
    poster = NoteImage.objects.get(note=note)  # the processed video's poster frame became the cover
    [finding] = ModerationFinding.objects.filter(note=note, source="qr")
    assert finding.category == "redirect" and finding.image_id == poster.pk
    assert finding.evidence["codes"][0]["payload"] == "https://wa.me/60123456789"
