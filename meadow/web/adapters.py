"""allauth's account adapter as Meadow uses it: the accounts app's (handle rules, rate-limited authenticate,
password set) plus what signing in means to the apps above accounts. It sits in the web shell because it
composes them."""

from __future__ import annotations

from meadow.accounts.adapters import AccountAdapter as AccountsAdapter
from meadow.privacy.views import signed_in


class AccountAdapter(AccountsAdapter):
    def login(self, request, user):
        """allauth's sign-in doors (social accounts, e-mail confirmation): logging in cancels a scheduled
        account deletion, as on Meadow's own login pages."""
        super().login(request, user)
        signed_in(request, user)
