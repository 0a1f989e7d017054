"""The moderators' console for blue-tick verification: the queue (oldest first), the private licence (linked
through the access-checked view), and one-click decisions with a reason shown to the applicant."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from meadow.business import services
from meadow.business.models import VerificationApplication
from meadow.core.errors import DomainError
from meadow.enforcement.admin import DecisionForm, ModeratorOnly, _reason


@admin.register(VerificationApplication)
class VerificationApplicationAdmin(ModeratorOnly, admin.ModelAdmin):
    list_display = ("created_at", "company_name", "registration_number", "category", "applicant", "status")
    list_filter = ("status", "category")
    search_fields = ("company_name", "registration_number", "user__handle")
    ordering = ("created_at", "id")
    list_select_related = ("user", "reviewed_by")
    readonly_fields = (
        "applicant", "company_name", "registration_number", "category", "contact_name", "contact_phone",
        "whatsapp", "licence_link", "status", "reason", "created_at", "updated_at", "reviewed_at", "reviewed_by",
    )  # fmt: skip
    fields = readonly_fields
    action_form = DecisionForm
    actions = ["approve", "reject", "more_info", "revoke"]

    def changelist_view(self, request, extra_context=None):
        from django.shortcuts import redirect

        if request.method == "GET" and not request.GET:  # the queue: pending applications first
            return redirect(f"{request.path}?status__exact=pending")
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("applicant"))
    def applicant(self, obj: VerificationApplication) -> str:
        return format_html("<a href='/@{}/' target='_blank'>@{}</a>", obj.user.handle, obj.user.handle)

    @admin.display(description=_("business licence"))
    def licence_link(self, obj: VerificationApplication) -> str:
        url = reverse("web:business_licence", args=[obj.pk])
        return format_html("<a href='{}' target='_blank' rel='noopener'>{}</a>", url, _("Open the licence"))

    def _decide(self, request, queryset, decision: str) -> None:
        done = 0
        for application in queryset.order_by("pk"):
            try:
                if decision == "revoke":
                    if (
                        services.verification_revoke(
                            user=application.user, moderator=request.user, reason=_reason(request)
                        )
                        is None
                    ):
                        continue
                else:
                    services.verification_decide(
                        application=application,
                        moderator=request.user,
                        decision=decision,
                        reason=_reason(request),
                    )
            except DomainError as exc:
                self.message_user(request, f"#{application.pk}: {exc.message}", messages.WARNING)
            else:
                done += 1
        message = ngettext("%(count)d application decided.", "%(count)d applications decided.", done) % {
            "count": done
        }
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Approve (blue tick and business privileges)"))
    def approve(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description=_("Reject (give the reason)"))
    def reject(self, request, queryset):
        self._decide(request, queryset, "reject")

    @admin.action(description=_("Ask for more information (say what)"))
    def more_info(self, request, queryset):
        self._decide(request, queryset, "more_info")

    @admin.action(description=_("Revoke verification (give the reason)"))
    def revoke(self, request, queryset):
        self._decide(request, queryset, "revoke")
