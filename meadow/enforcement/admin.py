"""The moderators' console (Django admin): the review queue (oldest first, findings highlighted) with one-click
decisions, the appeals queue, violations and sanctions per account, and the audit log. Only staff with the
``enforcement.moderate`` permission (the ``moderator`` group) see any of it; every decision goes through a
service and is written to ``Decision``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from meadow.core.errors import DomainError
from meadow.enforcement import services
from meadow.enforcement.models import Appeal, Decision, ReviewItem, Sanction, Violation


def _hit_title(hit: dict) -> str:
    """A hit's rule, and for a learned hit the model version that found it (stored with the finding)."""
    rule = str(hit.get("rule", ""))
    version = hit.get("model_version")
    return f"{rule} · {_('model')} {version}" if version else rule


def highlight(findings: dict | None) -> str:
    """The checked text with every hit's span marked, then the list of hits with their suggestion."""
    findings = findings or {}
    text = findings.get("text") or ""
    hits = sorted(findings.get("hits") or [], key=lambda h: h.get("start", 0))
    parts, last = [], 0
    for h in hits:
        start, end = int(h.get("start", 0)), int(h.get("end", 0))
        if start < last or end > len(text):
            continue
        parts.append(
            format_html("{}<mark title='{}'>{}</mark>", text[last:start], _hit_title(h), text[start:end])
        )
        last = end
    parts.append(format_html("{}", text[last:]))
    listing = format_html_join(
        "",
        "<li><b>{}</b> «{}» → <i>{}</i></li>",
        ((h.get("category", ""), h.get("match", ""), h.get("suggestion") or "—") for h in hits),
    )
    image = findings.get("image")
    return format_html(
        "<div style='white-space:pre-wrap;max-width:40em'>{}</div><ul>{}</ul>{}",
        mark_safe("".join(str(p) for p in parts)),  # every part was escaped by format_html
        listing,
        format_html("<img src='{}' style='max-width:200px'>", image) if image else "",
    )


class ModeratorOnly:
    """Everything here is for moderators only (staff with ``enforcement.moderate``)."""

    def has_module_permission(self, request):
        return services.is_moderator(request.user)

    def has_view_permission(self, request, obj=None):
        return services.is_moderator(request.user)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _account_link(user) -> str:
    if user is None:
        return "—"
    url = reverse("admin:enforcement_violation_changelist") + f"?account__id__exact={user.pk}"
    return format_html("<a href='{}'>@{}</a>", url, user.handle)


class DecisionForm(ActionForm):
    """The action bar with a free-text reason: it is kept on the ``Decision`` and shown to the account owner."""

    reason = forms.CharField(
        label=_("Reason (shown to the account owner)"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"size": 48}),
    )


def _reason(request) -> str:
    return " ".join((request.POST.get("reason") or "").split())[:500]


@admin.register(ReviewItem)
class ReviewItemAdmin(ModeratorOnly, admin.ModelAdmin):
    list_display = ("created_at", "kind", "reason", "target_link", "account_history", "reporter", "state")
    # the kinds of object in the queue, not every content type of the project (a hundred rows, half untranslated)
    list_filter = ("state", "kind", "reason", ("target_type", admin.RelatedOnlyFieldListFilter))
    search_fields = ("account__handle", "reporter__handle", "text")
    ordering = ("created_at", "id")
    list_select_related = ("account", "reporter", "target_type")
    readonly_fields = (
        "kind", "state", "target_link", "account_history", "reporter", "reason", "text", "findings_html",
        "created_at", "decided_at", "decided_by",
    )  # fmt: skip
    fields = readonly_fields
    action_form = DecisionForm
    actions = [
        "approve",
        "remove",
        "violation_content",
        "violation_behaviour",
        "violation_channel",
    ]

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET" and not request.GET:  # the queue: pending items first
            return redirect(f"{request.path}?state__exact=pending")
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("object"))
    def target_link(self, obj: ReviewItem) -> str:
        target = obj.target
        if target is None:
            return f"{obj.target_type.model} #{obj.target_id} (gone)"
        if obj.target_type.model == "note":
            return format_html("<a href='/notes/{}/' target='_blank'>{}</a>", target.pk, str(target)[:60])
        conversation_id = (
            target.pk
            if obj.target_type.model == "conversation"
            else getattr(target, "conversation_id", None)
            if obj.target_type.model == "message"
            else None
        )
        if conversation_id is not None and obj.kind == ReviewItem.Kind.REPORT:
            # a reported conversation (or message): its last 50 messages, each opening audited
            return format_html(
                "{} #{}: <a href='/moderation/conversations/{}/' target='_blank' "
                "data-testid='open-reported-conversation'>{}</a>",
                obj.target_type.model,
                obj.target_id,
                conversation_id,
                _("Read the last 50 messages (recorded in the audit log)"),
            )
        return format_html("{} #{}: {}", obj.target_type.model, obj.target_id, str(target)[:60])

    @admin.display(description=_("account (history)"))
    def account_history(self, obj: ReviewItem) -> str:
        return _account_link(obj.account)

    @admin.display(description=_("findings"))
    def findings_html(self, obj: ReviewItem) -> str:
        return highlight(obj.findings)

    def _decide(self, request, queryset, decision: str, type: str | None = None) -> None:
        done = 0
        for item in queryset.filter(state=ReviewItem.State.PENDING).order_by("pk"):
            try:
                services.review_decide(
                    item=item, moderator=request.user, decision=decision, type=type, reason=_reason(request)
                )
            except DomainError as exc:
                self.message_user(request, f"#{item.pk}: {exc.message}", messages.WARNING)
            else:
                done += 1
        message = ngettext("%(count)d item decided.", "%(count)d items decided.", done) % {"count": done}
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Approve (nothing wrong; release held content)"))
    def approve(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description=_("Remove the content and record a violation"))
    def remove(self, request, queryset):
        self._decide(request, queryset, "remove")

    @admin.action(description=_("Record a content violation"))
    def violation_content(self, request, queryset):
        self._decide(request, queryset, "violation", "content")

    @admin.action(description=_("Record a behaviour violation"))
    def violation_behaviour(self, request, queryset):
        self._decide(request, queryset, "violation", "behaviour")

    @admin.action(description=_("Record a channel violation"))
    def violation_channel(self, request, queryset):
        self._decide(request, queryset, "violation", "channel")


