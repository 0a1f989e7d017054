"""The Discover feed and ``meadow recommend-offline`` run the same candidate generation and the same ranker:
both go through ``engine.candidates.generate`` and ``engine.ranker.rank`` (spied on here), and the feed's
sources are ``CandidateSource`` implementations, CF included (from ``cf_store.load_current_model()``)."""

from __future__ import annotations

import pytest

from meadow.accounts.models import Follow
from meadow.distribution import cf_store, services
from meadow.distribution import sources as feed_sources
from meadow.distribution.engine import candidates as engine_candidates
from meadow.distribution.engine import ranker as engine_ranker
from meadow.distribution.engine.candidates import CandidateSource
from meadow.distribution.engine.offline import OfflineConfig, recommend_offline
from meadow.notes.models import InterestCategory, NoteCategory
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spies(monkeypatch):
    calls: dict[str, list] = {"generate": [], "rank": []}
    generate, rank = engine_candidates.generate, engine_ranker.rank

    def spy_generate(user, sources, **kwargs):
        result = generate(user, sources, **kwargs)
        calls["generate"].append((user, list(sources), result))
        return result

    def spy_rank(candidates, **kwargs):
        candidates = list(candidates)
        result = rank(candidates, **kwargs)
        calls["rank"].append((candidates, result))
        return result

    monkeypatch.setattr(engine_candidates, "generate", spy_generate)
    monkeypatch.setattr(engine_ranker, "rank", spy_rank)
    return calls


def _note(category: str, author=None):
    note = NoteFactory(author=author or UserFactory())
    NoteCategory.objects.create(note=note, category=InterestCategory.objects.get(slug=category), score=1.0)
    return note


def test_feed_and_offline_call_the_same_generate_and_rank(api_for, user, spies):
    followed = UserFactory()
    Follow.objects.create(follower=user, followee=followed)
    notes = [_note("food", author=followed if i % 3 == 0 else None) for i in range(9)]
    services.interests_pick(user=user, slugs=["food"])

    r = api_for(user).get("/api/v1/feed/discover", {"limit": 5})
    assert r.status_code == 200, r.content
    served = [item["id"] for item in r.json()["items"]]
    assert len(spies["generate"]) == 1 and len(spies["rank"]) == 1
    reader, sources, generated = spies["generate"][0]
    assert reader == user.pk
    assert all(isinstance(s, CandidateSource) for s in sources)
    assert {s.name for s in sources} >= {"pool", "interest", "follow", "trending", "popular"}
    assert {c.item for c in generated} == {n.pk for n in notes}
    ranked_input, ranked = spies["rank"][0]
    assert ranked_input == generated  # the feed ranks exactly what generate() merged
    assert [r.item for r in ranked][:5] == served
    follow_card = next(c for c in generated if c.author == followed.pk)
    assert follow_card.sources["follow"] == 1.0 and follow_card.topics == ("food",)

    results = list(
        recommend_offline(
            [("u1", "a", 1.0), ("u1", "b", 1.0), ("u2", "a", 1.0), ("u2", "c", 1.0), ("u3", "b", 1.0)],
            item_tags=[("a", "x"), ("b", "x"), ("c", "x")],
            k=2,
            config=OfflineConfig(tune=False),
        )
    )
    assert [u for u, _ in results] == ["u1", "u2", "u3"]
    assert len(spies["generate"]) == 1 + 3 and len(spies["rank"]) == 1 + 3
    offline_sources = spies["generate"][1][1]
    assert all(isinstance(s, CandidateSource) for s in offline_sources)
    assert "c" in results[0][1]  # u1 has not seen c: recommended


def test_feed_cf_candidates_come_from_the_current_model(api_for, user, monkeypatch, spies):
    picked = _note("travel")
    others = [_note("food") for _ in range(3)]

    class Model:
        def recommend(self, user_id, n, exclude, history=None):
            assert user_id == user.pk and history is None
            return [(picked.pk, 1.0)]

    monkeypatch.setattr(cf_store, "load_current_model", lambda: Model())
    r = api_for(user).get("/api/v1/feed/discover", {"limit": 10})
    assert r.status_code == 200
    cards = {item["id"]: item for item in r.json()["items"]}
    assert set(cards) == {picked.pk, *(n.pk for n in others)}
    assert ["cf", ""] in [[x["kind"], x["detail"]] for x in cards[picked.pk]["reasons"]]
    sources = spies["generate"][0][1]
    assert any(isinstance(s, feed_sources.GuardedCFSource) for s in sources)


def test_a_broken_cf_model_never_breaks_the_feed(api_for, user, monkeypatch):
    note = _note("food")

    class Broken:
        def recommend(self, *args, **kwargs):
            raise RuntimeError("corrupt factors")

    monkeypatch.setattr(cf_store, "load_current_model", lambda: Broken())
    r = api_for(user).get("/api/v1/feed/discover", {"limit": 10})
    assert r.status_code == 200
    assert [item["id"] for item in r.json()["items"]] == [note.pk]


def test_generate_known_only_drops_items_without_details():
    class Fixed:
        name = "popular"

        def candidates(self, user, *, n, exclude):
            return [(1, 1.0), (2, 0.5), (3, 0.2)][:n]

    meta = {1: engine_candidates.ItemMeta(author=7), 3: engine_candidates.ItemMeta(author=8)}
    kept = engine_candidates.generate(0, [Fixed()], n_per_source=3, exclude={3}, meta=meta, known_only=True)
    assert [(c.item, c.author) for c in kept] == [(1, 7)]
    everything = engine_candidates.generate(0, [Fixed()], n_per_source=3, exclude=(), meta=meta)
    assert [(c.item, c.author) for c in everything] == [(1, 7), (2, None), (3, 8)]
