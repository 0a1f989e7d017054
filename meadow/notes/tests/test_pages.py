"""The notes pages a person uses: note page, composer, topic page, profile grid and feeds, with the same
visibility rules as the API and a query count that does not grow with the page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meadow.accounts.services import follow_create
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory, image_bytes, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "visibility, who, status",
    [
        ("public", "anonymous", 200),
        ("public", "stranger", 200),
        ("followers", "anonymous", 404),
        ("followers", "stranger", 404),
        ("followers", "follower", 200),
        ("followers", "author", 200),
        ("private", "anonymous", 404),
        ("private", "stranger", 404),
        ("private", "follower", 404),
        ("private", "staff", 404),
        ("private", "author", 200),
    ],
)
def test_note_page_respects_visibility(client, visibility, who, status):
    author = UserFactory()
    note = NoteFactory(author=author, visibility=visibility, title="秘密基地")
    viewer = {
        "anonymous": None,
        "stranger": UserFactory(),
        "follower": UserFactory(),
        "staff": UserFactory(is_staff=True),
        "author": author,
    }[who]
    if who == "follower":
        follow_create(follower=viewer, followee=author)
    if viewer is not None:
        client.force_login(viewer)
    response = client.get(f"/notes/{note.pk}/")
    assert response.status_code == status
    assert ("秘密基地" in response.content.decode()) is (status == 200)


def test_private_and_draft_notes_stay_off_other_peoples_grids(client):
    author = UserFactory(handle="grid.author")
    NoteFactory(author=author, title="Public one")
    NoteFactory(author=author, title="Only me", visibility=Note.Visibility.PRIVATE)
    NoteFactory(author=author, title="Half done", status=Note.Status.DRAFT, published_at=None)
    page = client.get("/@grid.author/").content.decode()
    assert "Public one" in page and "Only me" not in page and "Half done" not in page
    home = client.get("/").content.decode()
    assert "Public one" in home and "Only me" not in home and "Half done" not in home
    own = _logged_in(client, author).get("/@grid.author/").content.decode()
    assert "Public one" in own and "Only me" in own
    drafts = client.get("/@grid.author/?drafts=1").content.decode()
    assert "Half done" in drafts


def test_grid_pages_continue_with_a_cursor_fragment(client):
    # 25 authors: Discover shows at most 2 cards of one author in any 20 (distribution)
    notes = [NoteFactory(author=UserFactory(), title=f"card {i:02d}") for i in range(25)]
    first = client.get("/").content.decode()
    assert first.count('class="note-card"') == 20
    cursor = re.search(r"cursor=([\w-]+)", first).group(1)
    fragment = client.get(f"/?cursor={cursor}", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert "<html" not in body
    assert body.count('class="note-card"') == 5
    assert notes[0].title in body and "grid-more" not in body


def test_feed_page_query_count_does_not_grow_with_the_page(client):
    author = UserFactory()
    for i in range(3):
        NoteFactory(author=author, title=f"a{i}")
    with CaptureQueriesContext(connection) as small:
        client.get("/?tab=discover")
    for i in range(17):
        NoteFactory(author=UserFactory(), title=f"b{i}")
    with CaptureQueriesContext(connection) as large:
        client.get("/?tab=discover")
    assert len(large.captured_queries) <= len(small.captured_queries) + 1, [
        q["sql"] for q in large.captured_queries
    ]


def test_following_tab_shows_followed_authors_only(client):
    reader, followed, other = UserFactory(), UserFactory(), UserFactory()
    follow_create(follower=reader, followee=followed)
    NoteFactory(author=followed, title="From a friend", visibility=Note.Visibility.FOLLOWERS)
    NoteFactory(author=other, title="From a stranger")
    page = _logged_in(client, reader).get("/?tab=following").content.decode()
    assert "From a friend" in page and "From a stranger" not in page


def test_topic_page_finds_every_spelling(client, media_root):
    from meadow.notes.services import note_publish

    author = UserFactory()
    note_publish(author=author, title="椰浆饭", body="好吃 #KL美食", images=[upload(image_bytes())])
    for spelling in ("kl美食", "KL美食", "ＫＬ美食"):
        response = client.get(f"/topics/{spelling}/")
        assert response.status_code == 200, spelling
        assert "椰浆饭" in response.content.decode()
    assert client.get("/topics/nobody-used-this/").status_code == 404


def test_composer_publishes_and_shows_clear_errors(client, media_root):
    author = UserFactory()
    _logged_in(client, author)
    assert client.get("/publish/").status_code == 200

    # too many images: refused with a message, nothing saved, the typed text kept
    too_many = [upload(image_bytes(), name=f"p{i}.jpg") for i in range(19)]
    response = client.post("/publish/", {"title": "Nasi lemak", "body": "Sedap!", "images": too_many})
    assert response.status_code == 400
    page = response.content.decode()
    assert "error-box" in page and "Nasi lemak" in page
    assert not Note.objects.filter(author=author).exists()

    response = client.post(
        "/publish/",
        {
            "title": "Nasi lemak",
            "body": "Sedap! #sarapan",
            "hashtags": ["kl"],
            "images": [upload(image_bytes())],
        },
    )
    note = Note.objects.get(author=author)
    assert response.status_code == 302 and response["Location"] == f"/notes/{note.pk}/"
    assert {link.hashtag.name for link in note.hashtag_links.all()} == {"sarapan", "kl"}

    draft = client.post("/publish/", {"title": "Later", "draft": "1", "images": [upload(image_bytes())]})
    saved = Note.objects.get(author=author, title="Later")
    assert draft.status_code == 302 and saved.status == Note.Status.DRAFT
    assert client.post(f"/notes/{saved.pk}/publish/").status_code == 302
    saved.refresh_from_db()
    assert saved.status == Note.Status.PUBLISHED


def test_composer_needs_a_signed_in_creator(client):
    response = client.get("/publish/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_only_the_author_deletes_a_note(client):
    author, other = UserFactory(), UserFactory()
    note = NoteFactory(author=author)
    assert _logged_in(client, other).post(f"/notes/{note.pk}/delete/").status_code == 404
    note.refresh_from_db()
    assert note.status == Note.Status.PUBLISHED
    assert _logged_in(client, author).post(f"/notes/{note.pk}/delete/").status_code == 302
    note.refresh_from_db()
    assert note.status == Note.Status.REMOVED
    assert client.get(f"/notes/{note.pk}/").status_code == 404


def test_body_links_topics_and_mentions_and_escapes_html(client):
    UserFactory(handle="lily")
    note = NoteFactory(body="<script>alert(1)</script> with @lily #KL美食")
    page = client.get(f"/notes/{note.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="/@lily/"' in page
    assert 'href="/topics/kl%E7%BE%8E%E9%A3%9F/"' in page or 'href="/topics/kl美食/"' in page
