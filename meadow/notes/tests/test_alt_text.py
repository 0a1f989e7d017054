"""Image descriptions (alt text): given per image when publishing, stored with the image, in the API as ``alt``
(derived from the title when the author gave none); too long or too many are refused and nothing is written."""

from __future__ import annotations

import pytest

from meadow.notes.models import ALT_MAX, Note, NoteImage
from meadow.notes.tests.factories import jpeg

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def publish(client, *, images=2, **fields):
    data = {"title": "Kaya toast", "body": "Breakfast in Ipoh", **fields}
    data["images"] = [jpeg(f"p{i}.jpg") for i in range(images)]
    return client.post("/api/v1/notes", data)


def test_alts_are_stored_per_image_and_answered(api_for, user):
    r = publish(api_for(user), alts=["Toast with green kaya on a plate", "  a cup   of kopi  "])
    assert r.status_code == 201, r.content
    assert [i["alt"] for i in r.json()["images"]] == ["Toast with green kaya on a plate", "a cup of kopi"]
    note = Note.objects.get(pk=r.json()["id"])
    assert list(note.images.values_list("alt", flat=True)) == [
        "Toast with green kaya on a plate",
        "a cup of kopi",
    ]


def test_missing_alts_come_from_the_title(api_for, user):
    r = publish(api_for(user), images=3, alts=["", "The second one"])
    assert r.status_code == 201, r.content
    assert [i["alt"] for i in r.json()["images"]] == [
        "Kaya toast (1/3)",
        "The second one",
        "Kaya toast (3/3)",
    ]
    assert list(NoteImage.objects.values_list("alt", flat=True).order_by("position")) == [
        "",
        "The second one",
        "",
    ]
    untitled = publish(api_for(user), images=1, title="", body="Just   breakfast\nin Ipoh")
    assert untitled.json()["images"][0]["alt"] == "Just breakfast in Ipoh"


@pytest.mark.parametrize(
    "alts, code",
    [(["x" * (ALT_MAX + 1)], "alt_too_long"), (["one", "two", "three"], "too_many_alts")],
)
def test_bad_alts_are_refused_and_nothing_is_written(api_for, user, media_root, alts, code):
    r = publish(api_for(user), alts=alts)
    assert r.status_code in (400, 422), r.content
    if r.status_code == 400:
        assert r.json()["error"]["code"] == code if "error" in r.json() else code in r.text
    assert not Note.objects.exists()
    assert not NoteImage.objects.exists()
    stored = [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []
    assert stored == []


def test_the_service_refuses_the_same_and_says_which_image(user):
    from meadow.core.errors import ValidationFailed
    from meadow.notes.services import note_publish

    with pytest.raises(ValidationFailed) as refused:
        note_publish(author=user, title="t", images=[jpeg(), jpeg()], alts=["fine", "y" * (ALT_MAX + 1)])
    assert refused.value.field == "alts"
    assert "image 2" in str(refused.value)
    assert not Note.objects.exists()
