"""The notices enforcement sends an account, as codes and parameters (stored by the notification centre) and
their text in the *reader's* language at read time: the rule by the name the account status page shows
(the category label, never an internal rule id such as ``redirect:微信``), the words, what to change, the
moderator's note and the consequence.

Codes are the outbox topics of :mod:`meadow.enforcement.services` (``enforcement.violation_recorded`` …).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from meadow.enforcement.models import Sanction
from meadow.moderation.labels import category_label, suggestion_text

VIOLATION_RECORDED = "enforcement.violation_recorded"
VIOLATION_VOIDED = "enforcement.violation_voided"
APPEAL_REJECTED = "enforcement.appeal_rejected"
CODES = (VIOLATION_RECORDED, VIOLATION_VOIDED, APPEAL_REJECTED)


def violation_params(*, violation, sanction: Sanction | None) -> dict[str, Any]:
    """What a violation notice needs, language-neutral: category code, the matched words (the creator's own
    text), the raw suggestions (policy codes or lexicon rewrites), the moderator's note and the sanction."""
    evidence = violation.evidence or {}
    hits = evidence.get("hits") or []
    suggestions: list[str] = []
    for h in hits:
        s = h.get("suggestion")
        if s and s not in suggestions:
            suggestions.append(s)
    if not suggestions and evidence.get("suggestion"):
        suggestions.append(str(evidence["suggestion"]))
    return {
        "category": violation.category,
        "words": [h.get("match") for h in hits if h.get("match")],
        "image": bool(evidence.get("image")) and not hits,
        "suggestions": suggestions,
        "reason": str(evidence.get("reason") or "").strip(),
        "sanction": sanction.kind if sanction is not None else None,
        "ends_at": sanction.ends_at.isoformat() if sanction is not None and sanction.ends_at else None,
    }


def _when(value: str | None) -> str:
    end: datetime | None = parse_datetime(value) if value else None
    if end is None:
        return _("permanently")
    return formats.date_format(timezone.localtime(end), "DATETIME_FORMAT")


def _sanction_text(kind: str, ends_at: str | None) -> str:
    label = str(Sanction.Kind(kind).label)
    if kind == Sanction.Kind.WARNING:
        return label
    if not ends_at:
        return _("%(sanction)s, permanently") % {"sanction": label}
    return _("%(sanction)s until %(end)s") % {"sanction": label, "end": _when(ends_at)}


def notice_text(code: str, params: dict[str, Any]) -> str | None:
    """The notice in the active language; ``None`` for a code enforcement does not know."""
    category = category_label(str(params.get("category") or ""))
    if code == VIOLATION_RECORDED:
        parts = [_("A rule was broken: %(category)s.") % {"category": category}]
        words = ", ".join(f"“{w}”" for w in params.get("words") or [])
        if words:
            parts.append(_("The words or image: %(words)s.") % {"words": words})
        elif params.get("image"):
            parts.append(_("The words or image: %(words)s.") % {"words": _("an image")})
        change = "; ".join(dict.fromkeys(str(suggestion_text(s)) for s in params.get("suggestions") or []))
        if change:
            parts.append(_("What to change: %(change)s.") % {"change": change})
        if params.get("reason"):
            parts.append(_("The moderator's note: %(reason)s") % {"reason": params["reason"]})
        if params.get("sanction"):
            parts.append(
                _("Consequence: %(sanction)s.")
                % {"sanction": _sanction_text(params["sanction"], params.get("ends_at"))}
            )
        parts.append(_("You can see the details and appeal on your account status page."))
        return " ".join(parts)
    if code == VIOLATION_VOIDED:
        return _(
            "Your appeal was accepted: the violation “%(rule)s” is void and its penalties are lifted."
        ) % {"rule": category}
    if code == APPEAL_REJECTED:
        return _("Your appeal about “%(rule)s” was rejected: %(response)s") % {
            "rule": category,
            "response": params.get("response") or _("the decision stands."),
        }
    return None
