"""The behaviour review queue (staff only), uphold (the behaviour ladder for the fake accounts and, once, for the
creator who bought the engagement) and dismiss (the held signals count again)."""

from __future__ import annotations

import pytest

from meadow.distribution.selectors import note_pool_score
from meadow.enforcement.models import Sanction, Violation
from meadow.integrity.models import Case, HeldSignal
from meadow.integrity.selectors import flagged_account_ids
from meadow.integrity.services import scan
from meadow.integrity.tests.test_scan import like_ring

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]


@pytest.fixture
def ring_cases(clock, creators, notes):
    targets = notes[creators[0].pk][:4]
    ring = like_ring(clock, targets, size=6)
    scan()
    assert Case.objects.filter(status="pending").count() == 6
    return ring, targets


def test_queue_is_for_moderators_only(ring_cases, api_for, user, staff_user, anon):
    assert anon.get("/api/v1/moderation/queue?type=behaviour").status_code == 401
    for who in (user, staff_user):  # an ordinary account, and staff without the moderator permission
        r = api_for(who).get("/api/v1/moderation/queue?type=behaviour")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_moderator"
        case = Case.objects.first()
        r = api_for(who).post(
            f"/api/v1/moderation/queue/behaviour/{case.pk}/decision",
            {"decision": "dismiss"},
            content_type="application/json",
        )
        assert r.status_code == 403
    assert Case.objects.filter(status="pending").count() == 6  # nothing decided


def test_queue_lists_cases_with_evidence(ring_cases, api_for, moderator, creators):
    ring, _targets = ring_cases
    r = api_for(moderator).get("/api/v1/moderation/queue?type=behaviour")
    assert r.status_code == 200, r.content
    items = r.json()["items"]
    assert {i["account"]["handle"] for i in items} == {a.user.handle for a in ring}
    first = items[0]
    assert first["type"] == "behaviour" and first["status"] == "pending"
    assert first["beneficiary"]["handle"] == creators[0].handle
    assert first["held_signals"] == 4 and first["score"] >= 4
    assert {e["signal"] for e in first["evidence"]} >= {"lockstep", "no_exposure"}
    assert all(e["evidence"] for e in first["evidence"])
    for other in ("content", "channel"):
        r = api_for(moderator).get(f"/api/v1/moderation/queue?type={other}")
        assert r.status_code == 200 and all(i["type"] == other for i in r.json()["items"])
    r = api_for(moderator).get("/api/v1/moderation/queue?type=nonsense")
    assert r.status_code == 400


def test_uphold_applies_the_ladder_to_fakes_and_once_to_the_buyer(ring_cases, api_for, moderator, creators):
    ring, targets = ring_cases
    buyer = creators[0]
    api = api_for(moderator)
    for case in Case.objects.order_by("id"):
        r = api.post(
            f"/api/v1/moderation/queue/behaviour/{case.pk}/decision",
            {"decision": "uphold"},
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
        assert r.json()["status"] == "upheld"
    for actor in ring:
        violation = Violation.objects.get(account=actor.user)
        assert violation.type == "behaviour" and violation.evidence["signals"]
        assert Sanction.objects.filter(
            violation=violation, kind="warning"
        ).exists()  # first step of the ladder
    bought = Violation.objects.filter(account=buyer)
    assert bought.count() == 1 and bought.get().rule == "integrity:bought_engagement"
    assert {a.user.pk for a in ring} <= flagged_account_ids()  # upheld stays suspected: new signals are held
    assert note_pool_score(note_id=targets[0].pk)["score"] == 0
    # a decided case cannot be decided again
    case = Case.objects.first()
    r = api.post(
        f"/api/v1/moderation/queue/behaviour/{case.pk}/decision",
        {"decision": "dismiss"},
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_decided"
    assert HeldSignal.objects.filter(case=case).count() == 4  # and nothing was released


def test_dismiss_releases_the_held_signals(ring_cases, api_for, moderator, clock):
    ring, targets = ring_cases
    assert note_pool_score(note_id=targets[0].pk)["score"] == 0
    api = api_for(moderator)
    for case in Case.objects.all():
        r = api.post(
            f"/api/v1/moderation/queue/behaviour/{case.pk}/decision",
            {"decision": "dismiss"},
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
    for note in targets:
        score = note_pool_score(note_id=note.pk)
        assert score["score"] == len(ring) and score["held_score"] == 0 and score["held_interactions"] == 0
    assert flagged_account_ids() == set() and not HeldSignal.objects.exists()
    assert not Violation.objects.exists()
    # the same evidence does not bring a dismissed account back
    scan()
    assert flagged_account_ids() == set()
    r = api.post(
        "/api/v1/moderation/queue/behaviour/999999/decision",
        {"decision": "uphold"},
        content_type="application/json",
    )
    assert r.status_code == 404
    r = api.post(
        f"/api/v1/moderation/queue/behaviour/{Case.objects.first().pk}/decision",
        {"decision": "maybe"},
        content_type="application/json",
    )
    assert r.status_code == 400


def test_creator_centre_shows_held_signals_as_not_counted_in_three_languages(ring_cases, api_for, creators):
    ring, targets = ring_cases
    api = api_for(creators[0])
    r = api.get(f"/api/v1/creator/notes/{targets[0].pk}/stats?days=7")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["totals"]["likes"] == 0 and body["totals"]["signal_score"] == 0  # the ring's likes are out
    (row,) = body["not_counted"]
    assert row["signals"] == len(ring) and row["interactions"] == len(ring)
    assert (
        row["category"] in ("fake_account", "fake_engagement") and "signal" not in row
    )  # never the detector
    labels = {}
    for language in ("en", "zh-hans", "ms"):
        r = api.get(f"/api/v1/creator/notes/{targets[0].pk}/stats?days=7", HTTP_ACCEPT_LANGUAGE=language)
        labels[language] = r.json()["not_counted"][0]["label"]
    assert labels["en"].startswith("Suspected fake") and labels["zh-hans"].startswith("疑似")
    assert labels["ms"].endswith("disyaki")
    account = api.get("/api/v1/creator/stats?days=7").json()
    assert account["totals"]["likes"] == 0


def test_the_console_lists_cases_for_moderators_only(ring_cases, client, moderator, staff_user):
    client.force_login(staff_user)
    assert client.get("/admin/integrity/case/").status_code == 403
    client.force_login(moderator)
    page = client.get("/admin/integrity/case/")
    assert page.status_code == 200
    case = Case.objects.first()
    detail = client.get(f"/admin/integrity/case/{case.pk}/change/")
    assert detail.status_code == 200 and b"lockstep" in detail.content
    r = client.post("/admin/integrity/case/", {"action": "dismiss", "_selected_action": [case.pk]})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.status == "dismissed" and not case.held.exists()


def test_the_command_and_the_beat_task_run_the_scan(clock, creators, notes, settings):
    from django.core.management import call_command

    from meadow.integrity.tasks import integrity_scan

    like_ring(clock, notes[creators[1].pk][:4], size=6)
    assert "integrity-scan" in settings.CELERY_BEAT_SCHEDULE
    call_command("integrity_scan")
    assert len(flagged_account_ids()) == 6
    assert integrity_scan() == {"flagged": 6, "opened": 0, "held": 0}
