"""'Delete my account': re-confirmed request, grace period cancelled by logging in, then an idempotent erasure
that leaves nothing searchable, corrects every counter and keeps orders with the buyer anonymised."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from meadow.accounts.models import ApiToken, Follow, User
from meadow.engagement.models import Board, Comment, Like, Save
from meadow.notes.models import Hashtag, Note
from meadow.notifications.models import Notification
from meadow.orders.models import Address, Order
from meadow.privacy import services
from meadow.privacy.models import AccountDeletion
from meadow.search.models import NoteSearchDoc

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def _schedule(user, client):
    response = client.post("/api/v1/me/deletion", {"password": PASSWORD}, content_type="application/json")
    assert response.status_code == 202, response.content
    return response


def _make_due(user):
    AccountDeletion.objects.filter(user=user, status="scheduled").update(
        scheduled_for=timezone.now() - timedelta(seconds=1)
    )


def test_request_is_reconfirmed_with_the_password(user, api_for):
    client = api_for(user)
    for body, code in (({}, "required"), ({"password": "wrong one"}, "wrong_password")):
        response = client.post("/api/v1/me/deletion", body, content_type="application/json")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == code and error["field"] == "password" and error["message"]
    assert not AccountDeletion.objects.exists()

    first = _schedule(user, client).json()
    assert set(first) == {"status", "scheduled_for"} and first["status"] == "scheduled"
    scheduled = AccountDeletion.objects.get(user=user)
    assert timedelta(days=13, hours=23) < scheduled.scheduled_for - timezone.now() <= timedelta(days=14)
    again = _schedule(user, client).json()  # idempotent: the same request
    assert again["scheduled_for"] == first["scheduled_for"] and AccountDeletion.objects.count() == 1
    assert client.get("/api/v1/me/deletion").json()["scheduled"] is True
    assert Notification.objects.filter(recipient=user, data__deletion=scheduled.pk).exists()


def test_bad_bodies_are_400_and_change_nothing(user, api_for):
    client = api_for(user)
    for body in ('{"password": 5}', "[]", '{"password": "' + "x" * 300 + '"}'):
        response = client.post("/api/v1/me/deletion", body, content_type="application/json")
        assert response.status_code == 400 and set(response.json()["error"]) == {"code", "message", "field"}
    assert not AccountDeletion.objects.exists()


def test_phone_only_account_reconfirms_with_an_sms_code(db, api_for, anon, sms_code):
    person = User.objects.create_user("phone_only", phone="+60123450000")
    client = api_for(person)
    missing = client.post("/api/v1/me/deletion", {}, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "code"
    assert (
        anon.post(
            "/api/v1/auth/phone/code", {"phone": "+60123450000"}, content_type="application/json"
        ).status_code
        == 202
    )
    wrong = client.post("/api/v1/me/deletion", {"code": "000000"}, content_type="application/json")
    assert wrong.status_code == 400 and not AccountDeletion.objects.exists()
    right = client.post(
        "/api/v1/me/deletion", {"code": sms_code("+60123450000")}, content_type="application/json"
    )
    assert (
        right.status_code == 202 and AccountDeletion.objects.filter(user=person, status="scheduled").exists()
    )


def test_delete_cancels(user, api_for):
    client = api_for(user)
    _schedule(user, client)
    assert client.delete("/api/v1/me/deletion").status_code == 204
    assert AccountDeletion.objects.get(user=user).status == "cancelled"
    assert client.delete("/api/v1/me/deletion").status_code == 204  # idempotent
    assert services.account_deletions_run_due(now=timezone.now() + timedelta(days=30)) == 0
    assert User.objects.get(pk=user.pk).is_active


def test_logging_in_during_the_grace_period_cancels_and_says_so(user, api_for):
    _schedule(user, api_for(user))
    browser = Client()
    response = browser.post("/login/", {"login": user.handle, "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert "will not be deleted" in response.content.decode()
    assert AccountDeletion.objects.get(user=user).status == "cancelled"
    assert Notification.objects.filter(recipient=user, data__deletion="cancelled").exists()
    _make_due(user)
    assert services.account_deletions_run_due() == 0
    assert User.objects.get(pk=user.pk).handle == user.handle


def test_issuing_an_api_token_cancels_too(user, api_for, anon):
    _schedule(user, api_for(user))
    response = anon.post(
        "/api/v1/auth/token", {"login": user.handle, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    assert AccountDeletion.objects.get(user=user).status == "cancelled"


def _search(client, q, kind):
    return client.get("/api/v1/search", {"q": q, "type": kind}).json()["items"]


def test_erasure_leaves_nothing_searchable_corrects_counters_and_keeps_orders(
    world, api_for, anon, django_capture_on_commit_callbacks
):
    owner, friend = world.owner, world.friend
    token_client = api_for(owner)
    session_client = Client()
    session_client.force_login(owner)
    media = [Path(i.detail.path) for n in world.own_notes for i in n.images.all()]
    assert all(p.exists() for p in media)
    # before: the account and its notes are found
    assert _search(anon, "Siti", "users") and _search(anon, "kuih lapis", "notes")
    assert Hashtag.objects.get(name="kuihraya").use_count == 2
    friend_note = Note.objects.get(pk=world.friend_note.pk)
    assert (friend_note.like_count, friend_note.save_count, friend_note.comment_count) == (1, 1, 2)
    assert (friend.followers_count, friend.following_count, friend.likes_saves_received_count) == (1, 1, 2)
    assert Board.objects.get(owner=friend, is_default=True).note_count == 1

    _schedule(owner, token_client)
    _make_due(owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.account_deletions_run_due() == 1

    gone = User.objects.get(pk=owner.pk)
    assert gone.handle == f"deleted-{owner.pk}" and not gone.is_active and not gone.has_usable_password()
    assert (gone.email, gone.phone, gone.bio, gone.location, gone.avatar.name) == (None, None, "", "", "")
    assert gone.display_name != "Siti Kuihraya"
    # notes, their media and their search entries
    assert not Note.objects.filter(author=owner).exclude(status="removed").exists()
    assert not Note.objects.filter(author=owner).exclude(title="", body="").exists()
    assert not any(p.exists() for p in media)
    assert not NoteSearchDoc.objects.filter(note__author=owner).exists()
    for q in ("Siti", "siti_bakes", "Kuihraya"):
        assert _search(anon, q, "users") == []
    assert _search(anon, "kuih lapis", "notes") == [] and _search(anon, "onde", "notes") == []
    assert _search(anon, "kuihraya", "hashtags") == []
    assert Hashtag.objects.get(name="kuihraya").use_count == 0
    # likes, saves, comments, follows gone with every counter corrected
    friend_note.refresh_from_db()
    friend.refresh_from_db()
    assert (friend_note.like_count, friend_note.save_count, friend_note.comment_count) == (0, 0, 0)
    assert (friend.followers_count, friend.following_count, friend.likes_saves_received_count) == (0, 0, 0)
    assert not Like.objects.filter(user=owner).exists() and not Save.objects.filter(user=owner).exists()
    # the friend's save of the owner's note leaves the friend's board, its count corrected
    assert not Save.objects.filter(note__author=owner).exists()
    assert Board.objects.get(owner=friend, is_default=True).note_count == 0
    assert not Comment.objects.filter(author=owner).exists()
    assert (
        not Follow.objects.filter(follower=owner).exists()
        and not Follow.objects.filter(followee=owner).exists()
    )
    # orders kept for the merchant, the buyer anonymised; the address book gone
    order = Order.objects.get(pk=world.order.pk)
    assert order.buyer_id == owner.pk and order.total == world.order.total
    address = order.shipping_address
    assert (address["phone"], address["line1"], address["line2"]) == ("", "", "")
    assert address["recipient_name"] != "Siti Aminah" and address["state"] == "KUL"
    assert not Address.objects.filter(user=owner).exists()
    # sessions and tokens end
    assert not ApiToken.objects.filter(user=owner, revoked_at__isnull=True).exists()
    assert token_client.get("/api/v1/me").status_code == 401
    assert session_client.get("/api/v1/me").status_code == 401
    assert (
        Client().post("/login/", {"login": "siti_bakes", "password": PASSWORD}).wsgi_request.user.is_anonymous
    )
    assert AccountDeletion.objects.get(user=owner).status == "completed"

    # idempotent: running the job or the erasure again changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert services.account_deletions_run_due() == 0
        assert services.account_erase(user=gone) == dict.fromkeys(services.account_erase(user=gone), 0)
    assert Order.objects.get(pk=world.order.pk).shipping_address == address


def test_others_cannot_touch_someone_elses_deletion(user, other_user, api_for, anon, staff_user):
    _schedule(user, api_for(user))
    before = list(AccountDeletion.objects.values_list("id", "user_id", "status", "scheduled_for"))
    # anonymous: 401, nothing changes
    assert anon.delete("/api/v1/me/deletion").status_code == 401
    assert (
        anon.post("/api/v1/me/deletion", {"password": PASSWORD}, content_type="application/json").status_code
        == 401
    )
    # other user and staff act on their own account only: the owner's request is untouched
    for client in (api_for(other_user), api_for(staff_user)):
        assert client.get("/api/v1/me/deletion").json()["scheduled"] is False
        assert client.delete("/api/v1/me/deletion").status_code == 204
    assert list(AccountDeletion.objects.values_list("id", "user_id", "status", "scheduled_for")) == before
    assert api_for(user).get("/api/v1/me/deletion").json()["scheduled"] is True


def test_logging_in_by_sms_code_cancels_too(db, api_for, sms_code):
    person = User.objects.create_user("sms_login", phone="+60123451111")
    AccountDeletion.objects.create(user=person, scheduled_for=timezone.now() + timedelta(days=14))
    browser = Client()
    browser.post("/login/code/", {"step": "phone", "phone": "+60123451111"})
    response = browser.post(
        "/login/code/",
        {"step": "code", "phone": "+60123451111", "code": sms_code("+60123451111")},
        follow=True,
    )
    assert response.wsgi_request.user.pk == person.pk
    assert "will not be deleted" in response.content.decode()
    assert AccountDeletion.objects.get(user=person).status == "cancelled"
