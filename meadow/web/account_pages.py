"""Account pages that compose apps above accounts, so they sit in the web shell: the login pages (enforcement's
ban gate says when a suspension ends; privacy cancels a scheduled account deletion on sign-in) and the profile
page (the notes grid, with the author's own limited notes marked from enforcement)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from meadow.accounts import selectors as account_selectors
from meadow.accounts import services as account_services
from meadow.accounts.forms import LoginForm, PhoneForm, PhoneLoginForm
from meadow.accounts.validation import clean_phone
from meadow.accounts.views import BACKEND, _activate_language, _form_error, _next_url
from meadow.core.errors import DomainError
from meadow.core.ratelimit import client_ip
from meadow.core.redirects import next_url
from meadow.enforcement.selectors import notes_limited_ids
from meadow.enforcement.services import enforcement_login_gate
from meadow.messaging import selectors as messaging_selectors
from meadow.notes import selectors as note_selectors
from meadow.notes.views import render_grid
from meadow.privacy.views import signed_in as privacy_signed_in


# --- login ---------------------------------------------------------------------------------------------------------
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # LoginBackend counts the attempt (per address, per account) and raises RateLimited past the limit.
            user = authenticate(
                request, username=form.cleaned_data["login"], password=form.cleaned_data["password"]
            )
            if user is None:  # suspended: say so and until when (or lift an ended suspension)
                user = enforcement_login_gate(
                    login=form.cleaned_data["login"], password=form.cleaned_data["password"]
                )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            if user is None:
                form.add_error(None, _("The login or the password is not right."))
            else:
                auth_login(request, user, backend=BACKEND)
                privacy_signed_in(request, user)  # logging in cancels a scheduled account deletion
                return _activate_language(redirect(_next_url(request, reverse("web:home"))), user.language)
    return render(request, "accounts/login.html", {"form": form, "next": next_url(request, "")})


def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin's sign-in page (its form, throttled like every password door by ``LoginBackend``), plus
    what every sign-in does: a scheduled account deletion is cancelled, as on Meadow's own login pages."""
    from django.contrib import admin

    before = request.user.pk if request.user.is_authenticated else None
    response = admin.site.login(request)
    if request.method == "POST" and request.user.is_authenticated and request.user.pk != before:
        privacy_signed_in(request, request.user)
    return response


def login_code(request: HttpRequest) -> HttpResponse:
    """Log in with a phone number and a one-time code (no password needed)."""
    if request.user.is_authenticated:
        return redirect("web:home")
    phone_form, code_form = PhoneForm(), None
    if request.method == "POST" and request.POST.get("step") == "phone":
        phone_form = PhoneForm(request.POST)
        if phone_form.is_valid():
            try:
                phone = clean_phone(phone_form.cleaned_data["phone"])
                if not account_selectors.user_find_by_login(login=phone):
                    raise DomainError(_("No account uses this phone number. Sign up first."), field="phone")
                account_services.phone_code_request(phone=phone, ip=client_ip(request))
            except DomainError as exc:
                _form_error(phone_form, exc)
            else:
                code_form = PhoneLoginForm(initial={"phone": phone})
    elif request.method == "POST" and request.POST.get("step") == "code":
        code_form = PhoneLoginForm(request.POST)
        if code_form.is_valid():
            try:
                user = account_services.user_login_by_phone(
                    phone=code_form.cleaned_data["phone"],
                    code=code_form.cleaned_data["code"],
                    ip=client_ip(request),
                )
            except DomainError as exc:
                _form_error(code_form, exc)
            else:
                auth_login(request, user, backend=BACKEND)
                privacy_signed_in(request, user)  # logging in cancels a scheduled account deletion
                return _activate_language(redirect("web:home"), user.language)
    return render(request, "accounts/login_code.html", {"phone_form": phone_form, "code_form": code_form})


# --- profile ---------------------------------------------------------------------------------------------------------
def profile(request: HttpRequest, handle: str) -> HttpResponse:
    viewer = request.user if request.user.is_authenticated else None
    user = account_selectors.user_get_for_viewer(viewer=viewer, handle=handle)
    drafts = bool(request.GET.get("drafts")) and viewer is not None and viewer.pk == user.pk
    cursor = request.GET.get("cursor")
    if drafts:
        page = note_selectors.notes_drafts(author=user, cursor=cursor)
    else:
        page = note_selectors.notes_for_profile(viewer=viewer, author=user, cursor=cursor)
        if viewer is not None and viewer.pk == user.pk:
            # The author sees which of their notes are kept out of feeds and search (限流), and why (status page).
            limited = notes_limited_ids(note_ids=[note.pk for note in page["items"]])
            for note in page["items"]:
                note.limited_for_author = note.pk in limited
    context = {
        "drafts": drafts,
        "profile": user,
        "follow": account_selectors.follow_status(follower=viewer, followee=user),
        "blocked": bool(viewer and account_selectors.has_blocked(blocker=viewer, blocked=user)),
        "can_message": messaging_selectors.can_message(viewer=viewer, other=user),
        "can_see": account_selectors.can_see_connections(viewer=viewer, user=user),
        "requests": account_selectors.follow_requests_for(user=user).count()
        if viewer and viewer.pk == user.pk
        else 0,
    }
    return render_grid(request, page, template="accounts/profile.html", context=context)
