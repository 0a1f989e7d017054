"""Likes, saves, boards, shares, completion, not-interested and impressions through the API: idempotent,
reversible, counted exactly (counters = rows = events; signal score = sum of event weights)."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from meadow.engagement.models import Board, EngagementEvent, Like, NoteStats, Save, Share
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _score(note) -> float:
    return NoteStats.objects.filter(note=note).values_list("signal_score", flat=True).first() or 0.0


def _event_sum(note) -> float:
    return EngagementEvent.objects.filter(note=note).aggregate(s=Sum("weight"))["s"] or 0.0


def test_liking_twice_is_one_like_and_unlike_reverses(
    api_for, user, note, django_capture_on_commit_callbacks
):
    api = api_for(user)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):  # the like's event etc. follow its commit
            r = api.post(f"/api/v1/notes/{note.pk}/like?source=discover")
        assert r.status_code == 200, r.content
    assert r.json()["liked"] is True and r.json()["counts"]["likes"] == 1
    note.refresh_from_db()
    note.author.refresh_from_db()
    assert note.like_count == 1 == Like.objects.filter(note=note).count()
    assert note.author.likes_saves_received_count == 1
    assert EngagementEvent.objects.filter(note=note, kind="like", source="discover").count() == 1
    assert _score(note) == 1 == _event_sum(note)
    for _ in range(2):
        r = api.delete(f"/api/v1/notes/{note.pk}/like")
        assert r.status_code == 200
    assert r.json() == {**r.json(), "liked": False}
    note.refresh_from_db()
    note.author.refresh_from_db()
    assert note.like_count == 0 and note.author.likes_saves_received_count == 0
    assert _score(note) == 0 == _event_sum(note)


def test_note_shape_has_real_counts_and_viewer_state(api_for, user, note, anon):
    api_for(user).post(f"/api/v1/notes/{note.pk}/like")
    api_for(user).post(f"/api/v1/notes/{note.pk}/save")
    body = api_for(user).get(f"/api/v1/notes/{note.pk}").json()
    assert body["viewer"] == {"liked": True, "saved": True}
    assert body["counts"]["likes"] == 1 and body["counts"]["saves"] == 1
    assert anon.get(f"/api/v1/notes/{note.pk}").json()["viewer"] == {"liked": False, "saved": False}
    feed = api_for(user).get("/api/v1/notes").json()["items"]
    assert [n["viewer"] for n in feed if n["id"] == note.pk] == [{"liked": True, "saved": True}]


def test_feed_queries_do_not_grow_with_page_size(api_for, user, django_assert_max_num_queries):
    def measure(count: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            r = api_for(user).get(f"/api/v1/notes?limit={count}")
        assert r.status_code == 200 and len(r.json()["items"]) == count
        return len(ctx)

    notes = [NoteFactory() for _ in range(12)]
    for n in notes[::2]:
        api_for(user).post(f"/api/v1/notes/{n.pk}/like")
        api_for(user).post(f"/api/v1/notes/{n.pk}/save")
    assert measure(3) == measure(12)


def test_save_into_default_then_named_board_moves_it(api_for, user, note):
    api = api_for(user)
    r = api.post(f"/api/v1/notes/{note.pk}/save", {}, content_type="application/json")
    assert r.status_code == 200, r.content
    default = Board.objects.get(owner=user, is_default=True)
    assert r.json()["board"] == default.pk
    r = api.post("/api/v1/boards", {"name": "Cafés in KL", "private": True}, content_type="application/json")
    assert r.status_code == 201
    board_id = r.json()["id"]
    assert (
        api.post("/api/v1/boards", {"name": "Cafés in KL"}, content_type="application/json").status_code
        == 409
    )
    r = api.post(f"/api/v1/notes/{note.pk}/save?board={board_id}")
    assert r.status_code == 200 and r.json()["counts"]["saves"] == 1
    assert Save.objects.get(user=user, note=note).board_id == board_id
    assert Board.objects.get(pk=board_id).note_count == 1 and Board.objects.get(pk=default.pk).note_count == 0
    items = api.get(f"/api/v1/boards/{board_id}/notes").json()["items"]
    assert [n["id"] for n in items] == [note.pk]
    assert api.delete(f"/api/v1/notes/{note.pk}/save").json()["saved"] is False
    note.refresh_from_db()
    note.author.refresh_from_db()
    assert note.save_count == 0 and note.author.likes_saves_received_count == 0
    assert Board.objects.get(pk=board_id).note_count == 0
    assert _score(note) == _event_sum(note) == 0


def test_cannot_save_into_someone_elses_board(api_for, user, other_user, note):
    theirs = Board.objects.create(owner=other_user, name="Theirs")
    r = api_for(user).post(f"/api/v1/notes/{note.pk}/save?board={theirs.pk}")
    assert r.status_code == 403
    assert not Save.objects.exists()


@pytest.mark.parametrize(
    "who, status", [("anonymous", 404), ("stranger", 404), ("owner", 200), ("staff", 404)]
)
def test_private_board_access(who, status, user, other_user, staff_user, anon, api_for):
    board = Board.objects.create(owner=user, name="Secret", is_private=True)
    client = {
        "anonymous": anon,
        "stranger": api_for(other_user),
        "owner": api_for(user),
        "staff": api_for(staff_user),
    }[who]
    assert client.get(f"/api/v1/boards/{board.pk}").status_code == status
    assert client.get(f"/api/v1/boards/{board.pk}/notes").status_code == status
    listed = client.get(f"/api/v1/boards?owner={user.handle}").json()["items"]
    assert (board.pk in [b["id"] for b in listed]) is (who == "owner")


@pytest.mark.parametrize(
    "who, status", [("anonymous", 401), ("stranger", 404), ("owner", 200), ("staff", 404)]
)
@pytest.mark.parametrize(
    "action",
    [("post", "like"), ("post", "save"), ("post", "share"), ("post", "not-interested"), ("post", "comments")],
)
def test_private_note_actions_matrix(who, status, action, user, other_user, staff_user, anon, api_for):
    private = NoteFactory(author=user, visibility=Note.Visibility.PRIVATE)
    client = {
        "anonymous": anon,
        "stranger": api_for(other_user),
        "owner": api_for(user),
        "staff": api_for(staff_user),
    }[who]
    method, path = action
    data = {"body": "hello"} if path == "comments" else {}
    r = getattr(client, method)(f"/api/v1/notes/{private.pk}/{path}", data, content_type="application/json")
    expected = 201 if (status == 200 and path == "comments") else status
    assert r.status_code == expected, r.content
    if status != 200:
        private.refresh_from_db()
        assert (private.like_count, private.save_count, private.share_count, private.comment_count) == (
            0,
            0,
            0,
            0,
        )
        assert not EngagementEvent.objects.exists() and not NoteStats.objects.exists()


def test_blocked_reader_cannot_engage(api_for, user, note):
    from meadow.accounts.services import block_create

    block_create(blocker=note.author, blocked=user)
    for path in ("like", "save", "share", "comments", "completion", "not-interested", "follow"):
        r = api_for(user).post(
            f"/api/v1/notes/{note.pk}/{path}", {"body": "hi"}, content_type="application/json"
        )
        assert r.status_code == 404, (path, r.content)
    note.refresh_from_db()
    assert note.like_count == note.save_count == note.comment_count == note.share_count == 0
    assert not EngagementEvent.objects.exists()


def test_share_link_counts_once_and_attributes_visits(api_for, user, note, anon):
    r = api_for(user).post(f"/api/v1/notes/{note.pk}/share")
    assert r.status_code == 200
    token = r.json()["token"]
    assert f"/notes/{note.pk}/?s={token}" in r.json()["url"]
    assert api_for(user).post(f"/api/v1/notes/{note.pk}/share").json()["token"] == token
    note.refresh_from_db()
    assert note.share_count == 1 == Share.objects.count()
    assert anon.post(f"/api/v1/notes/{note.pk}/read?s={token}").status_code == 200
    share = Share.objects.get()
    assert share.visit_count == 1
    assert EngagementEvent.objects.filter(kind="read", source="share", share=share).count() == 1
    stats = NoteStats.objects.get(note=note)
    assert stats.read_count == 1 and stats.share_visit_count == 1
    card = anon.get(r.json()["card"])
    assert card.status_code == 200 and card["Content-Type"] == "image/png"


def test_video_completion_once_and_only_for_videos(api_for, user, other_user):
    video = NoteFactory(author=other_user, kind=Note.Kind.VIDEO)
    api = api_for(user)
    assert api.post(f"/api/v1/notes/{video.pk}/completion").json() == {"counted": True}
    assert api.post(f"/api/v1/notes/{video.pk}/completion").json() == {"counted": False}
    assert NoteStats.objects.get(note=video).completion_count == 1
    assert _score(video) == 2
    image = NoteFactory(author=other_user)
    assert api.post(f"/api/v1/notes/{image.pk}/completion").status_code == 400


def test_not_interested_hides_note_and_similar_from_feeds(api_for, user, note):
    from meadow.notes.models import InterestCategory, NoteCategory

    food = InterestCategory.objects.create(
        slug="test-food", name_en="Food", name_zh="美食", name_ms="Makanan"
    )
    NoteCategory.objects.create(note=note, category=food, score=2)
    same_author = NoteFactory(author=note.author)
    same_category = NoteFactory()
    NoteCategory.objects.create(note=same_category, category=food)
    unrelated = NoteFactory()
    api = api_for(user)
    before = {n["id"] for n in api.get("/api/v1/notes?limit=50").json()["items"]}
    assert {note.pk, same_author.pk, same_category.pk, unrelated.pk} <= before
    assert api.post(f"/api/v1/notes/{note.pk}/not-interested").json() == {"hidden": True}
    assert api.post(f"/api/v1/notes/{note.pk}/not-interested").status_code == 200
    after = {n["id"] for n in api.get("/api/v1/notes?limit=50").json()["items"]}
    assert unrelated.pk in after and not {note.pk, same_author.pk, same_category.pk} & after
    assert NoteStats.objects.get(note=note).not_interested_count == 1
    assert _score(note) == -4
    # other readers are unaffected
    assert note.pk in {n["id"] for n in api_for(UserFactory()).get("/api/v1/notes?limit=50").json()["items"]}
    # Undo brings them all back and cancels the negative signal; undoing twice changes nothing more
    assert api.delete(f"/api/v1/notes/{note.pk}/not-interested").json() == {"hidden": False}
    assert api.delete(f"/api/v1/notes/{note.pk}/not-interested").json() == {"hidden": False}
    again = {n["id"] for n in api.get("/api/v1/notes?limit=50").json()["items"]}
    assert {note.pk, same_author.pk, same_category.pk, unrelated.pk} <= again
    assert NoteStats.objects.get(note=note).not_interested_count == 0
    assert _score(note) == 0
    assert list(
        EngagementEvent.objects.filter(note=note, user=user).order_by("pk").values_list("kind", "weight")
    ) == [("not_interested", -4), ("interested_again", 4)]


def test_only_the_reader_can_undo_their_not_interested(api_for, anon, user, other_user, note):
    api_for(user).post(f"/api/v1/notes/{note.pk}/not-interested")
    assert anon.delete(f"/api/v1/notes/{note.pk}/not-interested").status_code == 401
    assert api_for(other_user).delete(f"/api/v1/notes/{note.pk}/not-interested").json() == {"hidden": False}
    assert NoteStats.objects.get(note=note).not_interested_count == 1  # someone else's undo touches nothing


def test_impressions_in_bulk(api_for, user, anon, django_assert_max_num_queries):
    notes = [NoteFactory() for _ in range(30)]
    ids = [n.pk for n in notes] + [notes[0].pk, 99999999]
    with django_assert_max_num_queries(12):
        r = anon.post(
            "/api/v1/impressions", {"note_ids": ids, "source": "discover"}, content_type="application/json"
        )
    assert r.status_code == 200 and r.json() == {"counted": 30}
    api_for(user).post("/api/v1/impressions", {"note_ids": ids[:5]}, content_type="application/json")
    assert NoteStats.objects.get(note=notes[0]).impression_count == 2
    assert NoteStats.objects.get(note=notes[10]).impression_count == 1
    assert EngagementEvent.objects.filter(kind="impression").count() == 35
    too_many = {"note_ids": list(range(1, 102))}
    assert anon.post("/api/v1/impressions", too_many, content_type="application/json").status_code == 400


def test_follow_from_a_note_counts_once_for_that_note(api_for, user, note):
    api = api_for(user)
    assert api.post(f"/api/v1/notes/{note.pk}/follow").json() == {"status": "following"}
    assert api.post(f"/api/v1/notes/{note.pk}/follow").json() == {"status": "following"}
    assert NoteStats.objects.get(note=note).follow_count == 1
    assert _score(note) == 8 == _event_sum(note)


def test_signal_weights_are_one_setting_away(settings, api_for, user, note):
    settings.MEADOW_SIGNAL_WEIGHTS = {**settings.MEADOW_SIGNAL_WEIGHTS, "share": 4}  # the "CES" weighting
    api_for(user).post(f"/api/v1/notes/{note.pk}/share")
    assert _score(note) == 4


def test_anonymous_actions_need_sign_in(anon, note):
    for path in ("like", "save", "share", "completion", "not-interested"):
        assert anon.post(f"/api/v1/notes/{note.pk}/{path}").status_code == 401
    assert not EngagementEvent.objects.exists()


def test_the_default_board_reads_saved_in_each_reader_s_language(api_for, user, note, client):
    from django.utils import translation

    api_for(user).post(f"/api/v1/notes/{note.pk}/save")
    board = Board.objects.get(owner=user, is_default=True)
    assert board.name == ""  # stored neutral, never in the language active when it was created
    for lang, title in (("en", "Saved"), ("zh-hans", "收藏"), ("ms", "Disimpan")):
        with translation.override(lang):
            assert board.title == title
    client.force_login(user)
    client.cookies["meadow_language"] = "zh-hans"
    assert "收藏" in client.get(f"/boards/{board.pk}/").content.decode()
    api = api_for(user)
    assert api.get(f"/api/v1/boards/{board.pk}").json()["name"] == "Saved"
    r = api.post("/api/v1/boards", {"name": "Saved"}, content_type="application/json")
    assert r.status_code == 201  # a board of one's own may still be called that
