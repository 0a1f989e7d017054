"""Web forms for accounts. They collect input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from meadow.accounts.models import BIO_MAX, User
from meadow.accounts.signup_forms import AgreementField
from meadow.core.widgets import FilePicker


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "+60 12-345 6789"}
        ),
    )


class PhoneSignupForm(forms.Form):
    phone = forms.CharField(widget=forms.HiddenInput, max_length=32)
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "placeholder": "123456"}
        ),
    )
    handle = forms.CharField(
        label=_("Handle"), max_length=64, help_text=_("Your @name: letters, digits, dots, underscores.")
    )
    display_name = forms.CharField(label=_("Name"), max_length=100, required=False)
    agree_terms = AgreementField()


class PhoneLoginForm(forms.Form):
    phone = forms.CharField(widget=forms.HiddenInput, max_length=32)
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class LoginForm(forms.Form):
    login = forms.CharField(label=_("Handle, e-mail or phone"), max_length=254)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=256)


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=100)
    handle = forms.CharField(label=_("Handle"), max_length=64)
    bio = forms.CharField(
        label=_("Bio"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "data-counter": BIO_MAX}),
        help_text=_("Who you are · what you offer · how to reach you on Meadow"),
    )
    location = forms.CharField(label=_("Location"), required=False, max_length=200)
    gender = forms.ChoiceField(label=_("Gender"), choices=User.Gender.choices, required=False)
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    avatar = forms.FileField(
        label=_("Profile picture"),
        required=False,
        widget=FilePicker(attrs={"accept": "image/*"}),
    )
    background = forms.FileField(
        label=_("Background image"),
        required=False,
        widget=FilePicker(attrs={"accept": "image/*"}),
    )


class PrivacyForm(forms.Form):
    is_private = forms.BooleanField(label=_("Private account: approve who follows me"), required=False)
    message_policy = forms.ChoiceField(label=_("Who may message me"), choices=User.MessagePolicy.choices)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("Browser default")), *settings.LANGUAGES], required=False
    )
