"""Retraining Discover's CF model from engagement events, storing it and loading it (test database)."""

from __future__ import annotations

import os
import random
import stat

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from meadow.core.storage import private_storage
from meadow.distribution import cf_store
from meadow.distribution.tasks import cf_model_retrain
from meadow.enforcement.models import Sanction
from meadow.engagement.models import EngagementEvent, Signal
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

store = private_storage  # models live in the private storage, never default_storage (public media)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEADOW_PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEADOW_CF_RELOAD_SECONDS = 0
    cf_store.reset_loaded_model()
    yield
    cf_store.reset_loaded_model()


def event(user, note, kind: str, weight: float) -> EngagementEvent:
    return EngagementEvent(user=user, note=note, kind=kind, weight=weight)


@pytest.fixture
def population(db):
    """Two taste groups of 8 readers over two sets of 10 notes; likes, saves and reads inside the group."""
    rng = random.Random(2)
    readers = UserFactory.create_batch(16)
    author = UserFactory()
    notes = NoteFactory.create_batch(20, author=author)
    events = []
    for index, reader in enumerate(readers):
        group = notes[:10] if index < 8 else notes[10:]
        for note in group:
            if rng.random() < 0.6:
                events.append(event(reader, note, Signal.LIKE, 1.0))
                if rng.random() < 0.3:
                    events.append(event(reader, note, Signal.SAVE, 1.0))
            elif rng.random() < 0.5:
                events.append(event(reader, note, Signal.READ, 0.0))
    EngagementEvent.objects.bulk_create(events)
    return readers, notes


def test_no_model_before_the_first_training(db):
    assert cf_store.load_current_model() is None
    assert cf_model_retrain() == {"trained": False, "pairs": 0}
    assert cf_store.load_current_model() is None


def test_retrain_stores_a_model_that_recommends_the_readers_group(population):
    readers, notes = population
    result = cf_model_retrain()
    assert result["trained"] is True and result["users"] == 16 and result["items"] == 20
    assert store().exists(result["name"]) and result["name"].startswith("models/cf-")
    model = cf_store.load_current_model()
    assert model is not None
    group = {n.pk for n in notes[:10]}
    recs = model.recommend(readers[0].pk, 3)
    assert recs and {item for item, _ in recs} <= group
    assert cf_store.load_current_model() is model  # cached per process


def test_negative_signals_remove_the_pair_and_undo_cancels(population):
    readers, notes = population
    reader = readers[0]
    liked = notes[0]
    undone = notes[1]
    hidden = notes[2]
    EngagementEvent.objects.filter(user=reader, note__in=[liked, undone, hidden]).delete()
    EngagementEvent.objects.bulk_create(
        [
            event(reader, liked, Signal.LIKE, 1.0),
            event(reader, undone, Signal.LIKE, 1.0),
            event(reader, undone, Signal.UNLIKE, -1.0),
            event(reader, hidden, Signal.LIKE, 1.0),
            event(reader, hidden, Signal.NOT_INTERESTED, -4.0),
            event(reader, notes[3], Signal.IMPRESSION, 0.0),
        ]
    )
    pairs = {(u, n): v for u, n, v in cf_store.engagement_interactions()}
    assert pairs[(reader.pk, liked.pk)] == pytest.approx(1.0)
    assert (reader.pk, undone.pk) not in pairs
    assert (reader.pk, hidden.pk) not in pairs
    assert all(v > 0 for v in pairs.values())
    EngagementEvent.objects.filter(user=readers[1], note=notes[4]).delete()
    EngagementEvent.objects.bulk_create([event(readers[1], notes[4], Signal.READ, 0.0)] * 1)
    pairs = {(u, n): v for u, n, v in cf_store.engagement_interactions()}
    assert pairs[(readers[1].pk, notes[4].pk)] == pytest.approx(0.5)  # a read alone is a weak positive


def test_other_processes_pick_up_a_new_model_and_old_versions_are_pruned(population, settings):
    _readers, _ = population
    settings.MEADOW_CF_KEEP = 2
    first = cf_model_retrain()["name"]
    assert cf_store._read_pointer() == first
    loaded = cf_store.load_current_model()
    names = [cf_model_retrain()["name"] for _ in range(2)]
    assert cf_store.load_current_model() is not loaded  # the pointer moved: reloaded
    assert not store().exists(first)
    assert all(store().exists(n) for n in names)
    # A process whose cache lost the pointer reads the pointer file.
    cache.clear()
    cf_store.reset_loaded_model()
    assert cf_store._read_pointer() == names[-1]
    assert cf_store.load_current_model() is not None


def test_a_broken_model_file_keeps_the_previous_model(population):
    cf_model_retrain()
    good = cf_store.load_current_model()
    with store().open(cf_store._read_pointer(), "wb") as handle:
        handle.write(b"not a model")
    cf_store.reset_loaded_model()
    assert cf_store.load_current_model() is None  # nothing loaded before: no model rather than an error
    cf_model_retrain()
    assert cf_store.load_current_model() is not None and good is not None