@admin.register(Appeal)
class AppealAdmin(ModeratorOnly, admin.ModelAdmin):
    list_display = ("created_at", "account_history", "violation_rule", "short_text", "state", "decided_by")
    list_filter = ("state",)
    search_fields = ("account__handle", "text", "violation__rule")
    ordering = ("created_at", "id")
    list_select_related = ("account", "violation", "decided_by")
    readonly_fields = (
        "account_history", "violation_rule", "text", "evidence_html", "state", "response", "created_at",
        "decided_at", "decided_by",
    )  # fmt: skip
    fields = readonly_fields
    action_form = DecisionForm
    actions = ["uphold", "reject"]

    @admin.display(description=_("account (history)"))
    def account_history(self, obj: Appeal) -> str:
        return _account_link(obj.account)

    @admin.display(description=_("rule"))
    def violation_rule(self, obj: Appeal) -> str:
        return f"{obj.violation.type}: {obj.violation.rule}"

    @admin.display(description=_("appeal"))
    def short_text(self, obj: Appeal) -> str:
        return obj.text[:80]

    @admin.display(description=_("evidence"))
    def evidence_html(self, obj: Appeal) -> str:
        return highlight(obj.violation.evidence)

    def _decide(self, request, queryset, decision: str) -> None:
        done = 0
        for appeal in queryset.filter(state=Appeal.State.PENDING).order_by("pk"):
            try:
                services.appeal_decide(
                    appeal=appeal, moderator=request.user, decision=decision, response=_reason(request)
                )
            except DomainError as exc:
                self.message_user(request, f"#{appeal.pk}: {exc.message}", messages.WARNING)
            else:
                done += 1
        message = ngettext("%(count)d appeal decided.", "%(count)d appeals decided.", done) % {"count": done}
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Uphold: the appeal is right, void the violation and lift its penalties"))
    def uphold(self, request, queryset):
        self._decide(request, queryset, "uphold")

    @admin.action(description=_("Reject: the violation stands"))
    def reject(self, request, queryset):
        self._decide(request, queryset, "reject")


class SanctionInline(admin.TabularInline):
    model = Sanction
    fk_name = "violation"
    extra = 0
    can_delete = False
    fields = ("kind", "note", "starts_at", "ends_at", "lifted_at", "lift_reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Violation)
class ViolationAdmin(ModeratorOnly, admin.ModelAdmin):
    """The ledger: read-only (append-only: corrections are void records)."""

    list_display = ("created_at", "account_link", "type", "category", "rule", "severity", "source", "void_of")
    list_filter = ("type", "source", "severity", "category")
    search_fields = ("account__handle", "rule", "category")
    date_hierarchy = "created_at"
    list_select_related = ("account",)
    readonly_fields = (
        "account", "type", "category", "rule", "severity", "evidence_html", "target_type", "target_id",
        "source", "decided_by", "voids", "reason", "created_at",
    )  # fmt: skip
    fields = readonly_fields
    inlines = [SanctionInline]

    @admin.display(description=_("account"))
    def account_link(self, obj: Violation) -> str:
        return _account_link(obj.account)

    @admin.display(description=_("voids"))
    def void_of(self, obj: Violation) -> str:
        return f"#{obj.voids_id}" if obj.voids_id else ""

    @admin.display(description=_("evidence"))
    def evidence_html(self, obj: Violation) -> str:
        return highlight(obj.evidence)


@admin.register(Sanction)
class SanctionAdmin(ModeratorOnly, admin.ModelAdmin):
    list_display = ("starts_at", "account", "kind", "ends_at", "lifted_at", "note", "violation")
    list_filter = ("kind", ("lifted_at", admin.EmptyFieldListFilter))
    search_fields = ("account__handle",)
    list_select_related = ("account", "note", "violation")
    readonly_fields = (
        "account", "kind", "violation", "note", "starts_at", "ends_at", "lifted_at", "lift_reason",
        "expired_at", "created_at",
    )  # fmt: skip
    fields = readonly_fields
    actions = ["lift"]

    @admin.action(description=_("Lift early"))
    def lift(self, request, queryset):
        for sanction in queryset.filter(lifted_at__isnull=True):
            services.sanction_lift(sanction=sanction, by=request.user, reason=str(_("lifted in the console")))
        self.message_user(request, _("Lifted."), messages.SUCCESS)


@admin.register(Decision)
class DecisionAdmin(ModeratorOnly, admin.ModelAdmin):
    """The audit log (append-only)."""

    list_display = ("created_at", "moderator", "action", "target_type", "target_id", "reason")
    list_filter = ("action",)
    search_fields = ("moderator__handle", "reason")
    date_hierarchy = "created_at"
    readonly_fields = ("moderator", "action", "target_type", "target_id", "reason", "data", "created_at")
    fields = readonly_fields
