"""django-allauth adapters: allauth handles e-mail verification, password reset and OAuth (WeChat, Facebook,
Google); these make it use Meadow's handle rules and record the agreement. The adapter allauth uses
(``ACCOUNT_ADAPTER``) is ``meadow.web.adapters.AccountAdapter``, which adds what sign-in means to apps above
accounts (privacy's deletion cancel)."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms

from meadow.accounts.validation import clean_handle
from meadow.core.errors import DomainError
from meadow.core.ratelimit import RateLimited


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username: str, shallow: bool = False) -> str:
        try:
            handle = clean_handle(username)
        except DomainError as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        return super().clean_username(handle, shallow=shallow)

    def authenticate(self, request, **credentials):
        """allauth's login goes through Django's ``authenticate()``, where ``LoginBackend`` counts the attempt
        against the account; past the limit the form says so instead of failing."""
        try:
            return super().authenticate(request, **credentials)
        except RateLimited as exc:
            raise forms.ValidationError(str(exc.message), code="rate_limited") from exc

    def set_password(self, user, password) -> None:
        """Password change, reset and first set: the new password also revokes every API token."""
        from meadow.accounts.services import user_password_set

        user_password_set(user=user, password=password)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.handle = user.handle.lower()
        user.display_name = user.display_name or user.handle
        if commit:
            user.save()
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        name = (
            " ".join(filter(None, [data.get("first_name"), data.get("last_name")])) or data.get("name") or ""
        )
        user.display_name = name[:40]
        return user
