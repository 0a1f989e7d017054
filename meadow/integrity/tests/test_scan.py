"""The integrity scan end to end: activity through the HTTP API (sign-up from a network and a browser, likes,
follows, comments, reads, impressions) under clock travel; ``scan`` flags the ring, holds its signals out of the
traffic-pool score, leaves organic accounts alone; the staff queue; uphold (the ladder for the fake accounts and
the buyer) and dismiss (the signals count again)."""

from __future__ import annotations

import random

import pytest

from meadow.distribution.selectors import note_pool_score
from meadow.integrity.models import Case, HeldSignal
from meadow.integrity.selectors import flagged_account_ids, held_for_notes
from meadow.integrity.services import scan
from meadow.integrity.tests.conftest import Actor, later

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

ORGANIC_COMMENTS = [
    "Love the colours in the second photo",
    "Where was this taken? Looks peaceful",
    "Tried this recipe last weekend, my kids loved it",
    "The lighting here is gorgeous",
    "Saving this for my trip next month!",
    "How long did the whole thing take you?",
    "This brand runs small, size up",
    "Such a cosy corner, very inspiring",
]


def organic_crowd(clock, notes_by_creator, *, count: int, seed: int = 7, days: int = 2) -> list[Actor]:
    """Organic readers: their own networks (a few share a campus NAT), sign up over days, browse at human pace,
    see a card, open the note, read it for a while, sometimes like, follow, comment or unfollow."""
    rng = random.Random(seed)
    all_notes = [n for notes in notes_by_creator.values() for n in notes]
    people = []
    for i in range(count):
        ip = f"10.20.{i % 3}.{10 + i}" if i % 4 == 0 else f"100.{i}.{rng.randint(0, 250)}.7"
        people.append(Actor(ip, f"Mozilla/5.0 organic-{i % 5}").signup())
        later(clock, rng.randint(600, 4000))
    for _day in range(days):
        for person in people:
            later(clock, rng.randint(200, 900))
            for note in rng.sample(all_notes, 3):
                person.view(note)
                later(clock, rng.randint(8, 90))
                if rng.random() < 0.5:
                    person.like(note)
                    later(clock, rng.randint(3, 30))
                if rng.random() < 0.15:
                    person.comment(note, rng.choice(ORGANIC_COMMENTS) + f" {rng.randint(1, 99)}")
                    later(clock, rng.randint(5, 40))
                if rng.random() < 0.1:
                    person.follow(note.author)
                    later(clock, rng.randint(2, 20))
        later(clock, 12 * 3600)
    return people


def like_ring(clock, targets, *, size: int = 12, see_first: bool = False) -> list[Actor]:
    """A bought like ring: accounts created minutes apart from one network, liking the same notes within
    seconds of each other."""
    ring = []
    for i in range(size):
        ring.append(Actor(f"203.0.113.{i + 1}", "Mozilla/5.0 farm").signup())
        later(clock, 20)
    later(clock, 3600)
    for note in targets:
        for actor in ring:
            if see_first:
                actor.view(note)
            actor.like(note)
            later(clock, 2)
        later(clock, 600)
    return ring


def test_a_bought_like_ring_is_flagged_and_its_likes_leave_the_pool_score(clock, creators, notes):
    buyer = creators[0]
    organic = organic_crowd(clock, notes, count=8)
    targets = notes[buyer.pk][:4]
    before = {n.pk: note_pool_score(note_id=n.pk)["score"] for n in targets}
    ring = like_ring(clock, targets)
    bought = {n.pk: note_pool_score(note_id=n.pk)["score"] - before[n.pk] for n in targets}
    assert all(gain == len(ring) for gain in bought.values())

    result = scan()
    flagged = flagged_account_ids()
    assert {a.user.pk for a in ring} <= flagged
    assert not flagged & {p.user.pk for p in organic}
    assert result["flagged"] == len(ring)
    for note in targets:  # the ring's likes no longer count; organic likes still do
        score = note_pool_score(note_id=note.pk)
        assert score["score"] == pytest.approx(before[note.pk])
        assert score["held_score"] == len(ring) and score["held_interactions"] == len(ring)
    case = Case.objects.get(account=ring[0].user)
    assert case.beneficiary_id == buyer.pk and case.status == "pending"
    assert {s["signal"] for s in case.signals} >= {"lockstep", "no_exposure", "signup_burst"}
    assert held_for_notes(note_ids=[targets[0].pk])[targets[0].pk][0]["interactions"] == len(ring)

    # idempotent: a second scan holds nothing twice and opens no case twice
    again = scan()
    assert again["opened"] == 0 and again["held"] == 0
    assert HeldSignal.objects.count() == len(ring) * len(targets)
    assert note_pool_score(note_id=targets[0].pk)["score"] == pytest.approx(before[targets[0].pk])


