from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "meadow.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from meadow.accounts.services import access_record_on_login

        # Every session sign-in door (the login pages, allauth's sign-up and social doors, the admin's) records
        # where it came from, as POST /auth/signup and /auth/token do (the integrity checks read it).
        user_logged_in.connect(access_record_on_login, dispatch_uid="accounts.access_record_on_login")
