from django.contrib.auth.backends import ModelBackend

from meadow.core.ratelimit import client_ip


class LoginBackend(ModelBackend):
    """Authenticate with a handle, an e-mail address or a phone number, and a password.

    It is the first backend, so every password login through Django's ``authenticate()`` — the web login, allauth's
    login and the admin — is counted here (``user_authenticate``: failures only, per account and client address, under an
    account-wide ceiling) and raises ``RateLimited`` past a limit, before any other backend checks the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        from meadow.accounts import services

        login = username or kwargs.get("login") or kwargs.get("handle") or kwargs.get("email")
        if not login or not password:
            return None
        user = services.user_authenticate(
            login=login, password=password, ip=client_ip(request) if request is not None else None
        )
        if user is not None and self.user_can_authenticate(user):
            return user
        return None
