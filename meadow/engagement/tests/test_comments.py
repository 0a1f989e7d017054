"""Comments in two levels, @mentions, deleting (own / on one's note), pinning, comment likes."""

from __future__ import annotations

import pytest

from meadow.engagement.models import Comment, CommentLike, EngagementEvent, NoteStats
from meadow.notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _post(client, note, body, parent=None):
    data = {"body": body} if parent is None else {"body": body, "parent": parent}
    return client.post(f"/api/v1/notes/{note.pk}/comments", data, content_type="application/json")


def test_thread_of_two_levels_with_mentions_and_notifications(api_for, user, note, run_on_commit):
    UserFactory(handle="friend")
    third = UserFactory()
    with run_on_commit():
        top = _post(api_for(user), note, "Lovely! @friend look")
    assert top.status_code == 201, top.content
    top_id = top.json()["id"]
    with run_on_commit():
        reply = _post(api_for(note.author), note, "Thanks!", parent=top_id)
    with run_on_commit():
        deeper = _post(api_for(third), note, "Agreed", parent=reply.json()["id"])
    assert deeper.status_code == 201
    assert deeper.json()["reply_to"] == note.author.handle
    assert Comment.objects.get(pk=deeper.json()["id"]).parent_id == top_id  # joins the same thread
    note.refresh_from_db()
    assert note.comment_count == 3 and Comment.objects.get(pk=top_id).reply_count == 2
    page = api_for(user).get(f"/api/v1/notes/{note.pk}/comments").json()
    assert [c["id"] for c in page["items"]] == [top_id]
    assert [r["body"] for r in page["items"][0]["replies"]] == ["Thanks!", "Agreed"]
    kinds = set(Notification.objects.values_list("recipient__handle", "kind"))
    assert (note.author.handle, "comment") in kinds
    assert ("friend", "mention") in kinds
    assert (user.handle, "reply") in kinds
    assert NoteStats.objects.get(note=note).signal_score == 12


def test_empty_and_too_long_comments_are_refused(api_for, user, note):
    assert _post(api_for(user), note, "   ").status_code == 400
    assert _post(api_for(user), note, "字" * 501).status_code == 400
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "who, status",
    [("anonymous", 401), ("stranger", 403), ("commenter", 200), ("note_author", 200), ("staff", 403)],
)
def test_delete_matrix(who, status, api_for, anon, user, note, staff_user):
    top = Comment.objects.get(pk=_post(api_for(user), note, "hello").json()["id"])
    _post(api_for(note.author), note, "reply", parent=top.pk)
    client = {
        "anonymous": anon,
        "stranger": api_for(UserFactory()),
        "commenter": api_for(user),
        "note_author": api_for(note.author),
        "staff": api_for(staff_user),
    }[who]
    r = client.delete(f"/api/v1/comments/{top.pk}")
    assert r.status_code == status, r.content
    note.refresh_from_db()
    if status == 200:
        assert r.json() == {"deleted": 2}
        assert note.comment_count == 0 and not Comment.objects.exists()
        assert NoteStats.objects.get(note=note).signal_score == 0
        assert client.delete(f"/api/v1/comments/{top.pk}").status_code == 404
    else:
        assert note.comment_count == 2 and Comment.objects.count() == 2
        assert EngagementEvent.objects.filter(kind="uncomment").count() == 0


def test_only_the_note_author_pins_one_comment(api_for, user, note):
    a = _post(api_for(user), note, "first").json()["id"]
    b = _post(api_for(user), note, "second").json()["id"]
    assert api_for(user).post(f"/api/v1/comments/{a}/pin").status_code == 403
    assert api_for(note.author).post(f"/api/v1/comments/{a}/pin").json() == {"id": a, "pinned": True}
    assert api_for(note.author).post(f"/api/v1/comments/{b}/pin").status_code == 200
    assert list(Comment.objects.filter(is_pinned=True).values_list("pk", flat=True)) == [b]
    items = api_for(user).get(f"/api/v1/notes/{note.pk}/comments").json()["items"]
    assert items[0]["id"] == b and items[0]["pinned"] is True
    assert api_for(note.author).post(f"/api/v1/comments/{b}/pin?pinned=false").json()["pinned"] is False


def test_comment_likes_are_idempotent(api_for, user, note):
    cid = _post(api_for(note.author), note, "hi").json()["id"]
    for _ in range(2):
        r = api_for(user).post(f"/api/v1/comments/{cid}/like")
    assert r.json() == {"liked": True, "likes": 1}
    assert (
        api_for(user).get(f"/api/v1/notes/{note.pk}/comments").json()["items"][0]["viewer"]["liked"] is True
    )
    for _ in range(2):
        r = api_for(user).delete(f"/api/v1/comments/{cid}/like")
    assert r.json() == {"liked": False, "likes": 0} and not CommentLike.objects.exists()


