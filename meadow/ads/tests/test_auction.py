"""The auction, the CTR estimator and pacing: plain functions, checked with exact numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meadow.ads.auction import Candidate, auction, ctr_estimate, pacing_allows

D = Decimal


def test_ctr_estimate_starts_at_the_prior_and_moves_toward_the_data():
    assert ctr_estimate(impressions=0, clicks=0) == pytest.approx(0.02)
    # 100 prior impressions at 2 % plus 100 real at 10 %: (10 + 2) / 200
    assert ctr_estimate(impressions=100, clicks=10) == pytest.approx(0.06)
    assert ctr_estimate(impressions=100_000, clicks=10_000) == pytest.approx(0.1, abs=1e-4)
    assert ctr_estimate(impressions=0, clicks=0, prior=0.05) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        ctr_estimate(impressions=1, clicks=2)


def test_second_price_pays_what_keeps_the_rank():
    a = Candidate(campaign=1, bid=D("2.00"), ctr=0.05)  # score 0.10
    b = Candidate(campaign=2, bid=D("1.00"), ctr=0.04)  # score 0.04
    c = Candidate(campaign=3, bid=D("0.50"), ctr=0.02)  # score 0.01
    wins = auction([c, b, a], slots=2)
    assert [w.campaign for w in wins] == [1, 2]
    assert wins[0].price == D("0.80")  # 0.04 / 0.05
    assert wins[1].price == D("0.25")  # 0.01 / 0.04
    assert all(w.price <= cand.bid for w, cand in zip(wins, [a, b], strict=True))


def test_reserve_floors_the_price_and_bars_low_bids():
    alone = auction([Candidate(campaign=1, bid=D("3.00"), ctr=0.02)], slots=3)
    assert [(w.campaign, w.price) for w in alone] == [(1, D("0.10"))]
    assert auction([Candidate(campaign=1, bid=D("0.09"), ctr=0.5)], slots=1) == []
    # the next score / own ctr is below the reserve: the reserve it is
    wins = auction([Candidate(1, D("1.00"), 0.10), Candidate(2, D("0.10"), 0.01)], slots=1, reserve=D("0.10"))
    assert wins[0].price == D("0.10")
    wins = auction([Candidate(1, D("1.00"), 0.10)], slots=1, reserve=D("0.30"))
    assert wins[0].price == D("0.30")


def test_price_never_exceeds_own_bid():
    # a high-ctr low bidder beats a low-ctr high bidder; the price is capped at the winner's bid
    wins = auction([Candidate(1, D("0.50"), 0.20), Candidate(2, D("5.00"), 0.0199)], slots=1)
    assert wins[0].campaign == 1
    assert wins[0].price == D("0.50")  # 0.0995 / 0.20 = 0.4975 -> 0.50 rounded up, not above the bid


def test_ties_go_to_the_older_campaign_and_pay_their_own_bid():
    wins = auction([Candidate(7, D("1.00"), 0.03), Candidate(4, D("1.00"), 0.03)], slots=2)
    assert [w.campaign for w in wins] == [4, 7]
    assert wins[0].price == D("1.00")
    assert wins[1].price == D("0.10")


def test_pacing_follows_the_day():
    assert pacing_allows(spent_today=D("0"), daily_budget=D("24"), elapsed_fraction=0.0)
    assert pacing_allows(spent_today=D("12"), daily_budget=D("24"), elapsed_fraction=0.5)
    assert not pacing_allows(spent_today=D("14"), daily_budget=D("24"), elapsed_fraction=0.5)  # 58 % > 55 %
    assert not pacing_allows(spent_today=D("24"), daily_budget=D("24"), elapsed_fraction=1.0)
    assert not pacing_allows(spent_today=D("2"), daily_budget=D("24"), elapsed_fraction=0.0, slack=0.05)
