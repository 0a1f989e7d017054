"""The engagement pages and htmx fragments: the action bar, board picker, comments, boards, Saved tab, share
card, and a banned account that cannot comment."""

from __future__ import annotations

import pytest

from meadow.engagement.models import Board, Comment, Like, Save
from meadow.engagement.services import note_save
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_note_page_has_real_actions_and_lazy_comments(client, user, note):
    client.force_login(user)
    page = client.get(f"/notes/{note.pk}/").content.decode()
    assert 'data-testid="like-button"' in page and f"/notes/{note.pk}/comments/" in page
    r = client.post(f"/notes/{note.pk}/do/like/?source=discover", **HX)
    assert r.status_code == 200 and 'aria-pressed="true"' in r.content.decode()
    assert Like.objects.filter(user=user, note=note).exists()
    client.post(f"/notes/{note.pk}/do/unlike/", **HX)
    assert not Like.objects.exists()


def test_save_into_a_new_private_board_from_the_picker(client, user, note):
    client.force_login(user)
    picker = client.get(f"/notes/{note.pk}/boards/", **HX).content.decode()
    assert "Save to board" in picker
    r = client.post(f"/notes/{note.pk}/do/save/", {"new_board": "Trips", "private": "1"}, **HX)
    assert r.status_code == 200
    board = Board.objects.get(owner=user, name="Trips")
    assert board.is_private and Save.objects.get(user=user, note=note).board == board


def test_comments_fragment_create_reply_delete(client, user, note):
    client.force_login(user)
    r = client.post(f"/notes/{note.pk}/comments/", {"body": "Looks great"}, **HX)
    assert r.status_code == 200 and "Looks great" in r.content.decode()
    top = Comment.objects.get()
    r = client.post(f"/notes/{note.pk}/comments/", {"body": "me too", "parent": top.pk}, **HX)
    assert 'data-testid="reply"' in r.content.decode()
    r = client.post(f"/notes/{note.pk}/comments/", {"body": " "}, **HX)
    assert "Write something first." in r.content.decode()
    client.post(f"/comments/{top.pk}/delete/", **HX)
    assert not Comment.objects.exists()


def test_anonymous_actions_go_to_login(client, note):
    r = client.post(f"/notes/{note.pk}/do/like/", **HX)
    assert r.status_code == 204 and r["HX-Redirect"].startswith("/login/")
    assert not Like.objects.exists()


@pytest.mark.parametrize(
    "who, status", [("anonymous", 404), ("stranger", 404), ("owner", 200), ("staff", 404)]
)
def test_private_board_page(who, status, client, user, other_user, staff_user, note):
    board = Board.objects.create(owner=user, name="Secret", is_private=True)
    note_save(user=user, note=note, board=board)
    if who != "anonymous":
        client.force_login({"stranger": other_user, "owner": user, "staff": staff_user}[who])
    assert client.get(f"/boards/{board.pk}/").status_code == status
    saved = client.get(f"/@{user.handle}/saved/").content.decode()
    assert ("Secret" in saved) is (who == "owner")


def test_board_page_hides_notes_that_became_private(client, user, note):
    board = Board.objects.create(owner=user, name="Mix")
    note_save(user=user, note=note, board=board)
    hidden = NoteFactory(visibility=Note.Visibility.PRIVATE)
    Save.objects.create(user=user, note=hidden, board=board)
    page = client.get(f"/boards/{board.pk}/").content.decode()
    assert f"/notes/{note.pk}/" in page and f"/notes/{hidden.pk}/" not in page


def test_share_card_is_a_png_with_cjk_text(client, user, other_user):
    from PIL import Image

    note = NoteFactory(author=other_user, title="吉隆坡美食")
    r = client.get(f"/notes/{note.pk}/card.png")
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    import io

    assert Image.open(io.BytesIO(r.content)).size == (750, 1000)
    private = NoteFactory(visibility=Note.Visibility.PRIVATE)
    assert client.get(f"/notes/{private.pk}/card.png").status_code == 404


def test_not_interested_from_a_card(client, user, note):
    client.force_login(user)
    home = client.get("/").content.decode()
    assert f"/api/v1/notes/{note.pk}/not-interested" in home
    r = client.post(f"/notes/{note.pk}/do/not-interested/", **HX)
    assert r.status_code == 200 and r.content == b""
    assert f'data-note-id="{note.pk}"' not in client.get("/").content.decode()


def test_a_banned_account_cannot_comment(api_for, user, note, monkeypatch):
    from meadow.enforcement import services as enforcement

    def banned(*, user, now=None):
        raise enforcement.PostingBanned("You cannot post.")

    monkeypatch.setattr(enforcement, "enforcement_assert_can_post", banned)
    r = api_for(user).post(
        f"/api/v1/notes/{note.pk}/comments", {"body": "hi"}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "posting_banned"
    assert not Comment.objects.exists()
