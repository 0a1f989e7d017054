"""The "Your data" page in Settings: request an export, download it (owner only), request and cancel the
deletion — in zh-Hans, en and ms."""

from __future__ import annotations

import pytest
from django.test import Client

from meadow.privacy.models import AccountDeletion, DataExport
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def _browser(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("language", "title", "button"),
    [
        ("zh-hans", "你的数据", "注销账号"),
        ("en", "Your data", "Delete my account"),
        ("ms", "Data anda", "Padam akaun saya"),
    ],
)
def test_settings_links_to_the_data_page_in_three_languages(user, language, title, button):
    client = _browser(user, language)
    settings_page = client.get("/settings/").content.decode()
    assert 'data-testid="privacy-settings"' in settings_page and "/settings/data/" in settings_page
    page = client.get("/settings/data/")
    assert page.status_code == 200
    html = page.content.decode()
    assert title in html and button in html and 'data-testid="request-export"' in html
    assert "<script>" not in html and "onclick" not in html


def test_request_export_download_and_deletion_through_the_page(
    user, private_media, django_capture_on_commit_callbacks
):
    client = _browser(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/data/export/", follow=True)
    assert "preparing a copy" in response.content.decode()
    export = DataExport.objects.get(user=user)
    assert export.status == "ready"
    html = client.get("/settings/data/").content.decode()
    assert f"/settings/data/exports/{export.pk}/download/" in html
    download = client.get(f"/settings/data/exports/{export.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"

    wrong = client.post("/settings/data/delete/", {"password": "nope"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    assert not AccountDeletion.objects.exists()
    done = client.post("/settings/data/delete/", {"password": PASSWORD}, follow=True)
    assert 'data-testid="deletion-scheduled"' in done.content.decode()
    assert AccountDeletion.objects.get(user=user).status == "scheduled"
    kept = client.post("/settings/data/delete/cancel/", follow=True)
    assert "will not be deleted" in kept.content.decode()
    assert AccountDeletion.objects.get(user=user).status == "cancelled"


@pytest.mark.parametrize("who", ["anonymous", "other", "staff", "owner"])
def test_download_page_authorization_matrix(who, user, private_media, django_capture_on_commit_callbacks):
    from meadow.privacy.services import data_export_request

    with django_capture_on_commit_callbacks(execute=True):
        export = data_export_request(user=user)
    url = f"/settings/data/exports/{export.pk}/download/"
    client = {
        "anonymous": Client(),
        "other": _browser(UserFactory()) if who == "other" else None,
        "staff": _browser(UserFactory(is_staff=True, is_superuser=True)) if who == "staff" else None,
        "owner": _browser(user),
    }[who]
    before = list(DataExport.objects.values_list("id", "status", "file"))
    response = client.get(url)
    if who == "anonymous":
        assert response.status_code == 302 and "/login/" in response["Location"]
        assert client.post("/settings/data/export/").status_code == 302
        assert client.post("/settings/data/delete/", {"password": PASSWORD}).status_code == 302
    elif who == "owner":
        assert response.status_code == 200
    else:
        assert response.status_code == 404
        assert f"/exports/{export.pk}/" not in client.get("/settings/data/").content.decode()
    assert list(DataExport.objects.values_list("id", "status", "file")) == before
    assert not AccountDeletion.objects.exists()


def test_phone_only_account_confirms_with_an_sms_code(db, sms_code):
    from meadow.accounts.models import User

    person = User.objects.create_user("phone_page", phone="+60123459999")
    client = _browser(person)
    page = client.get("/settings/data/").content.decode()
    assert 'data-testid="send-deletion-code"' in page and 'name="password"' not in page
    sent = client.post("/settings/data/delete/code/")
    assert sent.status_code == 200 and "sent a code" in sent.content.decode()
    done = client.post("/settings/data/delete/", {"code": sms_code("+60123459999")}, follow=True)
    assert 'data-testid="deletion-scheduled"' in done.content.decode()
