"""Account pages: sign-up by phone code, login (password or code), profile, edit, privacy, follow lists."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meadow.accounts import selectors, services
from meadow.accounts.forms import (
    LoginForm,
    PhoneForm,
    PhoneLoginForm,
    PhoneSignupForm,
    PrivacyForm,
    ProfileForm,
)
from meadow.accounts.validation import clean_phone
from meadow.core.errors import DomainError, NotFound
from meadow.core.ratelimit import client_ip
from meadow.core.redirects import next_url
from meadow.enforcement.services import enforcement_login_gate
from meadow.privacy.views import signed_in as privacy_signed_in

BACKEND = "meadow.accounts.backends.LoginBackend"


def _form_error(form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def _next_url(request: HttpRequest, default: str) -> str:
    return next_url(request, default)


def _activate_language(response: HttpResponse, language: str) -> HttpResponse:
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax"
        )
    return response


# --- sign-up and login ---------------------------------------------------------------------------------------------
def signup(request: HttpRequest) -> HttpResponse:
    """Sign up by phone: step 1 asks the number and sends a code, step 2 takes the code, handle and agreement."""
    if request.user.is_authenticated:
        return redirect("web:home")
    phone_form, signup_form, step = PhoneForm(), None, "phone"
    if request.method == "POST" and request.POST.get("step") == "phone":
        phone_form = PhoneForm(request.POST)
        if phone_form.is_valid():
            try:
                services.phone_code_request(phone=phone_form.cleaned_data["phone"], ip=client_ip(request))
            except DomainError as exc:
                _form_error(phone_form, exc)
            else:
                step = "code"
                signup_form = PhoneSignupForm(
                    initial={"phone": clean_phone(phone_form.cleaned_data["phone"])}
                )
                messages.info(request, _("We sent a 6-digit code by SMS."))
    elif request.method == "POST" and request.POST.get("step") == "code":
        step = "code"
        signup_form = PhoneSignupForm(request.POST)
        if signup_form.is_valid():
            data = signup_form.cleaned_data
            try:
                user = services.user_signup_phone(
                    handle=data["handle"],
                    phone=data["phone"],
                    code=data["code"],
                    agree_terms=data["agree_terms"],
                    display_name=data["display_name"] or None,
                    language=translation.get_language() or "",
                    ip=client_ip(request),
                )
            except DomainError as exc:
                _form_error(signup_form, exc)
            else:
                auth_login(request, user, backend=BACKEND)
                messages.success(request, _("Welcome to Meadow! Tell people who you are."))
                return redirect("web:onboarding_interests")  # pick interests (skippable), then the profile
    return render(
        request, "accounts/signup.html", {"phone_form": phone_form, "signup_form": signup_form, "step": step}
    )


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
                if not selectors.user_find_by_login(login=phone):
                    raise DomainError(_("No account uses this phone number. Sign up first."), field="phone")
                services.phone_code_request(phone=phone, ip=client_ip(request))
            except DomainError as exc:
                _form_error(phone_form, exc)
            else:
                code_form = PhoneLoginForm(initial={"phone": phone})
    elif request.method == "POST" and request.POST.get("step") == "code":
        code_form = PhoneLoginForm(request.POST)
        if code_form.is_valid():
            try:
                user = services.user_login_by_phone(
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


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("web:home")


# --- profile ---------------------------------------------------------------------------------------------------------
def profile(request: HttpRequest, handle: str) -> HttpResponse:
    from meadow.notes import selectors as note_selectors
    from meadow.notes.views import render_grid

    viewer = request.user if request.user.is_authenticated else None
    user = selectors.user_get_for_viewer(viewer=viewer, handle=handle)
    drafts = bool(request.GET.get("drafts")) and viewer is not None and viewer.pk == user.pk
    cursor = request.GET.get("cursor")
    if drafts:
        page = note_selectors.notes_drafts(author=user, cursor=cursor)
    else:
        page = note_selectors.notes_for_profile(viewer=viewer, author=user, cursor=cursor)
        if viewer is not None and viewer.pk == user.pk:
            # The author sees which of their notes are kept out of feeds and search (限流), and why (status page).
            from meadow.enforcement.selectors import notes_limited_ids

            limited = notes_limited_ids(note_ids=[note.pk for note in page["items"]])
            for note in page["items"]:
                note.limited_for_author = note.pk in limited
    context = {
        "drafts": drafts,
        "profile": user,
        "follow": selectors.follow_status(follower=viewer, followee=user),
        "blocked": bool(viewer and selectors.has_blocked(blocker=viewer, blocked=user)),
        "can_see": selectors.can_see_connections(viewer=viewer, user=user),
        "requests": selectors.follow_requests_for(user=user).count()
        if viewer and viewer.pk == user.pk
        else 0,
    }
    return render_grid(request, page, template="accounts/profile.html", context=context)


def connections(request: HttpRequest, handle: str, which: str) -> HttpResponse:
    viewer = request.user if request.user.is_authenticated else None
    user = selectors.user_get_for_viewer(viewer=viewer, handle=handle)
    if not selectors.can_see_connections(viewer=viewer, user=user):
        raise Http404
    qs = selectors.followers_of(user=user) if which == "followers" else selectors.following_of(user=user)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    people = [link.follower if which == "followers" else link.followee for link in page]
    return render(
        request,
        "accounts/connections.html",
        {"profile": user, "which": which, "page": page, "people": people},
    )


@login_required
def me(request: HttpRequest) -> HttpResponse:
    return redirect("web:profile", handle=request.user.handle)


@login_required
def profile_edit(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {
        f: getattr(user, f) for f in ("display_name", "handle", "bio", "location", "gender", "birthday")
    }
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # one transaction: a bad image leaves the text fields unchanged too
            with transaction.atomic():
                services.profile_update(
                    user=user,
                    **{
                        k: data[k]
                        for k in ("display_name", "handle", "bio", "location", "gender", "birthday")
                    },
                )
                for kind in ("avatar", "background"):
                    if data.get(kind):
                        services.profile_set_image(user=user, kind=kind, upload=data[kind])
        except DomainError as exc:
            user.refresh_from_db()
            _form_error(form, exc)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("web:profile", handle=user.handle)
    return render(request, "accounts/profile_edit.html", {"form": form})


@login_required
def privacy(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PrivacyForm(
        request.POST or None,
        initial={
            "is_private": user.is_private,
            "message_policy": user.message_policy,
            "language": user.language,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(user=user, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return _activate_language(redirect("web:settings"), form.cleaned_data["language"])
    blocked = [b.blocked for b in user.blocks_made.select_related("blocked").order_by("-id")[:200]]
    tokens = list(selectors.tokens_live_for(user=user)[:100])
    return render(
        request, "accounts/settings.html", {"form": form, "blocked_users": blocked, "tokens": tokens}
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Sign one app out (revoke one of the account's API tokens). Another account's token is a 404."""
    try:
        services.token_revoke_for_user(user=request.user, token_id=token_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("The app is signed out."))
    return redirect(reverse("web:settings") + "#apps")


