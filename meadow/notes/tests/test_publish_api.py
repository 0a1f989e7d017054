"""Publishing through the API: the note contract, every limit, atomicity, drafts, edit and delete."""

from __future__ import annotations

import pytest

from meadow.notes.models import Hashtag, Note, NoteImage
from meadow.notes.tests.factories import image_bytes, jpeg, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def publish(client, *, images=1, **fields):
    data = {"title": "KL eats", "body": "Best nasi lemak in town", **fields}
    if images:
        data["images"] = [jpeg(f"p{i}.jpg") for i in range(images)]
    return client.post("/api/v1/notes", data)


def test_publish_answers_the_note_contract(api_for, user):
    r = publish(
        api_for(user),
        images=2,
        hashtags=["KL美食", "Nasi Lemak"],
        body="早餐 #吉隆坡 with @nobody",
        location_name="Kampung Baru",
        latitude="3.16123",
        longitude="101.70789",
        content_type="recommendation",
    )
    assert r.status_code == 201, r.content
    note = r.json()
    assert set(note) >= {
        "id", "author", "kind", "title", "body", "hashtags", "images", "video", "location", "visibility",
        "status", "counts", "viewer", "created_at",
    }  # fmt: skip
    assert note["author"] == {
        "handle": user.handle, "display_name": user.display_name, "avatar": None, "verified": False
    }  # fmt: skip
    assert note["kind"] == "image" and note["status"] == "published" and note["visibility"] == "public"
    assert note["hashtags"] == ["吉隆坡", "KL美食", "NasiLemak"]
    assert len(note["images"]) == 2 and note["images"][0]["url"].endswith(".webp")
    assert note["images"][0]["width"] == 64 and note["images"][0]["height"] == 48
    assert note["counts"] == {"likes": 0, "saves": 0, "comments": 0, "shares": 0}
    assert note["viewer"] == {"liked": False, "saved": False}
    assert note["location"] == {"name": "Kampung Baru", "latitude": 3.16, "longitude": 101.71}  # coarse
    assert note["content_type"] == "recommendation" and "food" in note["categories"]
    assert note["cover"]["url"].endswith("_t.webp")


def test_anonymous_cannot_publish(anon):
    r = publish(anon)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert not Note.objects.exists()


def test_eighteen_images_publish_nineteen_are_refused(api_for, user):
    client = api_for(user)
    assert publish(client, images=18).status_code == 201
    r = publish(client, images=19)
    assert r.status_code == 400
    assert r.json()["error"] | {"message": ""} == {
        "code": "too_many_images",
        "field": "images",
        "message": "",
    }
    assert Note.objects.count() == 1


def test_a_note_needs_media(api_for, user):
    r = publish(api_for(user), images=0)
    assert r.status_code == 400 and r.json()["error"]["code"] == "media_required"


@pytest.mark.parametrize(
    "title, ok",
    [
        ("一二三四五六七八九十一二三四五六七八九十", True),  # 20 CJK
        ("一二三四五六七八九十一二三四五六七八九十一", False),
        ("👨‍👩‍👧‍👦" * 20, True),  # 20 family emoji (7 code points each)
        ("👍🏽" * 21, False),
        ("Kuala Lumpur eats 🍜", True),
    ],
)
def test_title_counts_as_a_person_counts(api_for, user, title, ok):
    r = publish(api_for(user), title=title)
    assert (r.status_code == 201) is ok, r.content
    if not ok:
        assert r.json()["error"]["code"] == "title_too_long" and r.json()["error"]["field"] == "title"


@pytest.mark.parametrize("length, ok", [(1000, True), (1001, False)])
def test_body_limit(api_for, user, length, ok):
    body = ("好🍜" * 600)[:length]
    assert len(body) == length
    r = publish(api_for(user), body=body)
    assert (r.status_code == 201) is ok
    if not ok:
        assert r.json()["error"]["code"] == "body_too_long"


def test_ten_hashtags_ok_eleven_refused_counting_the_union(api_for, user):
    client = api_for(user)
    body_tags = " ".join(f"#tag{i}" for i in range(6))
    ok = publish(client, body=f"Hello {body_tags}", hashtags=[f"tag{i}" for i in range(4, 10)])
    assert ok.status_code == 201, ok.content  # 6 in the body + 6 listed, 2 shared → 10
    assert len(ok.json()["hashtags"]) == 10
    r = publish(client, body=f"Hello {body_tags}", hashtags=[f"TAG{i}" for i in range(4, 11)])
    assert r.status_code == 400  # 11 after normalisation
    assert r.json()["error"]["code"] == "too_many_hashtags" and r.json()["error"]["field"] == "hashtags"
    assert Note.objects.count() == 1