def test_comments_of_a_private_note_are_invisible(api_for, anon, user, other_user):
    from meadow.notes.models import Note
    from meadow.notes.tests.factories import NoteFactory

    private = NoteFactory(author=user, visibility=Note.Visibility.PRIVATE)
    cid = _post(api_for(user), private, "note to self").json()["id"]
    for client in (anon, api_for(other_user)):
        assert client.get(f"/api/v1/notes/{private.pk}/comments").status_code == 404
    assert api_for(other_user).post(f"/api/v1/comments/{cid}/like").status_code == 404
    assert api_for(other_user).delete(f"/api/v1/comments/{cid}").status_code == 404
    assert Comment.objects.filter(pk=cid).exists()


def test_comment_list_query_budget_is_flat(api_for, user, note):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def measure() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api_for(user).get(f"/api/v1/notes/{note.pk}/comments").status_code == 200
        return len(ctx)

    top = _post(api_for(user), note, "one").json()["id"]
    _post(api_for(user), note, "reply", parent=top)
    small = measure()
    for i in range(8):
        t = _post(api_for(UserFactory()), note, f"more {i}").json()["id"]
        _post(api_for(UserFactory()), note, "r", parent=t)
    assert measure() == small


def test_enforcement_hook_is_called(monkeypatch, api_for, user, note):
    from meadow.core.errors import PermissionDenied
    from meadow.engagement import services

    def banned(u):
        raise PermissionDenied("banned", code="posting_banned")

    monkeypatch.setattr(services, "_assert_can_comment", banned)
    assert _post(api_for(user), note, "hello").status_code == 403
    assert not Comment.objects.exists()


def test_replies_page_in_after_the_first_three(api_for, anon, user, other_user, note, client):
    from meadow.engagement import services

    top = services.comment_create(author=user, note=note, body="first!")
    replies = [
        services.comment_create(author=other_user, note=note, body=f"r{i}", parent=top) for i in range(7)
    ]
    listed = anon.get(f"/api/v1/notes/{note.pk}/comments").json()["items"][0]
    assert listed["replies_count"] == 7
    assert [r["body"] for r in listed["replies"]] == ["r0", "r1", "r2"]
    first = anon.get(f"/api/v1/comments/{top.pk}/replies?limit=4").json()
    assert [r["body"] for r in first["items"]] == ["r0", "r1", "r2", "r3"]
    rest = anon.get(f"/api/v1/comments/{top.pk}/replies?limit=4&cursor={first['next_cursor']}").json()
    assert [r["body"] for r in rest["items"]] == ["r4", "r5", "r6"] and rest["next_cursor"] is None
    assert anon.get(f"/api/v1/comments/{top.pk}/replies?cursor=nonsense").status_code == 400
    # the page: three replies shown, then "Show more replies" continues after the third
    html = client.get(f"/notes/{note.pk}/comments/").content.decode()
    assert html.count('data-testid="reply"') == 3 and f"?after={replies[2].pk}" in html
    more = client.get(f"/comments/{top.pk}/replies/?after={replies[2].pk}", HTTP_HX_REQUEST="true")
    assert more.content.decode().count('data-testid="reply"') == 4
    assert client.get(f"/comments/{replies[0].pk}/replies/").status_code == 404  # a reply has no thread


def test_a_blocked_account_s_replies_are_left_out(api_for, user, other_user, note):
    from meadow.accounts.services import block_create
    from meadow.engagement import services

    troll = UserFactory()
    top = services.comment_create(author=note.author, note=note, body="hello")
    services.comment_create(author=troll, note=note, body="from a blocked account", parent=top)
    services.comment_create(author=note.author, note=note, body="from the author", parent=top)
    block_create(blocker=user, blocked=troll)
    api = api_for(user)
    assert [
        r["body"] for r in api.get(f"/api/v1/notes/{note.pk}/comments").json()["items"][0]["replies"]
    ] == ["from the author"]
    assert [r["body"] for r in api.get(f"/api/v1/comments/{top.pk}/replies").json()["items"]] == [
        "from the author"
    ]


def test_more_comments_continue_the_list(client, user, note):
    from meadow.engagement import services

    for i in range(53):
        services.comment_create(author=user, note=note, body=f"c{i}")
    html = client.get(f"/notes/{note.pk}/comments/").content.decode()
    assert html.count('data-testid="comment"') == 50 and 'data-testid="more-comments"' in html
    cursor = html.split(f"/notes/{note.pk}/comments/?cursor=")[1].split('"')[0]
    more = client.get(f"/notes/{note.pk}/comments/?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert more.count('data-testid="comment"') == 3 and "more-comments" not in more
    assert "c0" in more and "c52" not in more
