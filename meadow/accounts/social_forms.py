"""The OAuth sign-up form (SOCIALACCOUNT_FORMS): the same agreement as every other sign-up."""

from __future__ import annotations

from allauth.socialaccount.forms import SignupForm as SocialSignupForm

from meadow.accounts.signup_forms import AgreementField


class SocialAgreementSignupForm(SocialSignupForm):
    agree_terms = AgreementField()

    def save(self, request):
        from meadow.accounts.services import _record_agreements
        from meadow.core.ratelimit import client_ip

        user = super().save(request)
        _record_agreements(user, ip=client_ip(request))
        return user