def test_bad_hashtag_is_refused(api_for, user):
    r = publish(api_for(user), hashtags=["no spaces!"])
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_hashtag"


def test_one_bad_image_leaves_nothing_behind(api_for, user, media_root):
    data = {
        "title": "t",
        "images": [jpeg("a.jpg"), jpeg("b.jpg"), upload(b"GIF89a not really", "c.jpg")],
        "hashtags": ["brandnewtag"],
    }
    r = api_for(user).post("/api/v1/notes", data)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_image"
    assert not Note.objects.exists() and not NoteImage.objects.exists()
    assert not Hashtag.objects.filter(name="brandnewtag").exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_bad_location_and_choices_are_400(api_for, user):
    client = api_for(user)
    for fields, field in [
        ({"latitude": "91", "longitude": "1"}, "latitude"),
        ({"latitude": "3"}, "latitude"),
        ({"latitude": "nan", "longitude": "1"}, "latitude"),
        ({"visibility": "everyone"}, "visibility"),
        ({"content_type": "spam"}, "content_type"),
    ]:
        r = publish(client, **fields)
        assert r.status_code == 400, (fields, r.content)
        assert r.json()["error"]["field"] == field
    assert not Note.objects.exists()


# --- visibility --------------------------------------------------------------------------------------------------
@pytest.fixture
def clients(api_for, anon, user, other_user, staff_user):
    return {
        "anonymous": anon,
        "other": api_for(other_user),
        "author": api_for(user),
        "staff": api_for(staff_user),
    }


@pytest.mark.parametrize(
    "visibility, draft, expected",
    [
        ("public", False, {"anonymous": 200, "other": 200, "author": 200, "staff": 200}),
        ("followers", False, {"anonymous": 404, "other": 404, "author": 200, "staff": 404}),
        ("private", False, {"anonymous": 404, "other": 404, "author": 200, "staff": 404}),
        ("public", True, {"anonymous": 404, "other": 404, "author": 200, "staff": 404}),
    ],
)
def test_who_sees_a_note(clients, visibility, draft, expected):
    r = publish(clients["author"], visibility=visibility, draft="true" if draft else "false")
    assert r.status_code == 201
    assert r.json()["status"] == ("draft" if draft else "published")
    note_id = r.json()["id"]
    for who, status in expected.items():
        got = clients[who].get(f"/api/v1/notes/{note_id}")
        assert got.status_code == status, who
        if status == 404:
            assert got.json()["error"]["code"] == "not_found"


def test_followers_only_note_is_seen_by_active_followers(api_for, user, other_user):
    from meadow.accounts.models import Follow

    note_id = publish(api_for(user), visibility="followers").json()["id"]
    Follow.objects.create(follower=other_user, followee=user, status=Follow.Status.PENDING)
    assert api_for(other_user).get(f"/api/v1/notes/{note_id}").status_code == 404
    Follow.objects.filter(follower=other_user).update(status=Follow.Status.ACTIVE)
    assert api_for(other_user).get(f"/api/v1/notes/{note_id}").status_code == 200


def test_private_account_notes_only_for_approved_followers(api_for, anon, user, other_user):
    from meadow.accounts.models import Follow

    note_id = publish(api_for(user)).json()["id"]
    user.is_private = True
    user.save(update_fields=["is_private"])
    assert anon.get(f"/api/v1/notes/{note_id}").status_code == 404
    assert api_for(other_user).get(f"/api/v1/notes/{note_id}").status_code == 404
    assert anon.get(f"/api/v1/users/{user.handle}/notes").status_code == 404
    assert api_for(other_user).get(f"/api/v1/users/{user.handle}/notes").status_code == 403
    Follow.objects.create(follower=other_user, followee=user, status=Follow.Status.ACTIVE)
    assert api_for(other_user).get(f"/api/v1/notes/{note_id}").status_code == 200
    page = api_for(other_user).get(f"/api/v1/users/{user.handle}/notes").json()
    assert [n["id"] for n in page["items"]] == [note_id]


