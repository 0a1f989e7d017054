"""The account status page (/me/status/): sanctions in force with their end dates, the history of violations
with the rule, the words highlighted and the suggestion, and an appeal form for each."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meadow.core.errors import DomainError
from meadow.enforcement import selectors, services
from meadow.enforcement.api import status_state, violation_out
from meadow.enforcement.models import ViolationType
from meadow.moderation.labels import category_label


def _segments(text: str, hits: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """The text cut into ``(piece, is_hit, rule)`` for highlighting (overlapping hits: the first wins)."""
    out: list[tuple[str, bool, str]] = []
    last = 0
    for h in sorted(hits, key=lambda h: h.get("start", 0)):
        start, end = int(h.get("start", 0)), int(h.get("end", 0))
        if start < last or end > len(text) or start >= end:
            continue
        if start > last:
            out.append((text[last:start], False, ""))
        out.append((text[start:end], True, h.get("rule", "")))
        last = end
    if last < len(text):
        out.append((text[last:], False, ""))
    return out


@login_required
def account_status(request: HttpRequest) -> HttpResponse:
    data = selectors.account_status(user=request.user)
    violations = []
    for v in data["violations"]:
        shaped = violation_out(v)
        ev = shaped["evidence"]
        shaped["segments"] = _segments(ev["text"] or "", ev["hits"])
        shaped["suggestions"] = list(
            dict.fromkeys(
                h["suggestion"] for h in ev["hits"] if h.get("suggestion")
            )  # translated by violation_out
        )
        shaped["category_label"] = category_label(shaped["category"])
        shaped["type_label"] = ViolationType(v.type).label if v.type in ViolationType.values else v.type
        shaped["sanctions"] = [s for s in data["sanctions"] if s.violation_id == v.pk]
        violations.append(shaped)
    context = {
        "state": status_state(data["active"]),
        "active": [(s, services.sanction_describe(s)) for s in data["active"]],
        "violations": violations,
        "attempts_limit": settings.MEADOW_BLOCKED_ATTEMPTS_LIMIT,
        "attempts_hours": settings.MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS,
    }
    return render(request, "enforcement/status.html", context)


@login_required
@require_POST
def appeal(request: HttpRequest, violation_id: int) -> HttpResponse:
    try:
        services.appeal_create(
            user=request.user, violation_id=violation_id, text=request.POST.get("text", "")
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Appeal sent. A moderator will decide; you will be notified."))
    return redirect("web:account_status")