@login_required
def follow_requests(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        requester = selectors.user_get_for_viewer(viewer=request.user, handle=request.POST.get("handle", ""))
        try:
            services.follow_request_decide(
                user=request.user, requester=requester, accept=request.POST.get("decision") == "accept"
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("web:follow_requests")
    people = [link.follower for link in selectors.follow_requests_for(user=request.user)[:200]]
    return render(request, "accounts/follow_requests.html", {"people": people})


@login_required
@require_POST
def follow_toggle(request: HttpRequest, handle: str) -> HttpResponse:
    target = selectors.user_get_for_viewer(viewer=request.user, handle=handle)
    try:
        if request.POST.get("action") == "unfollow":
            services.follow_delete(follower=request.user, followee=target)
        else:
            services.follow_create(follower=request.user, followee=target)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    target.refresh_from_db()
    if request.htmx:
        return render(
            request,
            "accounts/_follow_button.html",
            {
                "profile": target,
                "follow": selectors.follow_status(follower=request.user, followee=target),
                "oob_count": True,
            },
        )
    return redirect(_next_url(request, reverse("web:profile", kwargs={"handle": target.handle})))


@login_required
@require_POST
def block_toggle(request: HttpRequest, handle: str) -> HttpResponse:
    target = selectors.user_get_for_viewer(viewer=request.user, handle=handle)
    try:
        if request.POST.get("action") == "unblock":
            services.block_delete(blocker=request.user, blocked=target)
            messages.success(request, _("@%(handle)s is unblocked.") % {"handle": target.handle})
        else:
            services.block_create(blocker=request.user, blocked=target)
            messages.success(request, _("@%(handle)s is blocked.") % {"handle": target.handle})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect(_next_url(request, reverse("web:profile", kwargs={"handle": target.handle})))
