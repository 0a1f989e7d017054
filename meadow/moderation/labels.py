"""What the moderation engine reports, in the reader's language.

The engine (no Django) reports stable category codes (``redirect``, ``sensitive.health``…) and, for redirects, a
policy instruction in English; both are kept that way in the API's ``category`` and in stored evidence. Whoever
shows a finding to a person uses :func:`category_label` and :func:`suggestion_text` (or :func:`hit_for_reader`),
so a creator reading Chinese or Malay sees "导流到站外" and "删除：不允许留联系方式…", not codes and English. The
rewrites the lexicon suggests (最好用的 → 很好用的, "paling murah" → "sangat murah") are text in the language of
the term and are shown as they are.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from meadow.moderation.engine.learned import SUGGESTIONS as LEARNED_SUGGESTIONS
from meadow.moderation.engine.policy import REDIRECT_SUGGESTION

CATEGORY_LABELS = {
    "redirect": _("Redirect off the platform"),
    "absolute": _("Absolute advertising claim"),
    "inducement": _("Inducement (like, follow or tag to win)"),
    "disparage": _("Running down competitors"),
    "adult": _("Sexual content"),
    "plagiarism": _("Copied from another note"),
    "sensitive.promise": _("Promised results"),
    "sensitive.finance": _("Financial products"),
    "sensitive.health": _("Health claims"),
    "sensitive.superstition": _("Superstition"),
    "sensitive.medical_device": _("Medical devices"),
    "sensitive.supplement": _("Health supplements"),
    "sensitive.alcohol": _("Alcohol"),
    "sensitive.infant_formula": _("Infant formula"),
    "sensitive.education": _("Education and training"),
    "sensitive.disinfection": _("Disinfection products"),
    "sensitive.real_estate": _("Real estate"),
    "sensitive.medical_service": _("Medical and cosmetic services"),
}

# The policy's instructions (English in the engine) → translatable text. "Remove it" is the engine's fallback.
_SUGGESTIONS = {
    REDIRECT_SUGGESTION["personal"]: _(
        "Remove it: contact details and links to other platforms are not allowed"
    ),
    REDIRECT_SUGGESTION["enterprise"]: _("Remove it, or use the contact component"),
    "Remove it": _("Remove it"),
    # the learned layer's instructions (meadow/moderation/engine/learned.py SUGGESTIONS)
    LEARNED_SUGGESTIONS["inducement"]: _(
        "Rewrite it without asking for likes, follows, shares or tags in exchange for a prize"
    ),
    LEARNED_SUGGESTIONS["disparage"]: _("Rewrite it about your own product without running down others"),
    LEARNED_SUGGESTIONS["adult"]: _("Remove the sexual content"),
    LEARNED_SUGGESTIONS["absolute"]: _("Rewrite it without absolute or superlative claims"),
    LEARNED_SUGGESTIONS["sensitive"]: _("Rewrite it without promising results or making regulated claims"),
}


def category_label(code: str) -> str:
    """The category's name in the active language; an unknown code (a moderator's new category) as it is."""
    label = CATEGORY_LABELS.get(code)
    return str(label) if label is not None else code


def suggestion_text(suggestion: str | None) -> str | None:
    """A policy instruction in the active language; a rewrite from the lexicon unchanged."""
    if not suggestion:
        return suggestion
    known = _SUGGESTIONS.get(suggestion)
    return str(known) if known is not None else suggestion


def hit_for_reader(hit: dict[str, Any]) -> dict[str, Any]:
    """A hit (``Hit.to_dict()`` or stored evidence) with ``label`` added and its suggestion in the active
    language; the category code and everything else unchanged."""
    return {
        **hit,
        "label": category_label(str(hit.get("category", ""))),
        "suggestion": suggestion_text(hit.get("suggestion")),
    }


def moderation_for_reader(moderation: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``{"verdict", "hits"}`` finding (as stored on a note or carried by an error) for the reader."""
    if moderation is None:
        return None
    return {**moderation, "hits": [hit_for_reader(h) for h in moderation.get("hits") or []]}