def test_blocked_viewer_does_not_see_the_note(api_for, user, other_user):
    from meadow.accounts.models import Block

    note_id = publish(api_for(user)).json()["id"]
    Block.objects.create(blocker=user, blocked=other_user)
    assert api_for(other_user).get(f"/api/v1/notes/{note_id}").status_code == 404


def test_profile_list_shows_published_notes_newest_first(api_for, anon, user):
    client = api_for(user)
    first = publish(client).json()["id"]
    publish(client, draft="true")
    publish(client, visibility="private")
    last = publish(client).json()["id"]
    page = anon.get(f"/api/v1/users/{user.handle}/notes?limit=1").json()
    assert [n["id"] for n in page["items"]] == [last] and page["next_cursor"]
    page = anon.get(f"/api/v1/users/{user.handle}/notes?cursor={page['next_cursor']}").json()
    assert [n["id"] for n in page["items"]] == [first] and page["next_cursor"] is None
    assert len(client.get(f"/api/v1/users/{user.handle}/notes").json()["items"]) == 3  # own private too


# --- edit and delete ---------------------------------------------------------------------------------------------
def _snapshot(note_id):
    return Note.objects.filter(pk=note_id).values().get()


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("other", 403), ("staff", 403), ("author", 200)])
def test_edit_authorization_matrix(clients, who, status):
    note_id = publish(clients["author"], hashtags=["old"]).json()["id"]
    before = _snapshot(note_id)
    r = clients[who].patch(
        f"/api/v1/notes/{note_id}",
        {"title": "New title", "hashtags": ["fresh"]},
        content_type="application/json",
    )
    assert r.status_code == status, r.content
    if status == 200:
        assert r.json()["title"] == "New title" and r.json()["hashtags"] == ["fresh"]
        assert Hashtag.objects.get(name="old").use_count == 0
        assert Hashtag.objects.get(name="fresh").use_count == 1
    else:
        assert _snapshot(note_id) == before
        assert Hashtag.objects.get(name="old").use_count == 1


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("other", 403), ("staff", 403), ("author", 204)])
def test_delete_authorization_matrix(clients, who, status, django_capture_on_commit_callbacks, media_root):
    note_id = publish(clients["author"], hashtags=["gone"]).json()["id"]
    before = _snapshot(note_id)
    with django_capture_on_commit_callbacks(execute=True):
        r = clients[who].delete(f"/api/v1/notes/{note_id}")
    assert r.status_code == status
    if status == 204:
        note = Note.objects.get(pk=note_id)
        assert note.status == "removed" and note.deleted_at is not None
        assert Hashtag.objects.get(name="gone").use_count == 0
        assert not [p for p in media_root.rglob("*") if p.is_file()]  # files purged by the task
        for client in ("author", "other", "anonymous"):
            assert clients[client].get(f"/api/v1/notes/{note_id}").status_code == 404
    else:
        assert _snapshot(note_id) == before


def test_hidden_note_answers_404_to_edit_and_delete(clients):
    note_id = publish(clients["author"], visibility="private").json()["id"]
    before = _snapshot(note_id)
    assert (
        clients["other"]
        .patch(f"/api/v1/notes/{note_id}", {"title": "x"}, content_type="application/json")
        .status_code
        == 404
    )
    assert clients["other"].delete(f"/api/v1/notes/{note_id}").status_code == 404
    assert _snapshot(note_id) == before


def test_draft_is_published_by_patch(clients):
    note_id = publish(clients["author"], draft="true").json()["id"]
    assert clients["other"].get(f"/api/v1/notes/{note_id}").status_code == 404
    r = clients["author"].patch(
        f"/api/v1/notes/{note_id}", {"publish": True}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["status"] == "published" and r.json()["categories"] == ["food"]
    assert clients["other"].get(f"/api/v1/notes/{note_id}").status_code == 200


def test_edit_keeps_limits(clients):
    note_id = publish(clients["author"]).json()["id"]
    r = clients["author"].patch(
        f"/api/v1/notes/{note_id}", {"title": "x" * 21}, content_type="application/json"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "title_too_long"
    r = clients["author"].patch(
        f"/api/v1/notes/{note_id}",
        {"hashtags": [f"t{i}" for i in range(11)]},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_many_hashtags"


def test_mentions_are_resolved(api_for, user, other_user):
    r = publish(api_for(user), body=f"Dinner with @{other_user.handle} and @ghost_account")
    assert r.json()["mentions"] == [other_user.handle]


def test_image_bytes_helper_makes_png():
    assert image_bytes("PNG")[:4] == b"\x89PNG"
