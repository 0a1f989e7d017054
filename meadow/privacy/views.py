"""Pages: "Your data" in Settings — download a copy of my data, delete my account (and cancel it)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from meadow.core.errors import DomainError
from meadow.core.ratelimit import client_ip
from meadow.privacy import selectors, services
from meadow.privacy.responses import download_response


def signed_in(request: HttpRequest, user) -> None:
    """Every web sign-in door calls this after logging ``user`` in: it cancels a scheduled deletion and says so."""
    if services.account_deletion_cancel_on_login(user=user):
        messages.success(
            request, _("Welcome back. Your account will not be deleted: logging in cancelled it.")
        )


def _page(
    request: HttpRequest, *, errors: dict[str, str] | None = None, code_sent: bool = False, status: int = 200
):
    user = request.user
    return render(
        request,
        "privacy/data.html",
        {
            "exports": selectors.data_exports_for_user(user=user),
            "deletion": selectors.account_deletion_scheduled(user=user),
            "needs_code": not user.has_usable_password() and bool(user.phone),
            "errors": errors or {},
            "code_sent": code_sent,
            "grace_days": settings.MEADOW_DELETION_GRACE_DAYS,
        },
        status=status,
    )


@login_required
@require_GET
def data_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def export_request(request: HttpRequest) -> HttpResponse:
    try:
        services.data_export_request(user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("We are preparing a copy of your data. We will tell you when it is ready.")
        )
    return redirect("web:privacy_data")


@login_required
@require_GET
def export_download(request: HttpRequest, export_id: int) -> HttpResponse:
    """The archive, for its owner only (404 for anyone else, even staff)."""
    try:
        export = selectors.data_export_file_for_owner(user=request.user, export_id=export_id)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(str(exc.message)) from None
        messages.error(request, str(exc.message))
        return redirect("web:privacy_data")
    return download_response(export)


@login_required
@require_POST
def deletion_code(request: HttpRequest) -> HttpResponse:
    """Send the SMS code that confirms the deletion of a phone-only account."""
    from meadow.accounts.services import phone_code_request

    try:
        phone_code_request(phone=request.user.phone or "", ip=client_ip(request))
    except DomainError as exc:
        return _page(request, errors={"code": str(exc.message)}, status=400)
    return _page(request, code_sent=True)


@login_required
@require_POST
def deletion_request(request: HttpRequest) -> HttpResponse:
    try:
        deletion = services.account_deletion_request(
            user=request.user,
            password=request.POST.get("password") or None,
            code=request.POST.get("code") or None,
        )
    except DomainError as exc:
        return _page(request, errors={exc.field or "password": str(exc.message)}, status=400)
    messages.success(
        request,
        _("Your account will be deleted on %(date)s. Log in before then to cancel.")
        % {"date": formats.date_format(deletion.scheduled_for, "DATE_FORMAT")},
    )
    return redirect("web:privacy_data")


@login_required
@require_POST
def deletion_cancel(request: HttpRequest) -> HttpResponse:
    if services.account_deletion_cancel(user=request.user):
        messages.success(request, _("Your account will not be deleted."))
    return redirect("web:privacy_data")
