"""OAuth providers (WeChat, Facebook, Google through django-allauth) appear once the operator configures them,
and a social sign-up also needs the agreement."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

CONFIGURED = {
    "google": {"APPS": [{"client_id": "google-id", "secret": "google-secret"}]},
    "weixin": {"APPS": [{"client_id": "wx-id", "secret": "wx-secret"}]},
    "facebook": {"APPS": [{"client_id": "fb-id", "secret": "fb-secret"}]},
}


def test_no_provider_is_offered_without_credentials(client):
    page = client.get("/login/").content.decode()
    assert "/accounts/google/login/" not in page and "/accounts/weixin/login/" not in page


@override_settings(SOCIALACCOUNT_PROVIDERS=CONFIGURED)
def test_configured_providers_are_offered_on_login_and_signup(client):
    for path in ("/login/", "/signup/"):
        page = client.get(path).content.decode()
        for provider in ("google", "weixin", "facebook"):
            assert f"/accounts/{provider}/login/" in page, (path, provider)


@override_settings(SOCIALACCOUNT_PROVIDERS=CONFIGURED)
def test_provider_login_redirects_to_the_provider(client):
    response = client.post("/accounts/google/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://accounts.google.com/")
    assert "client_id=google-id" in response["Location"]


def test_settings_read_provider_credentials_from_the_environment(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL", "REDIS_URL"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({"MEADOW_DATA_DIR": str(tmp_path), "GOOGLE_CLIENT_ID": "gid", "GOOGLE_SECRET": "gsecret"})
    code = "from django.conf import settings; print(sorted(settings.SOCIALACCOUNT_PROVIDERS))"
    result = subprocess.run(
        [sys.executable, "-m", "meadow", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['google']"
    env.pop("GOOGLE_SECRET")
    half = subprocess.run(
        [sys.executable, "-m", "meadow", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert half.returncode == 2 and "GOOGLE_SECRET" in half.stderr


def test_social_signup_form_requires_the_agreement():
    from meadow.accounts.social_forms import SocialAgreementSignupForm

    assert SocialAgreementSignupForm.base_fields["agree_terms"].required is True
