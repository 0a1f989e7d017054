"""The Django adapter around the moderation engine: builds the engine from the shipped lexicon plus the
moderators' entries, caches it per process, and rebuilds it when an entry changes.

Every process keeps one compiled engine and the *stamp* of the lexicon it was built from. The current stamp
lives in the shared cache (Redis at scale), bumped by every lexicon edit, so all web and worker processes
pick up a moderator's change on their next check — no restart, no polling of the database per check.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed
from meadow.moderation.engine import ACCOUNTS, FIELDS, Engine, Lexicon, Result
from meadow.moderation.engine.lexicon import term_from_record
from meadow.moderation.models import LexiconEntry

STAMP_KEY = "moderation:lexicon:stamp"
_lock = threading.Lock()
_current: dict[str, Any] = {"stamp": None, "engine": None}


def _stamp() -> str:
    stamp = cache.get(STAMP_KEY)
    if stamp is None:
        stamp = uuid.uuid4().hex
        if not cache.add(STAMP_KEY, stamp, timeout=None):
            stamp = cache.get(STAMP_KEY) or stamp
    return stamp


def lexicon_changed() -> None:
    """Tell every process that the lexicon changed (they rebuild on their next check)."""
    cache.set(STAMP_KEY, uuid.uuid4().hex, timeout=None)


def moderation_lexicon() -> Lexicon:
    """The effective lexicon: shipped data files overlaid with the moderators' entries."""
    records = [entry.to_record() for entry in LexiconEntry.objects.all()]
    return Lexicon.default().merge(records)


def moderation_engine() -> Engine:
    """This process's compiled engine for the current lexicon (rebuilt after an edit)."""
    stamp = _stamp()
    engine = _current["engine"]
    if engine is not None and _current["stamp"] == stamp:
        return engine
    with _lock:
        if _current["engine"] is None or _current["stamp"] != stamp:
            _current["engine"] = Engine(moderation_lexicon())
            _current["stamp"] = stamp
        return _current["engine"]


def moderation_check(*, text: str, field: str = "note", account: str = "personal") -> Result:
    """Check ``text`` written in ``field`` by a ``personal`` or verified ``enterprise`` account."""
    if not isinstance(text, str):
        raise ValidationFailed(_("The text must be a string."), field="text", code="bad_text")
    if field not in FIELDS:
        raise ValidationFailed(_("Unknown field."), field="field", code="invalid_choice")
    if account not in ACCOUNTS:
        raise ValidationFailed(_("Unknown account kind."), field="account", code="invalid_choice")
    try:
        return moderation_engine().check(text, field=field, account=account)
    except ValueError as exc:  # e.g. longer than the engine accepts
        raise ValidationFailed(str(exc), field="text", code="bad_text") from exc


def lexicon_entry_save(*, entry: LexiconEntry, by=None) -> LexiconEntry:
    """Validate and save a moderator's entry, then rebuild the engines everywhere."""
    entry.term = (entry.term or "").strip()
    try:
        term_from_record(entry.to_record())
    except (ValueError, KeyError) as exc:
        raise ValidationFailed(str(exc), field="term", code="bad_term") from exc
    entry.updated_by = by if by is not None and getattr(by, "is_authenticated", False) else entry.updated_by
    entry.updated_at = timezone.now()
    with transaction.atomic():
        entry.save()
        transaction.on_commit(lexicon_changed)
    return entry


def lexicon_entries_delete(*, entries) -> int:
    with transaction.atomic():
        deleted, _n = entries.delete()
        transaction.on_commit(lexicon_changed)
    return deleted
