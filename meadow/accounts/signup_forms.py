"""Forms allauth loads by dotted path (ACCOUNT_SIGNUP_FORM_CLASS): no allauth imports here, or allauth's own
form module would import itself in a circle."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class AgreementField(forms.BooleanField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            required=True,
            label=_("I have read and agree to the user agreement and the privacy policy"),
            error_messages={
                "required": _("Please read and agree to the user agreement and the privacy policy.")
            },
            **kwargs,
        )


class AgreementSignupForm(forms.Form):
    """Extra fields on allauth's e-mail sign-up: the agreement (recorded with its version)."""

    agree_terms = AgreementField()

    def signup(self, request, user) -> None:
        from meadow.accounts.services import _record_agreements
        from meadow.core.ratelimit import client_ip

        _record_agreements(user, ip=client_ip(request))
