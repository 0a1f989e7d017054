"""The enforcement API and the moderators' console: status, reports, appeals, decisions, and who is refused."""

from __future__ import annotations

import pytest

from meadow.enforcement import services
from meadow.enforcement.models import Appeal, Decision, ReviewItem, Violation
from meadow.notes.tests.factories import NoteFactory
from meadow.notifications.text import notification_summary
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def offender(db, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):  # the notice is told after the commit (the outbox)
        _record_redirect(user)
    return user


def _record_redirect(user):
    services.violation_record(
        account=user,
        type="content",
        category="redirect",
        rule="redirect:薇信",
        evidence={"text": "加我薇信", "field": "note", "hits": [
            {"category": "redirect", "start": 2, "end": 4, "match": "薇信", "rule": "redirect:薇信",
             "severity": "high", "suggestion": "Remove it"}]},
    )  # fmt: skip


def test_status_shows_sanctions_and_violations_with_spans(offender, api_for):
    r = api_for(offender).get("/api/v1/me/status")
    assert r.status_code == 200
    data = r.json()
    assert data["state"] == "ok" and data["history"][0]["kind"] == "warning"
    [v] = data["violations"]
    assert v["rule"] == "redirect:薇信" and v["evidence"]["hits"][0]["match"] == "薇信" and v["can_appeal"]


def test_status_answers_an_image_scans_violation_with_the_images_address(api_for, client):
    """An image scan's evidence names the note image by id with its stored file (``moderation._scan_image``); the
    status answer gave that number where its schema says a string: 500 for the account from then on."""
    user = UserFactory()
    services.violation_record(
        account=user,
        type="content",
        category="redirect",
        rule="ocr:redirect",
        evidence={"image": 670, "position": 0, "file": "notes/2026/12/abc.webp", "text": "wechat abc12345",
                  "field": "image"},
    )  # fmt: skip
    r = api_for(user).get("/api/v1/me/status")
    assert r.status_code == 200
    [v] = r.json()["violations"]
    assert v["evidence"]["image"].endswith("/notes/2026/12/abc.webp")
    client.force_login(user)
    page = client.get("/me/status/")
    assert page.status_code == 200 and 'src="/media/notes/2026/12/abc.webp"' in page.content.decode()


def test_status_needs_sign_in(anon):
    assert anon.get("/api/v1/me/status").status_code == 401


def test_appeal_via_api_once(offender, api_for):
    client = api_for(offender)
    vid = Violation.objects.get(account=offender).pk
    r = client.post("/api/v1/appeals", {"violation_id": vid, "text": "Not a contact."}, content_type=JSON)
    assert r.status_code == 201 and r.json()["state"] == "pending"
    r = client.post("/api/v1/appeals", {"violation_id": vid, "text": "Again"}, content_type=JSON)
    assert r.status_code == 409


def test_report_via_api(user, other_user, api_for):
    note = NoteFactory(author=other_user)
    r = api_for(user).post(
        "/api/v1/reports",
        {"target_type": "note", "target_id": str(note.pk), "reason": "spam"},
        content_type=JSON,
    )
    assert r.status_code == 201
    assert ReviewItem.objects.filter(kind="report", target_id=note.pk, reporter=user).exists()
    r = api_for(user).post(
        "/api/v1/reports", {"target_type": "note", "target_id": "999999", "reason": "spam"}, content_type=JSON
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    "who, status", [("anonymous", 401), ("user", 403), ("staff", 403), ("moderator", 200)]
)
def test_appeal_decision_authorization_matrix(who, status, offender, moderator, api_for, anon):
    vid = Violation.objects.get(account=offender).pk
    appeal = services.appeal_create(user=offender, violation_id=vid, text="please")
    clients = {
        "anonymous": anon,
        "user": api_for(UserFactory()),
        "staff": api_for(UserFactory(is_staff=True)),  # staff without the moderator permission
        "moderator": api_for(moderator),
    }
    r = clients[who].post(
        f"/api/v1/moderation/appeals/{appeal.pk}/decision", {"decision": "uphold"}, content_type=JSON
    )
    assert r.status_code == status
    appeal.refresh_from_db()
    assert (appeal.state == Appeal.State.UPHELD) is (status == 200)
    assert Decision.objects.exists() is (status == 200)


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("user", 403), ("moderator", 200)])
def test_review_decision_authorization_matrix(who, status, user, other_user, moderator, api_for, anon):
    note = NoteFactory(author=other_user)
    item = services.report_create(reporter=user, target_type="note", target_id=str(note.pk), reason="spam")
    clients = {"anonymous": anon, "user": api_for(UserFactory()), "moderator": api_for(moderator)}
    r = clients[who].post(
        f"/api/v1/moderation/reviews/{item.pk}/decision",
        {"decision": "violation", "type": "behaviour"},
        content_type=JSON,
    )
    assert r.status_code == status
    item.refresh_from_db()
    assert (item.state == "actioned") is (status == 200)
    assert Violation.objects.filter(account=other_user, type="behaviour").exists() is (status == 200)


