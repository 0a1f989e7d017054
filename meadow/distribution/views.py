"""Distribution pages: the interest-picking step of onboarding and the "why am I seeing this?" popover."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from meadow.core.errors import DomainError
from meadow.core.redirects import next_url
from meadow.distribution import selectors, services
from meadow.notes.selectors import categories_all, note_get_for_viewer


def _next(request: HttpRequest) -> str:
    return next_url(request, "/me/edit/")


@login_required
def onboarding_interests(request: HttpRequest) -> HttpResponse:
    """After sign-up: pick the interest categories to start Discover with (skippable; changeable later)."""
    error = None
    if request.method == "POST":
        if request.POST.get("skip"):
            services.interests_skip(user=request.user)
            return redirect(_next(request))
        try:
            services.interests_pick(user=request.user, slugs=request.POST.getlist("interests"))
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Thanks! Discover now starts with what you picked."))
            return redirect(_next(request))
    language = get_language()
    picked = (
        set(request.POST.getlist("interests"))
        if error
        else set(selectors.interests_picked(user=request.user))
    )
    choices = [(c.slug, c.name_for(language), c.slug in picked) for c in categories_all()]
    return render(
        request,
        "distribution/onboarding_interests.html",
        {"choices": choices, "error": error, "next": _next(request)},
    )


def note_why(request: HttpRequest, note_id: int) -> HttpResponse:
    """The "why am I seeing this?" popover of a card (an htmx fragment; a small page without htmx)."""
    viewer = request.user if request.user.is_authenticated else None
    note = note_get_for_viewer(viewer=viewer, note_id=note_id)
    reasons = selectors.why_texts(reasons=selectors.note_why_reasons(viewer=viewer, note=note), viewer=viewer)
    template = "distribution/_why.html" if request.htmx else "distribution/why.html"
    return render(request, template, {"note": note, "reasons": reasons})
