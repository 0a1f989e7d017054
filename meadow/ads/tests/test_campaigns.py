"""Campaigns through the API: who may create one, validation, review by the engine then a moderator, editing,
pause/resume, and that only the owner sees a campaign."""

from __future__ import annotations

import pytest

from meadow.ads.models import Campaign
from meadow.ads.tests.conftest import post
from meadow.notes.tests.factories import NoteFactory
from meadow.orders.tests.factories import make_shop, make_sku
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _body(creative, **kw):
    body = {
        "name": "Raya sale",
        "objective": "reads",
        "note": creative.pk,
        "bid": "0.50",
        "daily_budget": "20.00",
        "total_budget": "100",
        "targeting": {"states": ["SGR"], "age_min": 18, "age_max": 35, "gender": "female"},
    }
    body.update(kw)
    return body


def test_an_unverified_account_gets_403(user, api_for):
    note = NoteFactory(author=user)
    r = post(api_for(user), "/api/v1/ads/campaigns", _body(note))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "not_verified"
    assert not Campaign.objects.exists()


def test_create_review_approve_pause_resume(advertiser, api_for, moderator):
    api = api_for(advertiser)
    note = NoteFactory(author=advertiser, title="Batik tote", body="Handmade in Penang, ships this week.")
    r = post(api, "/api/v1/ads/campaigns", _body(note))
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["status"] == "in_review"
    campaign = Campaign.objects.get(pk=created["id"])
    assert campaign.screening["verdict"] == "pass"

    got = api.get(f"/api/v1/ads/campaigns/{created['id']}").json()
    assert (got["status"], got["spend"], got["impressions"], got["clicks"]) == ("in_review", "0.00", 0, 0)
    assert got["targeting"]["states"] == ["SGR"]

    # only moderators decide (404 for others, the owner included)
    assert (
        post(
            api, f"/api/v1/moderation/campaigns/{created['id']}/decision", {"decision": "approve"}
        ).status_code
        == 404
    )
    mod = api_for(moderator)
    r = post(mod, f"/api/v1/moderation/campaigns/{created['id']}/decision", {"decision": "reject"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    r = post(mod, f"/api/v1/moderation/campaigns/{created['id']}/decision", {"decision": "approve"})
    assert r.json() == {"id": created["id"], "status": "active"}
    r = post(mod, f"/api/v1/moderation/campaigns/{created['id']}/decision", {"decision": "approve"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_decided"

    assert post(api, f"/api/v1/ads/campaigns/{created['id']}/pause", {}).json()["status"] == "paused"
    r = post(api, f"/api/v1/ads/campaigns/{created['id']}/pause", {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_active"
    assert post(api, f"/api/v1/ads/campaigns/{created['id']}/resume", {}).json()["status"] == "active"

    # a new budget keeps it serving; a new creative sends it back to review
    r = api.patch(f"/api/v1/ads/campaigns/{created['id']}", {"bid": "0.80"}, content_type="application/json")
    assert r.json()["status"] == "active" and r.json()["bid"] == "0.80"
    other = NoteFactory(author=advertiser, title="Songket scarf", body="New colours.")
    r = api.patch(
        f"/api/v1/ads/campaigns/{created['id']}", {"note": other.pk}, content_type="application/json"
    )
    assert r.json()["status"] == "in_review" and r.json()["note"] == other.pk


def test_only_the_owner_sees_a_campaign(advertiser, api_for):
    note = NoteFactory(author=advertiser)
    created = post(api_for(advertiser), "/api/v1/ads/campaigns", _body(note)).json()
    stranger = api_for(UserFactory(is_verified_enterprise=True))
    assert stranger.get(f"/api/v1/ads/campaigns/{created['id']}").status_code == 404
    assert post(stranger, f"/api/v1/ads/campaigns/{created['id']}/pause", {}).status_code == 404
    r = stranger.patch(
        f"/api/v1/ads/campaigns/{created['id']}", {"bid": "9"}, content_type="application/json"
    )
    assert r.status_code == 404
    assert Campaign.objects.get(pk=created["id"]).bid == 0.5


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"bid": "0.05"}, "bid_below_reserve"),
        ({"bid": "30.00"}, "bid_above_budget"),
        ({"daily_budget": "200.00"}, "budget_order"),
        ({"bid": "1.234"}, None),
        ({"targeting": {"states": ["XXX"]}}, "bad_targeting"),
        ({"targeting": {"interests": ["no-such-topic"]}}, "bad_targeting"),
        ({"targeting": {"age_min": 40, "age_max": 20}}, "bad_targeting"),
        ({"note": None}, "one_creative"),
        ({"ends_at": "2026-01-01T00:00:00Z", "starts_at": "2026-02-01T00:00:00Z"}, "bad_schedule"),
    ],
)
def test_bad_campaigns_are_400_with_a_code_and_create_nothing(advertiser, api_for, change, code):
    note = NoteFactory(author=advertiser)
    r = post(api_for(advertiser), "/api/v1/ads/campaigns", _body(note, **change))
    assert r.status_code == 400, r.content
    if code:
        assert r.json()["error"]["code"] == code
    assert not Campaign.objects.exists()


def test_the_creative_must_be_the_advertisers_own(advertiser, api_for):
    someone_elses = NoteFactory()
    r = post(api_for(advertiser), "/api/v1/ads/campaigns", _body(someone_elses))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_creative"
    sku = make_sku()  # a product of another shop
    body = _body(someone_elses, note=None, product=sku.product_id, objective="sales")
    r = post(api_for(advertiser), "/api/v1/ads/campaigns", body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_creative"
    own = make_sku(shop=make_shop(owner=advertiser))
    body = _body(someone_elses, note=None, product=own.product_id, objective="sales")
    assert post(api_for(advertiser), "/api/v1/ads/campaigns", body).status_code == 201


def test_a_creative_the_engine_blocks_is_rejected_with_the_rule(advertiser, api_for):
    from meadow.moderation.services import moderation_check

    text = "Add my WeChat to buy: weixin abc123, guaranteed cure for cancer"
    verdict = moderation_check(text=text, field="note", account="enterprise").verdict
    note = NoteFactory(author=advertiser, title="Offer", body=text)
    r = post(api_for(advertiser), "/api/v1/ads/campaigns", _body(note))
    assert r.status_code == 201
    campaign = Campaign.objects.get(pk=r.json()["id"])
    assert campaign.screening["verdict"] == verdict
    assert campaign.status == ("rejected" if verdict == "block" else "in_review")