# --- privacy: the model is a private artefact, learnt only from what everyone may see ------------------------------
def test_training_writes_nothing_under_the_public_media_root(population, settings, tmp_path):
    """The model names user ids and the notes they read: after a real training run no file under MEDIA_ROOT is
    a model, a pointer or contains a user id; the model is in the private storage, readable by the owner only;
    models an older version left under media/models are deleted and never loaded."""
    readers, _notes = population
    legacy = default_storage.save("models/cf-20200101T000000000000.npz", ContentFile(b"legacy model"))
    default_storage.save("models/cf-current.txt", ContentFile(legacy.encode()))
    upload = default_storage.save("avatars/someone.webp", ContentFile(b"RIFF....WEBP"))  # not ours: kept
    result = cf_model_retrain()
    assert result["trained"] is True
    media = tmp_path / "media"
    files = [p for p in media.rglob("*") if p.is_file()]
    assert [p.relative_to(media).as_posix() for p in files] == [upload]
    ids = {str(r.pk).encode() for r in readers}
    for path in files:
        data = path.read_bytes()
        assert not data.startswith(b"PK") and b"cf-" not in data and not any(i in data for i in ids)
    private = tmp_path / "private"
    model = private / result["name"]
    assert model.is_file() and (private / cf_store.POINTER).read_text() == result["name"]
    assert not model.resolve().is_relative_to(media.resolve())
    assert stat.S_IMODE(os.stat(model).st_mode) == 0o600
    assert cf_store.load_current_model() is not None


def test_the_pointer_in_public_media_is_never_followed(population):
    default_storage.save("models/cf-current.txt", ContentFile(b"models/cf-evil.npz"))
    assert cf_store._read_pointer() is None and cf_store.load_current_model() is None


def test_notes_others_cannot_see_never_enter_the_training_pairs(population):
    """Followers-only, only-me, removed, draft, limited notes and notes of private accounts: an engagement with
    them is no training pair (the rule of the feeds: ``notes_public``)."""
    readers, notes = population
    author = notes[0].author
    private_author = UserFactory(is_private=True)
    hidden = {
        "followers": NoteFactory(author=author, visibility=Note.Visibility.FOLLOWERS),
        "only_me": NoteFactory(author=author, visibility=Note.Visibility.PRIVATE),
        "removed": NoteFactory(author=author, status=Note.Status.REMOVED),
        "draft": NoteFactory(author=author, status=Note.Status.DRAFT),
        "limited": NoteFactory(author=author),
        "private_account": NoteFactory(author=private_author),
    }
    Sanction.objects.create(account=author, note=hidden["limited"], kind=Sanction.Kind.VISIBILITY_LIMIT)
    public = NoteFactory(author=author)
    EngagementEvent.objects.bulk_create(
        [
            event(reader, note, kind, 1.0)
            for reader in readers[:4]
            for note in [*hidden.values(), public]
            for kind in (Signal.LIKE, Signal.SAVE)
        ]
    )
    trained_on = {n for _u, n, _v in cf_store.engagement_interactions()}
    assert public.pk in trained_on
    assert {k for k, note in hidden.items() if note.pk in trained_on} == set()
    result = cf_model_retrain()
    model = cf_store.load_current_model()
    assert result["trained"] is True and model is not None
    assert not {n.pk for n in hidden.values()} & set(model.items)


def test_upgrading_deletes_models_left_in_public_media_before_any_retrain(db, tmp_path):
    """Models that versions before the private storage wrote under the public media root go at `meadow migrate`
    (distribution 0002), not at the first retrain, which may be hours away or never (no scheduler running)."""
    import importlib

    from django.db.migrations.loader import MigrationLoader

    old_files = ["models/cf-20250101T000000000000.npz", "models/cf-20250102T000000000000.npz"]
    for name in old_files:
        default_storage.save(name, ContentFile(b"user ids and the notes they read"))
    default_storage.save(cf_store.POINTER, ContentFile(old_files[-1].encode()))
    default_storage.save("models/unrelated.txt", ContentFile(b"not a model"))
    store().save("models/cf-20250103T000000000000.npz", ContentFile(b"the private one"))

    migration = importlib.import_module("meadow.distribution.migrations.0002_remove_public_cf_models")
    assert ("distribution", "0002_remove_public_cf_models") in MigrationLoader(None).disk_migrations
    migration.remove_public_models(apps=None, schema_editor=None)

    public_models = tmp_path / "media" / "models"
    assert sorted(p.name for p in public_models.iterdir()) == ["unrelated.txt"]
    assert store().exists("models/cf-20250103T000000000000.npz")  # the private storage is not touched
    migration.remove_public_models(apps=None, schema_editor=None)  # idempotent
