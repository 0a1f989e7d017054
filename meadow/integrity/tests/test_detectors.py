"""Each detector on its own rows: it fires on the shape it is for and stays quiet on organic-looking activity;
and one weak signal never flags an account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meadow.integrity import detectors
from meadow.integrity.detectors import CommentRow, Config, Event, FollowRow, SignupRow

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CONFIG = Config()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def names(signals, user_id) -> set[str]:
    return {s["signal"] for s in signals.get(user_id, [])}


def test_signup_burst_per_network_but_not_a_network_over_a_day():
    burst = [SignupRow(i, "203.0.113.0/24", f"d{i}", "a", at(i * 60)) for i in range(10)]
    spread = [SignupRow(100 + i, "10.9.8.0/24", f"e{i}", "a", at(i * 3 * 3600)) for i in range(10)]
    found = detectors.detect_signups([*burst, *spread], CONFIG)
    assert all(names(found, i) == {"signup_burst"} for i in range(10))
    assert not any(found.get(100 + i) for i in range(10))


def test_device_farm_is_one_device_behind_many_accounts():
    farm = [SignupRow(i, f"198.51.{i}.0/24", "same-device", "a", at(i * 900)) for i in range(4)]
    two = [SignupRow(10 + i, "10.0.0.0/24", "family-tablet", "a", at(i * 900)) for i in range(2)]
    found = detectors.detect_signups([*farm, *two], CONFIG)
    assert all("device_farm" in names(found, i) for i in range(4))
    assert not found.get(10) and not found.get(11)


def test_single_creator_needs_several_acts():
    events = [Event(1, n, 50, "like", at(n * 100)) for n in range(5)]
    events += [Event(2, 1, 50, "like", at(10)), Event(2, 2, 50, "like", at(20))]  # a new fan, two likes
    events += [Event(3, n, 50 + n % 3, "like", at(n * 100)) for n in range(6)]  # several creators
    found = detectors.detect_single_creator(events, [], CONFIG)
    assert names(found, 1) == {"single_creator"} and not found.get(2) and not found.get(3)


def test_lockstep_is_many_accounts_on_many_targets_within_seconds():
    ring = range(1, 7)
    events = [Event(u, note, 50, "like", at(note * 3600 + u * 3)) for note in range(5) for u in ring]
    # organic readers who like the same popular note at the same minute, once
    events += [Event(100 + u, 99, 60, "like", at(u * 5)) for u in range(10)]
    # and organic readers who like the same notes, hours apart
    events += [
        Event(200 + u, note, 50, "like", at(note * 3600 + 1800 + u * 600))
        for note in range(5)
        for u in range(4)
    ]
    found = detectors.detect_lockstep(events, [], CONFIG)
    assert all("lockstep" in names(found, u) for u in ring)
    assert found[1][0]["weight"] == CONFIG.weights["lockstep_strong"]
    assert not any(found.get(100 + u) for u in range(10)) and not any(found.get(200 + u) for u in range(4))


def test_lockstep_follows():
    follows = [
        FollowRow(u, target, "follow", at(target * 600 + u))
        for target in range(100, 104)
        for u in range(1, 6)
    ]
    found = detectors.detect_lockstep([], follows, CONFIG)
    assert all("lockstep" in names(found, u) for u in range(1, 6))


def test_engagement_without_impressions_or_reads():
    blind = [Event(1, n, 50, "like", at(n)) for n in range(4)]
    seen = []
    for n in range(4):
        seen += [Event(2, n, 50, "impression", at(n * 100)), Event(2, n, 50, "read", at(n * 100 + 5))]
        seen += [Event(2, n, 50, "like", at(n * 100 + 40))]
    # a like of a note seen the day before the window counts as seen
    earlier = [Event(3, 7, 50, "read", at(-3600))]
    found = detectors.detect_exposure(
        [*blind, *seen, *[Event(3, 7, 50, "like", at(n)) for n in range(1)]], [], CONFIG, exposures=earlier
    )
    assert names(found, 1) == {"no_exposure"} and not found.get(2) and not found.get(3)
    assert found[1][0]["weight"] == CONFIG.weights["no_exposure"]
    many = detectors.detect_exposure([Event(1, n, 50, "like", at(n)) for n in range(8)], [], CONFIG)
    assert many[1][0]["weight"] == CONFIG.weights["no_exposure_strong"]


def test_follow_without_ever_seeing_the_account_is_unexposed():
    follows = [FollowRow(1, 100 + i, "follow", at(i)) for i in range(4)]
    found = detectors.detect_exposure([], follows, CONFIG)
    assert "no_exposure" in names(found, 1)


def test_impossible_read_times():
    fast = []
    for n in range(4):
        fast += [Event(1, n, 50, "read", at(n * 100)), Event(1, n, 50, "like", at(n * 100 + 0.5))]
    human = []
    for n in range(4):
        human += [Event(2, n, 50, "read", at(n * 100)), Event(2, n, 50, "like", at(n * 100 + 25))]
    burst = [Event(3, n, 50, "read", at(n)) for n in range(40)]  # 40 reads in 40 seconds
    found = detectors.detect_exposure([*fast, *human, *burst], [], CONFIG)
    assert "impossible_read" in names(found, 1) and "impossible_read" in names(found, 3)
    assert not found.get(2)


def test_follow_unfollow_churn():
    churn = []
    for cycle in range(12):
        churn += [
            FollowRow(1, 100 + cycle, "follow", at(cycle * 100)),
            FollowRow(1, 100 + cycle, "unfollow", at(cycle * 100 + 50)),
        ]
    occasional = [FollowRow(2, 100 + i, "follow", at(i)) for i in range(10)] + [
        FollowRow(2, 100, "unfollow", at(500))
    ]
    found = detectors.detect_churn([*churn, *occasional], CONFIG)
    assert found[1][0]["weight"] == CONFIG.weights["follow_churn_strong"] and not found.get(2)


def test_comment_templates_aimed_at_one_creator_but_not_stock_phrases():
    template = [
        CommentRow(
            u,
            u,
            10 + u % 3,
            50,
            f"Amazing product!! Bought it at once, totally recommend {'!' * (u % 3)}",
            at(u),
        )
        for u in range(1, 6)
    ]
    stock = [
        CommentRow(100 + u, 100 + u, 200 + u, 60 + u, "So pretty, where is this place?", at(u))
        for u in range(6)
    ]
    varied = [
        CommentRow(300, 300, 10, 50, "Love the colours in the second photo", at(1)),
        CommentRow(301, 301, 11, 50, "Tried this recipe last weekend, my kids loved it", at(2)),
        CommentRow(302, 302, 12, 50, "How long did the whole thing take you?", at(3)),
    ]
    found = detectors.detect_templates([*template, *stock, *varied], CONFIG)
    assert all("comment_template" in names(found, u) for u in range(1, 6))
    assert not any(found.get(100 + u) for u in range(6)) and not any(found.get(300 + i) for i in range(3))


def test_never_flagged_on_one_weak_signal_and_flagged_on_strong_evidence():
    weak = [{"signal": "single_creator", "category": "fake_engagement", "weight": 1.0, "evidence": {}}]
    two_weak = [*weak, {"signal": "signup_burst", "category": "fake_account", "weight": 1.0, "evidence": {}}]
    assert not detectors.is_flagged(weak, CONFIG) and not detectors.is_flagged(two_weak, CONFIG)
    strong = [{"signal": "lockstep", "category": "fake_engagement", "weight": 4.0, "evidence": {}}]
    several = [
        {"signal": "lockstep", "category": "fake_engagement", "weight": 2.5, "evidence": {}},
        {"signal": "no_exposure", "category": "fake_engagement", "weight": 2.0, "evidence": {}},
    ]
    assert detectors.is_flagged(strong, CONFIG) and detectors.is_flagged(several, CONFIG)


def test_the_buyer_is_the_creator_most_of_the_ring_served():
    events = [Event(u, n, 50, "like", at(n)) for u in range(1, 5) for n in range(3)]
    events += [Event(9, 1, 70, "like", at(1))]
    assert detectors.beneficiaries({1, 2, 3, 4, 9}, events, [], min_accounts=3) == {
        1: 50,
        2: 50,
        3: 50,
        4: 50,
    }
    assert detectors.beneficiaries({1, 2}, events, [], min_accounts=3) == {}


def test_settings_override_thresholds_and_refuse_unknown_names():
    config = Config.from_settings({"flag_score": 5, "weights": {"lockstep": 3}})
    assert config.flag_score == 5 and config.weights["lockstep"] == 3 and config.weights["no_exposure"] == 2
    try:
        Config.from_settings({"nonsense": 1})
    except ValueError as exc:
        assert "nonsense" in str(exc)
    else:
        raise AssertionError("an unknown setting was accepted")


def test_a_slow_drip_of_blind_likes_for_one_creator_is_flagged_but_a_new_fan_is_not():
    """A drip: two likes a day for a week on one creator's notes, never shown them — no burst, no lockstep.
    A new fan: the same creator, the same pace, but each note seen and opened first."""
    drip = [
        Event(1, day * 2 + k, 50, "like", at(day * 86400 + k * 7200)) for day in range(7) for k in range(2)
    ]
    fan = []
    for day in range(7):
        for k in range(2):
            note, t = day * 2 + k, day * 86400 + k * 7200
            fan += [Event(2, note, 50, "impression", at(t)), Event(2, note, 50, "read", at(t + 3))]
            fan += [Event(2, note, 50, "like", at(t + 40))]
    events = [*drip, *fan]
    signals = detectors.merge(
        detectors.detect_single_creator(events, [], CONFIG),
        detectors.detect_lockstep(events, [], CONFIG),
        detectors.detect_exposure(events, [], CONFIG),
    )
    assert detectors.is_flagged(signals[1], CONFIG)
    assert names(signals, 2) == {"single_creator"} and not detectors.is_flagged(signals[2], CONFIG)


def _session(user: int, creator: int, note: int, start: float, *, others=(61, 62, 63)) -> list[Event]:
    """Four cards shown (three by other creators), the target opened, read a while, liked."""
    shown = [Event(user, 900 + o, o, "impression", at(start)) for o in others]
    shown.append(Event(user, note, creator, "impression", at(start)))
    return [
        *shown,
        Event(user, note, creator, "read", at(start + 5)),
        Event(user, note, creator, "like", at(start + 35)),
    ]


def test_rings_of_scripted_accounts_around_one_creator():
    day = 86400
    # a slow drip: established accounts, one like a day, each after a feed card and a human read, always of
    # creator 50's notes and nothing else they were shown
    drip = range(1, 6)
    events = [e for u in drip for d in range(3) for e in _session(u, 50, 10 + d, d * day + u * 3000)]
    # a like ring: new accounts that open the notes by direct link and like them, no feed at all
    ring = range(20, 26)
    events += [e for u in ring for n in (30, 31) for e in (Event(u, n, 51, "read", at(n * 60 + u)),
                                                           Event(u, n, 51, "like", at(n * 60 + u + 2)))]  # fmt: skip
    # new fans of creator 50 (signed up today) behave like the drip: new accounts, so a habit, not an order
    fans = range(40, 46)
    events += [e for u in fans for d in range(2) for e in _session(u, 50, 10 + d, d * day + u * 700)]
    # two established readers devoted to creator 52: a habit, not a ring
    events += [e for u in (70, 71) for d in range(3) for e in _session(u, 52, 80 + d, d * day + u * 60)]
    joined = {u: at(-30 * day) for u in drip} | {u: at(-3600) for u in [*ring, *fans]}
    found = detectors.detect_scripted(events, [], CONFIG, joined=joined)
    for u in drip:
        assert names(found, u) == {"single_minded", "coordinated"}
        assert detectors.is_flagged(found[u], CONFIG)
    for u in ring:
        assert names(found, u) == {"no_feed", "coordinated"} and detectors.is_flagged(found[u], CONFIG)
    assert not any(found.get(u) for u in fans)
    assert names(found, 70) == {"single_minded"} and not detectors.is_flagged(found[70], CONFIG)
    ring_evidence = next(s for s in found[20] if s["signal"] == "coordinated")["evidence"]
    assert ring_evidence == {"creator_id": 51, "accounts": 6, "pattern": "no_feed"}


def test_a_reader_who_opens_a_note_again_or_reads_elsewhere_is_not_single_minded():
    day = 86400
    events = [e for u in range(1, 6) for d in range(3) for e in _session(u, 50, 10 + d, d * day + u * 3000)]
    events.append(Event(1, 10, 50, "read", at(3 * day)))  # opened a liked note again, did nothing
    events += [Event(2, 99, 61, "read", at(3 * day))]  # opened another creator's note
    found = detectors.detect_scripted(events, [], CONFIG)
    assert "single_minded" not in names(found, 1) and "single_minded" not in names(found, 2)
    assert names(found, 3) == {"single_minded"}  # three left: below a ring
