"""Enforcement: the ladders from first to last step, expiry, the publish gates, the shared limited filter,
appeals, reports and who may decide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from meadow.accounts.models import ApiToken
from meadow.core.models import OutboxEvent
from meadow.enforcement import selectors, services
from meadow.enforcement.models import Appeal, BlockedAttempt, Decision, ReviewItem, Sanction, Violation
from meadow.notes import selectors as note_selectors
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory, jpeg

pytestmark = pytest.mark.django_db

REDIRECT = "加我薇信 lily1998"
ABSOLUTE = "全网最好用的面霜"


def _offend(user, type="content", **kw):
    return services.violation_record(account=user, type=type, category="test", rule="test:rule", **kw)


def _kinds(user):
    return [
        (s.kind, None if s.ends_at is None else round((s.ends_at - s.starts_at).days))
        for s in Sanction.objects.filter(account=user, lifted_at__isnull=True).order_by("id")
    ]


# --- the ladders ------------------------------------------------------------------------------------------------
def test_content_ladder_warning_then_14_day_limit_then_permanent_ban(user):
    for _ in range(3):
        _offend(user, "content")
    assert _kinds(user) == [("warning", 0), ("visibility_limit", 14), ("posting_ban", None)]
    with pytest.raises(services.PostingBanned) as exc:
        services.enforcement_assert_can_post(user=user)
    assert exc.value.code == "posting_banned" and "permanently" in str(exc.value.message)


def test_behaviour_ladder_to_suspension(user, api_for):
    client = api_for(user)
    for _ in range(4):
        _offend(user, "behaviour")
    assert _kinds(user) == [
        ("warning", 0), ("posting_ban", 7), ("posting_ban", None), ("suspension", None)
    ]  # fmt: skip
    user.refresh_from_db()
    assert not user.is_active
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert client.get("/api/v1/me/status").status_code == 401


def test_channel_ladder_to_suspension(user):
    for _ in range(5):
        _offend(user, "channel")
    kinds = [k for k, _d in _kinds(user)]
    assert kinds == ["warning", "visibility_limit", "posting_ban", "suspension", "suspension"]


def test_severe_content_is_a_platform_ban_at_once(user):
    _offend(user, "content", severity="severe")
    assert _kinds(user) == [("suspension", None)]


def test_ladder_is_data(user, settings):
    settings.MEADOW_PENALTY_LADDER = {"content": [{"sanction": "posting_ban", "days": 3}]}
    _offend(user, "content")
    assert _kinds(user) == [("posting_ban", 3)]


def test_suspended_account_cannot_log_in_and_is_told_why(user, anon, client):
    _offend(user, "content", severity="severe")
    r = anon.post("/api/v1/auth/token", {"login": user.handle, "password": "correct horse battery"},
                  content_type="application/json")  # fmt: skip
    assert r.status_code == 403 and r.json()["error"]["code"] == "account_suspended"
    r = client.post("/login/", {"login": user.handle, "password": "correct horse battery"})
    assert r.status_code == 200 and "suspended" in r.content.decode()
    assert "_auth_user_id" not in client.session


# --- expiry -------------------------------------------------------------------------------------------------------
def test_a_14_day_limit_expires_on_time_without_a_cron(user, monkeypatch):
    _offend(user)
    _offend(user)
    note = NoteFactory(author=user)
    assert not note_selectors.notes_latest_public(viewer=None)["items"]
    later = timezone.now() + timedelta(days=14, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert [n.pk for n in note_selectors.notes_latest_public(viewer=None)["items"]] == [note.pk]
    assert services.sanctions_expire() == 2  # the warning and the limit get their stamp
    assert services.sanctions_expire() == 0  # idempotent


def test_temporary_ban_ends_and_beat_reactivates_a_temporary_suspension(user, settings, monkeypatch):
    settings.MEADOW_PENALTY_LADDER = {"behaviour": [{"sanction": "suspension", "days": 2}]}
    _offend(user, "behaviour")
    user.refresh_from_db()
    assert not user.is_active
    later = timezone.now() + timedelta(days=2, seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    services.sanctions_expire()
    user.refresh_from_db()
    assert user.is_active


# --- the doors ----------------------------------------------------------------------------------------------------
@pytest.fixture
def banned(user):
    for _ in range(3):
        _offend(user)
    return user


@pytest.mark.usefixtures("media_root")
def test_banned_author_is_refused_by_the_api_and_nothing_is_written(banned, api_for):
    r = api_for(banned).post("/api/v1/notes", {"title": "hi", "body": "hello", "images": [jpeg()]})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "posting_banned"
    assert not Note.objects.filter(author=banned).exists()


@pytest.mark.usefixtures("media_root")
def test_banned_author_is_refused_by_the_composer_page(banned, client):
    client.force_login(banned)
    r = client.post("/publish/", {"title": "hi", "body": "hello", "images": [jpeg()]})
    assert r.status_code == 400 and "You cannot post" in r.content.decode()
    assert not Note.objects.filter(author=banned).exists()


def test_ban_with_an_end_names_the_date(user):
    _offend(user, "behaviour")
    _offend(user, "behaviour")
    with pytest.raises(services.PostingBanned) as exc:
        services.enforcement_assert_can_post(user=user)
    assert "until" in str(exc.value.message)
    later = timezone.now() + timedelta(days=7, seconds=1)
    services.enforcement_assert_can_post(user=user, now=later)  # over: no error


def test_comments_door_is_the_same_function(banned, other_user):
    """The engagement app calls ``enforcement_assert_can_post`` before saving a comment."""
    with pytest.raises(services.PostingBanned):
        services.enforcement_assert_can_post(user=banned)
    services.enforcement_assert_can_post(user=other_user)


# --- the publish gate -----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("media_root")
def test_blocked_text_is_refused_with_the_findings_and_is_no_violation(user, api_for):
    """Refusing at publish is the rule working: nothing was published, so no violation, no sanction, no notice
    (issue #23, finding 3; it used to record a warning and send a notice)."""
    client = api_for(user)
    for _ in range(2):
        r = client.post("/api/v1/notes", {"title": "hi", "body": REDIRECT, "images": [jpeg()]})
        assert r.status_code == 400
        body = r.json()
        assert body["error"]["code"] == "moderation_blocked"
        assert body["moderation"]["verdict"] == "block"
        hit = body["moderation"]["hits"][0]
        assert hit["category"] == "redirect" and f"hi\n{REDIRECT}"[hit["start"] : hit["end"]] == hit["match"]
    assert not Note.objects.filter(author=user).exists()
    assert not Violation.objects.filter(account=user).exists()
    assert _kinds(user) == []
    assert not OutboxEvent.objects.filter(topic=services.VIOLATION_RECORDED).exists()
    assert BlockedAttempt.objects.filter(account=user, category="redirect").count() == 2


@pytest.mark.usefixtures("media_root")
def test_forcing_blocked_text_through_is_a_violation_at_the_limit_of_attempts(user, api_for, settings):
    """The MEADOW_BLOCKED_ATTEMPTS_LIMIT-th refused attempt within the window records one violation (with a
    notice); counting starts again after it; attempts older than the window do not count."""
    settings.MEADOW_BLOCKED_ATTEMPTS_LIMIT = 3
    settings.MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS = 24
    client = api_for(user)

    def attempt(n):
        r = client.post("/api/v1/notes", {"title": f"try {n}", "body": REDIRECT, "images": [jpeg()]})
        assert r.status_code == 400 and r.json()["error"]["code"] == "moderation_blocked"

    attempt(0)
    BlockedAttempt.objects.update(created_at=timezone.now() - timedelta(hours=25))  # yesterday's: not counted
    attempt(1)
    attempt(2)
    assert not Violation.objects.filter(account=user).exists()
    attempt(3)  # the third within 24 h
    violation = Violation.objects.get(account=user)
    assert violation.category == "redirect" and violation.evidence["blocked_attempts"] == 3
    assert _kinds(user) == [("warning", 0)]
    assert OutboxEvent.objects.filter(topic=services.VIOLATION_RECORDED).count() == 1
    attempt(4)
    attempt(5)
    assert Violation.objects.filter(account=user).count() == 1  # counting started again after the violation
    attempt(6)
    assert Violation.objects.filter(account=user).count() == 2


@pytest.mark.usefixtures("media_root")
def test_review_verdict_publishes_held_out_of_feeds(user, api_for, moderator):
    r = api_for(user).post("/api/v1/notes", {"title": "hi", "body": ABSOLUTE, "images": [jpeg()]})
    assert r.status_code == 201, r.content
    assert r.json()["moderation"]["verdict"] == "review" and r.json()["status"] == "published"
    note = Note.objects.get(pk=r.json()["id"])
    item = ReviewItem.objects.get(kind="held", target_id=note.pk)
    assert not note_selectors.notes_latest_public(viewer=None)["items"]
    services.review_decide(item=item, moderator=moderator, decision="approve")
    assert [n.pk for n in note_selectors.notes_latest_public(viewer=None)["items"]] == [note.pk]
    assert Decision.objects.filter(action="review_approve", moderator=moderator).exists()


@pytest.mark.usefixtures("media_root")
def test_a_held_note_opens_only_for_its_author_until_approved(user, other_user, api_for, client, moderator):
    r = api_for(user).post("/api/v1/notes", {"title": "hi", "body": ABSOLUTE, "images": [jpeg()]})
    note_id = r.json()["id"]
    item = ReviewItem.objects.get(kind="held", target_id=note_id)
    # not even the direct link shows it to anyone else while a moderator has not decided (审核中)
    assert api_for(other_user).get(f"/api/v1/notes/{note_id}").status_code == 404
    assert client.get(f"/notes/{note_id}/").status_code == 404
    assert api_for(other_user).post(f"/api/v1/notes/{note_id}/like").status_code == 404
    assert api_for(user).get(f"/api/v1/notes/{note_id}").status_code == 200
    services.review_decide(item=item, moderator=moderator, decision="approve")
    assert api_for(other_user).get(f"/api/v1/notes/{note_id}").status_code == 200


@pytest.mark.usefixtures("media_root")
def test_pass_publishes_with_an_empty_moderation_block(user, api_for):
    r = api_for(user).post("/api/v1/notes", {"title": "hi", "body": "A day in KL.", "images": [jpeg()]})
    assert r.status_code == 201 and r.json()["moderation"] == {"verdict": "pass", "hits": []}


def test_profile_bio_with_a_redirect_is_refused_with_findings(user, api_for):
    r = api_for(user).patch("/api/v1/me", {"bio": REDIRECT}, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "moderation_blocked" and r.json()["moderation"]["hits"]
    user.refresh_from_db()
    assert user.bio == ""


# --- the shared limited filter --------------------------------------------------------------------------------
def test_limited_account_is_absent_from_every_feed_selector_but_not_from_its_own_profile(user, other_user):
    from meadow.accounts.services import follow_create

    note = NoteFactory(author=user, location_name="Bangsar")
    from meadow.notes.models import Hashtag, NoteHashtag

    tag = Hashtag.objects.create(name="kl", display_name="KL")
    NoteHashtag.objects.create(note=note, hashtag=tag, position=0)
    follow_create(follower=other_user, followee=user)
    _offend(user)
    _offend(user)  # 14-day visibility limit
    assert not note_selectors.notes_latest_public(viewer=other_user)["items"]
    assert not note_selectors.notes_following(viewer=other_user)["items"]
    assert not note_selectors.notes_nearby(viewer=other_user, place="Bangsar")["items"]
    assert not note_selectors.notes_for_hashtag(viewer=other_user, hashtag=tag)["items"]
    assert not note_selectors.notes_for_profile(viewer=other_user, author=user)["items"]
    assert [n.pk for n in note_selectors.notes_for_profile(viewer=user, author=user)["items"]] == [note.pk]
    assert selectors.notes_limited_ids(note_ids=[note.pk]) == {note.pk}


def test_the_author_sees_a_limited_mark_on_their_own_cards_and_nobody_else_does(user, other_user, client):
    limited, fine = NoteFactory(author=user), NoteFactory(author=user)
    services.enforcement_record_finding(obj=limited, category="plagiarism", evidence={}, severity="medium")
    client.force_login(user)
    html = client.get(f"/@{user.handle}/").content.decode()
    assert html.count("badge-limited") == 1
    card = html[html.index(f'data-note-id="{limited.pk}"') :]
    assert card.index("badge-limited") < card.index("</article>")
    assert f'data-note-id="{fine.pk}"' in html
    client.force_login(other_user)
    assert "badge-limited" not in client.get(f"/@{user.handle}/").content.decode()


def test_a_finding_after_publishing_limits_or_removes_the_note(user):
    limited = NoteFactory(author=user)
    removed = NoteFactory(author=user)
    services.enforcement_record_finding(
        obj=limited, category="plagiarism", evidence={"image": "/media/x.webp"}, severity="medium"
    )
    services.enforcement_record_finding(
        obj=removed, category="adult", evidence={"score": 0.97}, severity="high"
    )
    removed.refresh_from_db()
    assert removed.status == Note.Status.REMOVED
    assert selectors.note_is_limited(note_id=limited.pk)
    # idempotent: the same finding again records nothing new
    services.enforcement_record_finding(obj=removed, category="adult", evidence={}, severity="high")
    assert Violation.objects.filter(account=user).count() == 2


# --- appeals --------------------------------------------------------------------------------------------------
def test_upheld_appeal_voids_the_violation_lifts_its_limit_and_recomputes_the_ladder(user, moderator):
    first = _offend(user)
    second = _offend(user)  # the limit
    note = NoteFactory(author=user)
    assert not note_selectors.notes_latest_public(viewer=None)["items"]
    appeal = services.appeal_create(user=user, violation_id=first.pk, text="That was not me.")
    with pytest.raises(Exception) as again:
        services.appeal_create(user=user, violation_id=first.pk, text="Again.")
    assert getattr(again.value, "code", "") == "already_appealed"
    services.appeal_decide(appeal=appeal, moderator=moderator, decision="uphold", response="Agreed.")
    assert Violation.objects.filter(voids=first).exists()  # a correction record; nothing deleted
    assert Violation.objects.filter(pk=first.pk).exists()
    # the second violation is now the first that counts: a warning, no limit
    assert [s.kind for s in Sanction.objects.filter(violation=second, lifted_at__isnull=True)] == ["warning"]
    assert [n.pk for n in note_selectors.notes_latest_public(viewer=None)["items"]] == [note.pk]
    appeal.refresh_from_db()
    assert appeal.state == Appeal.State.UPHELD
    assert Decision.objects.filter(action="appeal_uphold").count() == 1


def test_upheld_appeal_restores_removed_content(user, moderator):
    note = NoteFactory(author=user)
    v = services.enforcement_record_finding(obj=note, category="adult", evidence={}, severity="high")
    appeal = services.appeal_create(user=user, violation_id=v.pk, text="A statue in a museum.")
    services.appeal_decide(appeal=appeal, moderator=moderator, decision="uphold")
    note.refresh_from_db()
    assert note.status == Note.Status.PUBLISHED


def test_cannot_appeal_someone_elses_violation(user, other_user):
    v = _offend(other_user)
    with pytest.raises(Exception) as exc:
        services.appeal_create(user=user, violation_id=v.pk, text="x")
    assert getattr(exc.value, "status", None) == 404


# --- reports ------------------------------------------------------------------------------------------------------
def test_reports_land_in_the_queue_and_a_removal_records_a_violation(user, other_user, moderator):
    note = NoteFactory(author=other_user, body=REDIRECT)
    item = services.report_create(
        reporter=user, target_type="note", target_id=str(note.pk), reason="redirect"
    )
    assert item.kind == "report" and item.findings["verdict"] == "block"
    services.review_decide(item=item, moderator=moderator, decision="remove")
    note.refresh_from_db()
    assert note.status == Note.Status.REMOVED
    assert Violation.objects.filter(account=other_user, category="redirect").count() == 1
    account_report = services.report_create(
        reporter=user, target_type="account", target_id=other_user.handle, reason="fake"
    )
    assert account_report.account == other_user


def test_comment_reports_are_generic(user, other_user):
    with pytest.raises(Exception) as exc:
        services.report_create(reporter=user, target_type="message", target_id="1", reason="spam")
    assert getattr(exc.value, "status", None) == 404