def test_console_is_for_moderators_only(client, moderator, offender):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/enforcement/reviewitem/?state__exact=pending").status_code == 403
    assert client.get("/admin/enforcement/appeal/").status_code == 403
    client.force_login(UserFactory())
    assert client.get("/admin/enforcement/appeal/").status_code == 302  # to the admin login
    client.force_login(moderator)
    assert client.get("/admin/enforcement/reviewitem/").status_code == 302  # to the pending queue
    assert client.get("/admin/enforcement/reviewitem/?state__exact=pending").status_code == 200
    assert client.get(f"/admin/enforcement/violation/?account__id__exact={offender.pk}").status_code == 200
    assert client.get("/admin/moderation/lexiconentry/").status_code == 200


def test_console_uphold_action_is_audited(client, moderator, offender):
    vid = Violation.objects.get(account=offender).pk
    appeal = services.appeal_create(user=offender, violation_id=vid, text="please")
    client.force_login(moderator)
    r = client.post(
        "/admin/enforcement/appeal/", {"action": "uphold", "_selected_action": [appeal.pk], "index": 0}
    )
    assert r.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "upheld"
    assert Decision.objects.filter(moderator=moderator, action="appeal_uphold").exists()


def test_console_decision_carries_a_reason_to_the_owner(
    client, moderator, user, other_user, django_capture_on_commit_callbacks
):
    note = NoteFactory(author=other_user)
    item = services.report_create(
        reporter=user, target_type="note", target_id=str(note.pk), reason="spam", text="ads"
    )
    client.force_login(moderator)
    with django_capture_on_commit_callbacks(execute=True):  # the notice is told after the commit (the outbox)
        r = client.post(
            "/admin/enforcement/reviewitem/",
            {
                "action": "violation_behaviour",
                "_selected_action": [item.pk],
                "index": 0,
                "reason": "  Repeated   ads for the same shop ",
            },
        )
    assert r.status_code == 302
    assert Decision.objects.get(action="review_violation").reason == "Repeated ads for the same shop"
    violation = Violation.objects.get(account=other_user)
    assert violation.evidence["reason"] == "Repeated ads for the same shop"
    from meadow.notifications.models import Notification

    notice = Notification.objects.filter(recipient=other_user).latest("pk")
    assert "Repeated ads for the same shop" in notification_summary(notice)
    client.force_login(other_user)
    page = client.get("/me/status/").content.decode()
    assert 'data-testid="moderator-note"' in page and "Repeated ads for the same shop" in page


def test_console_reports_counts_in_the_right_plural(client, moderator, offender):
    vid = Violation.objects.get(account=offender).pk
    appeal = services.appeal_create(user=offender, violation_id=vid, text="please")
    client.force_login(moderator)
    r = client.post(
        "/admin/enforcement/appeal/",
        {"action": "reject", "_selected_action": [appeal.pk], "index": 0, "reason": "It was an ad."},
        follow=True,
    )
    assert "1 appeal decided." in r.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "rejected" and appeal.response == "It was an ad."


def test_status_page_in_three_languages(offender, client):
    client.force_login(offender)
    # the category by name and the policy's advice in the reader's language (stored as code and English)
    for lang, category, advice in (
        ("en", "Redirect off the platform", "Remove it"),
        ("zh-hans", "导流到站外", "请删除"),
        ("ms", "Mengalih ke luar platform", "Buang"),
    ):
        client.cookies["meadow_language"] = lang
        r = client.get("/me/status/")
        page = r.content.decode()
        assert r.status_code == 200 and "<mark" in page and "薇信" in page
        assert category in page and f"<em>{advice}</em>" in page, lang


def test_violation_notice_names_the_category(offender):
    from meadow.notifications.models import Notification

    notice = Notification.objects.filter(recipient=offender).latest("pk")
    assert "Redirect off the platform" in notification_summary(
        notice
    ) and "redirect:" not in notification_summary(notice)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Only trying to publish refused text 5 times within 24 hours counts as one violation."),
        ("zh-hans", "只有在 24 小时内 5 次尝试发布被拒绝的文字，才会计为一次违规。"),
        (
            "ms",
            "Hanya cubaan menerbitkan teks yang ditolak sebanyak 5 kali dalam 24 jam dikira sebagai satu pelanggaran.",
        ),
    ],
)
def test_the_status_page_explains_that_a_refusal_is_not_a_strike(user, language, said):
    from django.test import Client

    client = Client()
    client.force_login(user)
    page = client.get("/me/status/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-testid="status-help"' in page and said in page
