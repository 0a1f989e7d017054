from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from meadow.core.errors import DomainError
from meadow.moderation.models import LexiconEntry, ModerationFinding
from meadow.moderation.services import lexicon_entries_delete, lexicon_entry_save, moderation_check


class LexiconEntryForm(forms.ModelForm):
    try_text = forms.CharField(
        label=_("Try it on a text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("After saving, the result of checking this text is shown."),
    )

    class Meta:
        model = LexiconEntry
        fields = ["term", "category", "severity", "suggestion", "flags", "enabled", "note"]

    def clean(self):
        data = super().clean()
        from meadow.moderation.engine.lexicon import term_from_record

        try:
            term_from_record(
                {k: data.get(k) for k in ("term", "category", "severity", "suggestion", "flags", "enabled")}
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(LexiconEntry)
class LexiconEntryAdmin(admin.ModelAdmin):
    """The editable lexicon: terms, categories, allow-list phrases (category ``allow``), enable/disable."""

    form = LexiconEntryForm
    list_display = ("term", "category", "severity", "suggestion", "enabled", "updated_by", "updated_at")
    list_filter = ("category", "severity", "enabled")
    search_fields = ("term", "suggestion", "note")
    list_editable = ("enabled",)
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request, obj, form, change):
        try:
            lexicon_entry_save(entry=obj, by=request.user)
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
            return
        text = form.cleaned_data.get("try_text")
        if text:
            result = moderation_check(text=text, field="note", account="personal")
            found = ", ".join(f"{h.category}: {h.match}" for h in result.hits) or "—"
            self.message_user(
                request,
                _("Check result: %(verdict)s (%(hits)s)") % {"verdict": result.verdict, "hits": found},
            )

    def delete_model(self, request, obj):
        lexicon_entries_delete(entries=LexiconEntry.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        lexicon_entries_delete(entries=queryset)


@admin.register(ModerationFinding)
class ModerationFindingAdmin(admin.ModelAdmin):
    """What the media scan found after publishing: QR codes and contact details in images, explicit images,
    copied images or copy (with the original note). Read-only: decisions are taken in enforcement."""

    list_display = (
        "created_at",
        "category",
        "source",
        "score",
        "severity",
        "model_version",
        "note",
        "image",
        "original_note",
    )
    list_filter = ("category", "source", "severity")
    search_fields = ("note__id", "note__title", "note__author__handle")
    list_select_related = ("note", "image", "original_note")
    raw_id_fields = ("note", "image", "original_note")
    readonly_fields = [f.name for f in ModerationFinding._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
