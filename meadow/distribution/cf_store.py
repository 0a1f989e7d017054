"""Training, storing and loading the collaborative-filtering model of Discover.

``cf_model_retrain`` (periodic Celery task, ``MEADOW_CF_RETRAIN_SECONDS``) calls :func:`cf_model_train`: it
reads the engagement events of the last ``MEADOW_CF_WINDOW_DAYS`` aggregated per (reader, note) in the
database — only on notes that any feed may show anyone at training time (``notes_public``: published, ready,
public notes of public, active accounts, not limited or held; a followers-only, only-me, removed or limited note
never enters the model) — keeps the pairs whose signal-weighted sum (likes, saves, comments, shares, completions, follows;
undo events subtract; each read adds ``MEADOW_CF_READ_WEIGHT``) is positive and that the reader did not mark
"not interested", fits :class:`~meadow.distribution.engine.cf.CollaborativeModel` and writes it to the *private* storage
(``STORAGES["private"]``, ``meadow.core.storage``; never ``default_storage``, which the web server or object
store serves under ``MEDIA_URL``: a model maps user ids to what they read) as ``models/cf-<stamp>.npz`` (numpy
arrays, never a pickle). Models that older versions wrote under the public media root are deleted by the next
training run and never loaded. The pointer to the current
model is the small file ``models/cf-current.txt`` (shared by every process whatever the cache backend) plus a
cache key, so other processes notice a new model within ``MEADOW_CF_RELOAD_SECONDS``.

:func:`load_current_model` returns the current model, loaded once per process and reloaded when the pointer
changes; ``None`` before the first training (the feed then works without CF candidates).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db.models import Count, Q, Sum
from django.utils import timezone

from meadow.core.storage import private_storage
from meadow.distribution.engine.cf import CFConfig, CollaborativeModel

log = logging.getLogger(__name__)

MODEL_DIR = "models"
POINTER = f"{MODEL_DIR}/cf-current.txt"
POINTER_CACHE_KEY = "distribution:cf-model-current"

_lock = threading.Lock()
_state: dict[str, object] = {"name": None, "model": None, "checked": 0.0}


def _store() -> Storage:
    return private_storage()


def _setting(name: str, default):
    return getattr(settings, name, default)


def cf_config() -> CFConfig:
    return CFConfig(
        als_factors=int(_setting("MEADOW_CF_FACTORS", 64)),
        als_iterations=int(_setting("MEADOW_CF_ITERATIONS", 15)),
        binary=False,
        num_threads=int(_setting("MEADOW_CF_THREADS", 1)),
    )


def engagement_interactions() -> list[tuple[int, int, float]]:
    """``(user id, note id, value)`` for every positive (reader, note) pair of the training window."""
    from meadow.engagement.models import EngagementEvent, Signal
    from meadow.notes.selectors import notes_public

    since = timezone.now() - timedelta(days=float(_setting("MEADOW_CF_WINDOW_DAYS", 180)))
    read_weight = float(_setting("MEADOW_CF_READ_WEIGHT", 0.5))
    limit = int(_setting("MEADOW_CF_MAX_PAIRS", 5_000_000))
    rows = (
        EngagementEvent.objects.filter(created_at__gte=since, user__isnull=False)
        .filter(note_id__in=notes_public().values("pk"))
        .exclude(kind=Signal.IMPRESSION)
        .values("user_id", "note_id")
        .annotate(
            score=Sum("weight", filter=~Q(kind=Signal.READ)),
            reads=Count("id", filter=Q(kind=Signal.READ)),
            negative=Count("id", filter=Q(kind=Signal.NOT_INTERESTED)),
        )
        .order_by()
    )
    out: list[tuple[int, int, float]] = []
    for row in rows.iterator(chunk_size=10_000):
        if row["negative"]:
            continue
        value = float(row["score"] or 0.0) + read_weight * row["reads"]
        if value > 0:
            out.append((row["user_id"], row["note_id"], value))
            if len(out) >= limit:
                break
    return out


def cf_model_train() -> dict[str, object]:
    """Fit a model on the engagement window, store it and make it current. Safe to repeat."""
    _remove_public_models()
    interactions = engagement_interactions()
    minimum = int(_setting("MEADOW_CF_MIN_PAIRS", 20))
    if len(interactions) < minimum:
        return {"trained": False, "pairs": len(interactions)}
    started = time.perf_counter()
    model = CollaborativeModel.fit(interactions, config=cf_config())
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    name = _store().save(f"{MODEL_DIR}/cf-{stamp}.npz", ContentFile(model.to_bytes()))
    _write_pointer(name)
    _prune(keep=int(_setting("MEADOW_CF_KEEP", 3)), current=name)
    seconds = time.perf_counter() - started
    log.info(
        "cf model %s: %d pairs, %d users, %d notes, %.1f s",
        name,
        len(interactions),
        len(model.users),
        len(model.items),
        seconds,
    )
    return {
        "trained": True,
        "name": name,
        "pairs": len(interactions),
        "users": len(model.users),
        "items": len(model.items),
        "seconds": round(seconds, 3),
    }


def _write_pointer(name: str) -> None:
    # The cache first: readers look there before the file, so the moment the file is being replaced (storages
    # have no atomic rename) is not seen by them.
    cache.set(POINTER_CACHE_KEY, name, None)
    store = _store()
    if store.exists(POINTER):
        store.delete(POINTER)
    store.save(POINTER, ContentFile(name.encode()))


def _read_pointer() -> str | None:
    name = cache.get(POINTER_CACHE_KEY)
    if name:
        return str(name)
    store = _store()
    if not store.exists(POINTER):
        return None
    with store.open(POINTER, "rb") as handle:
        name = handle.read().decode().strip()
    if name:
        cache.set(POINTER_CACHE_KEY, name, None)
    return name or None


def _model_files(store: Storage) -> list[str]:
    try:
        _, files = store.listdir(MODEL_DIR)
    except (FileNotFoundError, NotImplementedError):
        return []
    return sorted(f"{MODEL_DIR}/{f}" for f in files if f.startswith("cf-") and f.endswith(".npz"))


def _prune(*, keep: int, current: str) -> None:
    store = _store()
    models = _model_files(store)
    for old in models[: max(len(models) - max(keep, 1), 0)]:
        if old != current:
            store.delete(old)


def _remove_public_models() -> int:
    """Delete the models (and their pointer) that versions before the private storage wrote through
    ``default_storage`` under the public media root; they are never loaded. Returns how many files went."""
    removed = 0
    for name in [*_model_files(default_storage), POINTER]:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
                removed += 1
        except (OSError, NotImplementedError):
            log.exception("cannot delete the public CF model file %s", name)
    if removed:
        log.warning("deleted %d CF model file(s) from the public media storage", removed)
    return removed


def load_current_model() -> CollaborativeModel | None:
    """The current CF model (cached per process; the pointer is re-checked every MEADOW_CF_RELOAD_SECONDS)."""
    now = time.monotonic()
    reload_seconds = float(_setting("MEADOW_CF_RELOAD_SECONDS", 60))
    if _state["checked"] and now - float(_state["checked"]) < reload_seconds:  # type: ignore[arg-type]
        return _state["model"]  # type: ignore[return-value]
    with _lock:
        _state["checked"] = now
        try:
            name = _read_pointer()
        except OSError:
            log.exception("cannot read the CF model pointer")
            return _state["model"]  # type: ignore[return-value]
        if name is None:  # never trained (or the pointer is being replaced): keep what we have
            return _state["model"]  # type: ignore[return-value]
        if name == _state["name"]:
            return _state["model"]  # type: ignore[return-value]
        try:
            with _store().open(name, "rb") as handle:
                model = CollaborativeModel.from_bytes(handle.read())
        except (OSError, ValueError, KeyError):
            log.exception("cannot load the CF model %s; keeping the previous one", name)
            return _state["model"]  # type: ignore[return-value]
        _state["name"], _state["model"] = name, model
        return model


def reset_loaded_model() -> None:
    """Forget the process-local copy (tests)."""
    with _lock:
        _state.update(name=None, model=None, checked=0.0)
