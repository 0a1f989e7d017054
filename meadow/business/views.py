"""Pages: apply for blue-tick verification and follow its status; the private licence file."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from meadow.business import selectors, services
from meadow.business.forms import VerificationForm
from meadow.business.models import VerificationApplication
from meadow.core.errors import DomainError


@login_required
def verification(request: HttpRequest) -> HttpResponse:
    user = request.user
    latest = selectors.verification_latest(user=user)
    can_apply = not user.is_verified_enterprise and (
        latest is None or latest.status != VerificationApplication.Status.PENDING
    )
    initial = {}
    if latest is not None:
        initial = {
            f: getattr(latest, f)
            for f in ("company_name", "registration_number", "category", "contact_name", "contact_phone",
                      "whatsapp")
        }  # fmt: skip
    form = VerificationForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and can_apply and form.is_valid():
        data = form.cleaned_data
        try:
            services.verification_apply(user=user, **data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("Application sent. We will tell you when it has been reviewed."))
            return redirect("web:business_verification")
    contact = selectors.contact_for(user=user)
    return render(
        request,
        "business/verification.html",
        {"form": form, "latest": latest, "can_apply": can_apply, "contact": contact},
    )


@require_GET
@login_required
def licence_file(request: HttpRequest, application_id: int) -> HttpResponse:
    """The licence, for its applicant and moderators only (404 for everyone else); never cached publicly and
    never rendered as a page of ours (sandboxed, no sniffing)."""
    application = selectors.verification_get_for_viewer(viewer=request.user, application_id=application_id)
    ext = "pdf" if application.licence_content_type == "application/pdf" else "webp"
    response = FileResponse(
        application.licence.open("rb"),
        content_type=application.licence_content_type,
        as_attachment=ext == "pdf",
        filename=f"licence-{application.pk}.{ext}",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    return response