def test_a_ring_that_opens_the_notes_first_is_still_caught_in_lockstep(clock, creators, notes):
    organic = organic_crowd(clock, notes, count=6, seed=11)
    ring = like_ring(clock, notes[creators[1].pk][:5], size=8, see_first=True)
    scan()
    flagged = flagged_account_ids()
    assert {a.user.pk for a in ring} <= flagged
    assert not flagged & {p.user.pk for p in organic}


def test_disabled_means_no_defence(clock, creators, notes, settings):
    settings.MEADOW_INTEGRITY_ENABLED = False
    targets = notes[creators[0].pk][:3]
    like_ring(clock, targets, size=8)
    assert scan() == {"flagged": 0, "opened": 0, "held": 0}
    assert flagged_account_ids() == set()
    assert note_pool_score(note_id=targets[0].pk)["score"] == 8


def test_organic_fans_of_one_creator_on_a_campus_network_are_not_flagged(clock, creators, notes):
    """Weak signals alone never flag: new enthusiastic fans of one creator, signing up from one campus NAT
    (a sign-up burst), who read before they like, at human pace."""
    star = creators[2]
    fans = []
    for i in range(10):
        fans.append(Actor("10.9.8.7", f"Mozilla/5.0 phone-{i}").signup())
        later(clock, 240)
    rng = random.Random(3)
    for fan in fans:
        for note in rng.sample(notes[star.pk], 5):
            later(clock, rng.randint(300, 5000))
            fan.view(note)
            later(clock, rng.randint(10, 120))
            fan.like(note)
    scan()
    assert flagged_account_ids() == set()


def test_follow_farm_with_churn_is_flagged(clock, creators, notes):
    organic = organic_crowd(clock, notes, count=6, seed=5)
    farm = [Actor(f"198.51.100.{i + 1}", "okhttp/4.9").signup() for i in range(10)]
    later(clock, 3600)
    for _round in range(4):
        for creator in creators:
            for actor in farm:
                actor.follow(creator)
                later(clock, 1)
            later(clock, 120)
        later(clock, 3600)
        for creator in creators:
            for actor in farm:
                actor.unfollow(creator)
        later(clock, 3600)
    scan()
    flagged = flagged_account_ids()
    assert {a.user.pk for a in farm} <= flagged
    assert not flagged & {p.user.pk for p in organic}
    signals = {s["signal"] for s in Case.objects.get(account=farm[0].user).signals}
    assert "follow_churn" in signals and "lockstep" in signals


def test_templated_comments_across_accounts_without_reading(clock, creators, notes):
    buyer = creators[3]
    organic = organic_crowd(clock, notes, count=6, seed=9)
    rng = random.Random(1)
    ring = []
    for i in range(6):
        ring.append(Actor(f"192.0.2.{i + 1}", f"Mozilla/5.0 x{i}").signup())
        later(clock, rng.randint(4000, 9000))  # signed up hours apart, no burst
    for note in notes[buyer.pk][:4]:
        for actor in ring:
            later(clock, rng.randint(1800, 7200))  # slow drip, no lockstep
            actor.comment(
                note, f"Amazing product!!! Bought it at once, totally recommend 👍 {rng.choice('!.')}"
            )
    scan()
    flagged = flagged_account_ids()
    assert {a.user.pk for a in ring} <= flagged
    assert not flagged & {p.user.pk for p in organic}
