from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from meadow.accounts.selectors import user_find_by_login


class LoginBackend(ModelBackend):
    """Authenticate with a handle, an e-mail address or a phone number, and a password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        login = username or kwargs.get("login") or kwargs.get("handle")
        if not login or not password:
            return None
        user = user_find_by_login(login=login)
        if user is None:
            get_user_model()().set_password(password)  # same work either way: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
