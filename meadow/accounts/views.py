"""Account pages: sign-up by phone code, logout, profile edit, privacy, follow lists. The login pages and the
profile page compose apps above accounts (enforcement's ban gate, privacy's deletion cancel, the notes grid) and
live in the web shell (``meadow.web.account_pages``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from meadow.accounts import selectors, services
from meadow.accounts.forms import (
    PhoneForm,
    PhoneSignupForm,
    PrivacyForm,
    ProfileForm,
)
from meadow.accounts.validation import clean_phone
from meadow.core.errors import DomainError, NotFound, errors_of
from meadow.core.ratelimit import RateLimited, client_ip
from meadow.core.redirects import next_url

BACKEND = "meadow.accounts.backends.LoginBackend"


def _form_error(form, exc: DomainError) -> None:
    """Every field's error of ``exc`` under its field (the form's own errors for a field come first)."""
    for each in errors_of(exc):
        field = each.field if each.field in form.fields else None
        if field is not None and form.fields[field].widget.is_hidden:
            field = None  # shown above the form, where a person sees it
        if field is None or field not in form.errors:
            form.add_error(field, str(each.message))


def _code_rate_limited(exc: DomainError) -> str:
    """The message for a refused code request: when the next code may be asked for."""
    wait = getattr(exc, "retry_after", None)
    if not wait:
        return str(exc.message)
    return ngettext(
        "Too many codes asked for. You can ask for a new one in %(seconds)d second.",
        "Too many codes asked for. You can ask for a new one in %(seconds)d seconds.",
        wait,
    ) % {"seconds": wait}


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
            except RateLimited as exc:
                phone_form.add_error("phone", _code_rate_limited(exc))
            except DomainError as exc:
                _form_error(phone_form, exc)
            else:
                step = "code"
                signup_form = PhoneSignupForm(
                    initial={"phone": clean_phone(phone_form.cleaned_data["phone"])}
                )
                messages.info(request, _("We sent a 6-digit code by SMS."))
    elif request.method == "POST" and request.POST.get("step") == "resend":
        # "Resend code" on the code step: the same request, rate-limited exactly like the first one.
        step = "code"
        phone = request.POST.get("phone", "")
        signup_form = PhoneSignupForm(initial={"phone": phone})
        try:
            services.phone_code_request(phone=phone, ip=client_ip(request))
        except RateLimited as exc:
            messages.error(request, _code_rate_limited(exc))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.info(request, _("We sent a new 6-digit code by SMS."))
    elif request.method == "POST" and request.POST.get("step") == "code":
        step = "code"
        signup_form = PhoneSignupForm(request.POST)
        if not signup_form.is_valid():
            # the form's own errors (a field left empty) and the service's for the rest, all at once
            try:
                services.user_signup_phone_check(
                    handle=request.POST.get("handle", ""),
                    phone=request.POST.get("phone", ""),
                    agree_terms=bool(signup_form.cleaned_data.get("agree_terms")),
                    display_name=request.POST.get("display_name") or None,
                    code=signup_form.cleaned_data.get("code") or None,
                )
            except DomainError as exc:
                _form_error(signup_form, exc)
        else:
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
                # pick interests (skippable), then the profile — or back where the person was going (the note
                # they tried to like when the log-in page sent them here to sign up)
                target = reverse("web:onboarding_interests")
                after = next_url(request, "")
                return redirect(f"{target}?{urlencode({'next': after})}" if after else target)
    return render(
        request,
        "accounts/signup.html",
        {"phone_form": phone_form, "signup_form": signup_form, "step": step, "next": next_url(request, "")},
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("web:home")


# --- profile ---------------------------------------------------------------------------------------------------------
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
                # the profile's follower count rides along only where the page has one: a note sheet or the
                # suggestions on Discover post count=0 (htmx:oobErrorNoTarget; or a wrong profile's count)
                "oob_count": request.POST.get("count") != "0",
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
