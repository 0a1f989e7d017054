from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from meadow.business.models import BusinessCategory
from meadow.core.widgets import FilePicker


class VerificationForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=160)
    registration_number = forms.CharField(
        label=_("Registration number"), max_length=40, help_text=_("As on your SSM certificate or licence.")
    )
    category = forms.ChoiceField(label=_("Category"), choices=BusinessCategory.choices)
    contact_name = forms.CharField(label=_("Contact person"), max_length=80)
    contact_phone = forms.CharField(
        label=_("Contact phone"), max_length=24, required=False, help_text=_("For example +60 12-345 6789.")
    )
    whatsapp = forms.CharField(
        label=_("WhatsApp number"),
        max_length=24,
        required=False,
        help_text=_("Shown as a WhatsApp button on your profile and products once you are verified."),
    )
    licence = forms.FileField(
        label=_("Business licence"),
        required=True,
        help_text=_(
            "A PDF or a photo (JPEG, PNG, WebP, HEIC), up to 10 MB. Only you and our reviewers see it."
        ),
        widget=FilePicker(attrs={"accept": "application/pdf,image/*"}),
    )
