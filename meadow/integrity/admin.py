"""The behaviour review queue in the moderators' console (Django admin): suspected accounts, strongest evidence
first, each signal with its evidence, the creator who benefits and the held signals; uphold or dismiss as bulk
actions. Moderators only (staff with ``enforcement.moderate``); decisions go through ``services``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from meadow.core.errors import DomainError
from meadow.enforcement.admin import ModeratorOnly
from meadow.integrity import services
from meadow.integrity.models import Case


@admin.register(Case)
class CaseAdmin(ModeratorOnly, admin.ModelAdmin):
    list_display = ("id", "account", "status", "category", "score", "beneficiary", "opened_at")
    list_filter = ("status", "category")
    ordering = ("-score", "id")
    search_fields = ("account__handle", "beneficiary__handle")
    readonly_fields = (
        "account",
        "status",
        "category",
        "score",
        "beneficiary",
        "opened_at",
        "decided_at",
        "evidence",
    )
    exclude = ("signals", "decided_by", "violation_id", "beneficiary_violation_id", "updated_at")
    actions = ("uphold", "dismiss")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "beneficiary")

    @admin.display(description=_("evidence"))
    def evidence(self, obj: Case) -> str:
        return format_html(
            "<ul>{}</ul><p>{}</p>",
            format_html_join(
                "",
                "<li><b>{}</b> ({}) — {}</li>",
                ((s["signal"], s["weight"], s["evidence"]) for s in obj.signals),
            ),
            _("%(n)d signals held out of counting") % {"n": obj.held.count()},
        )

    def _decide(self, request, queryset, decide) -> None:
        done = 0
        for case in queryset.filter(status=Case.Status.PENDING):
            try:
                decide(case=case, moderator=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, _("%(n)d cases decided.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Uphold: apply the behaviour ladder"))
    def uphold(self, request, queryset) -> None:
        self._decide(request, queryset, services.case_uphold)

    @admin.action(description=_("Dismiss: count the signals again"))
    def dismiss(self, request, queryset) -> None:
        self._decide(request, queryset, services.case_dismiss)
