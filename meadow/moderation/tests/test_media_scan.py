"""The media scan that runs after publishing: QR codes and text in images (导流), explicit images, and copied
images or copy (搬运). Images are generated here; the real models run (loaded once per test process)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from meadow.moderation import images
from meadow.moderation.models import ImageFingerprint, ModerationFinding, TextFingerprint
from meadow.moderation.services import note_media_scan_run
from meadow.moderation.tasks import note_media_scan
from meadow.moderation.tests import imagegen
from meadow.notes.models import Note
from meadow.notes.services import note_publish
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _upload(img, name: str = "photo.jpg", **save) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, imagegen.encode(img, **save), content_type="image/jpeg")


@pytest.fixture(autouse=True)
def _no_ocr_unless_asked(settings):
    """OCR is the slow check (~0.3–1 s an image): only the tests about text in images turn it on."""
    settings.MEADOW_SCAN_INLINE_OCR_IMAGES = 0


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    """Run what publishing queues after commit (the scan), as the embedded default does."""
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield
    _capture = None


_capture = None


def _publish_files(author, files, body: str = "周末去吉隆坡喝咖啡", title: str = "") -> Note:
    with _capture(execute=True):
        return note_publish(author=author, title=title, body=body, images=files)


def _publish(author, *imgs, body: str = "周末去吉隆坡喝咖啡", title: str = "") -> Note:
    return _publish_files(author, [_upload(i) for i in imgs], body=body, title=title)


def _findings(note, **filters):
    return list(ModerationFinding.objects.filter(note=note, **filters))


# --- QR codes and text in images ----------------------------------------------------------------------------------
def test_publishing_queues_the_scan_and_a_qr_code_is_a_redirect_finding():
    note = _publish(UserFactory(), imagegen.qr("https://wa.me/60123456789"))
    [finding] = _findings(note, source="qr")
    assert finding.category == "redirect"
    assert finding.image == note.images.get()
    assert finding.evidence["codes"][0]["payload"] == "https://wa.me/60123456789"
    assert finding.score == 1.0
    assert any(h["rule"].startswith("redirect") for h in finding.evidence["hits"])  # the URL, checked as text
    assert finding.reported_at is not None  # handed to enforcement


def test_a_qr_code_to_meadow_itself_is_not_a_redirect():
    note = _publish(UserFactory(), imagegen.qr("https://meadow.my/u/lily"))
    assert not _findings(note, source="qr")


@override_settings(MEADOW_SCAN_INLINE_OCR_IMAGES=3)
def test_text_in_an_image_goes_through_the_text_engine():
    note = _publish(UserFactory(), imagegen.text("vx: lily1998"))
    [finding] = _findings(note, source="ocr")
    assert finding.category == "redirect"
    text = finding.evidence["text"]
    assert "lily1998" in text
    for hit in finding.evidence["hits"]:  # spans in the text read from the image
        assert text[hit["start"] : hit["end"]] == hit["match"]
    assert finding.evidence["lines"][0]["box"]
    assert 0.5 <= finding.score <= 1


def test_a_neutral_photo_has_no_findings_and_the_scan_is_idempotent():
    author = UserFactory()
    note = _publish(author, imagegen.photo(seed=3), imagegen.photo(seed=4))
    assert not _findings(note)
    assert ImageFingerprint.objects.filter(note=note).count() == 2
    again = note_media_scan.delay(note_id=note.pk).get()
    assert again["status"] == "done" and again["new"] == 0
    assert ImageFingerprint.objects.filter(note=note).count() == 2


def test_scan_is_idempotent_for_findings():
    note = _publish(UserFactory(), imagegen.qr())
    assert Note.objects.get(pk=note.pk).status == Note.Status.REMOVED  # enforcement took it down
    assert note_media_scan_run(note_id=note.pk) == {"status": "gone"}
    # a retry that started before the takedown: nothing is found or reported twice
    Note.objects.filter(pk=note.pk).update(status=Note.Status.PUBLISHED)
    first = list(ModerationFinding.objects.filter(note=note).values_list("pk", "reported_at"))
    result = note_media_scan_run(note_id=note.pk)
    assert result["new"] == 0 and result["reported"] == 0
    assert list(ModerationFinding.objects.filter(note=note).values_list("pk", "reported_at")) == first


@override_settings(MEADOW_SCAN_INLINE_OCR_IMAGES=1)
def test_inline_scan_reads_text_only_in_the_first_images():
    note = _publish(UserFactory(), imagegen.photo(seed=5), imagegen.text("vx: lily1998"))
    assert not _findings(note, source="ocr")  # the 2nd image is read on a worker, not in the request
    result = note_media_scan_run(note_id=note.pk, inline=False)
    assert result["new"] == 1 and _findings(note, source="ocr")


def test_flat_images_are_skipped():
    from meadow.notes.tests.factories import jpeg

    note = _publish_files(UserFactory(), [jpeg()], body="x")
    assert not _findings(note)
    assert not ImageFingerprint.objects.filter(note=note).exists()


# --- explicit images ----------------------------------------------------------------------------------------------
class _FakeDetector:
    name = "fake"

    def __init__(self, parts):
        self.parts = parts

    def detect(self, img):
        return list(self.parts)


def test_explicit_image_over_the_threshold_is_an_adult_finding(monkeypatch):
    parts = [
        images.BodyPart("FACE_FEMALE", 0.91, (10, 10, 50, 50)),
        images.BodyPart("FEMALE_BREAST_EXPOSED", 0.83, (100, 200, 120, 90)),
    ]
    monkeypatch.setattr(images, "explicit_detector", lambda: _FakeDetector(parts))
    note = _publish(UserFactory(), imagegen.photo(seed=6))
    [finding] = _findings(note, source="nsfw")
    assert finding.category == "adult" and finding.severity == "high"
    assert finding.score == pytest.approx(0.83)
    assert [p["label"] for p in finding.evidence["parts"]] == ["FEMALE_BREAST_EXPOSED"]
    assert finding.reported_at is not None


@override_settings(MEADOW_NSFW_THRESHOLD=0.9)
def test_the_threshold_is_a_setting(monkeypatch):
    parts = [images.BodyPart("FEMALE_BREAST_EXPOSED", 0.83, (100, 200, 120, 90))]
    monkeypatch.setattr(images, "explicit_detector", lambda: _FakeDetector(parts))
    note = _publish(UserFactory(), imagegen.photo(seed=7))
    assert not _findings(note, source="nsfw")


def test_a_failing_model_does_not_break_publishing_or_the_other_checks(monkeypatch):
    class Broken:
        name = "broken"

        def detect(self, img):
            raise RuntimeError("model exploded")

    monkeypatch.setattr(images, "explicit_detector", lambda: Broken())
    note = _publish(UserFactory(), imagegen.qr())
    assert note.pk and _findings(note, source="qr")


# --- plagiarism ---------------------------------------------------------------------------------------------------
def test_a_reposted_image_points_to_the_earliest_original_by_another_author():
    original_author, copier = UserFactory(), UserFactory()
    picture = imagegen.photo(seed=11)
    original = _publish(original_author, picture)
    own_repost = _publish(original_author, picture)
    assert not _findings(own_repost, category="plagiarism")  # your own picture again is not 搬运
    # the copy is re-encoded and resized, as a screenshot or a download would be
    smaller = picture.resize((270, 360))
    copy = _publish_files(copier, [_upload(smaller, quality=70)], body="好看")
    [finding] = _findings(copy, category="plagiarism")
    assert finding.source == "phash"
    assert finding.original_note_id == original.pk
    assert finding.evidence["original_note"] == original.pk
    assert finding.evidence["distance"] <= 4
    unrelated = _publish(copier, imagegen.photo(seed=12))
    assert not _findings(unrelated, category="plagiarism")


BODY = (
    "周末和闺蜜去了吉隆坡新开的一家咖啡店，环境很安静，适合拍照。我们点了椰浆饭和拿铁，拿铁的奶泡很细，"
    "椰浆饭的参巴酱有点辣但很香。店员很热情，还推荐了他们自己烤的面包。下次想带爸妈一起来，"
    "顺便去附近的公园散步。停车有点难，建议搭地铁过来，出站走五分钟就到了。"
)


def test_copied_text_is_a_simhash_finding():
    original_author, copier = UserFactory(), UserFactory()
    original = _publish(original_author, imagegen.photo(seed=21), body=BODY)
    assert TextFingerprint.objects.filter(note=original).exists()
    copy = _publish(copier, imagegen.photo(seed=22), body=BODY.replace("闺蜜", "朋友") + " #咖啡")
    [finding] = _findings(copy, category="plagiarism")
    assert finding.source == "simhash" and finding.original_note_id == original.pk
    other = _publish(copier, imagegen.photo(seed=23), body=BODY[::-1])
    assert not _findings(other, category="plagiarism")


def test_short_copy_has_no_fingerprint():
    note = _publish(UserFactory(), imagegen.photo(seed=24), body="好吃！")
    assert not TextFingerprint.objects.filter(note=note).exists()


def test_candidates_come_from_band_lookups(django_assert_max_num_queries):
    from meadow.moderation.plagiarism import to_unsigned
    from meadow.moderation.services import _original_for

    note = _publish(UserFactory(), imagegen.photo(seed=31))
    value = to_unsigned(ImageFingerprint.objects.get(note=note).value)
    later = _publish(UserFactory(), imagegen.photo(seed=32))
    with django_assert_max_num_queries(1) as ctx:
        found = _original_for(ImageFingerprint, value=value ^ 0b101, note=later, max_distance=4)
    assert found == (note.pk, 2)
    sql = ctx.captured_queries[0]["sql"]
    assert "band0" in sql and "band3" in sql


# --- console ------------------------------------------------------------------------------------------------------
def test_findings_are_listed_in_the_admin(client):
    note = _publish(UserFactory(), imagegen.qr())
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get("/admin/moderation/moderationfinding/")
    assert response.status_code == 200
    assert b"redirect" in response.content
    finding = ModerationFinding.objects.get(note=note)
    assert client.get(f"/admin/moderation/moderationfinding/{finding.pk}/change/").status_code == 200
