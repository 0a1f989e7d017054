"""From Settings, a person asks for a copy of their data, downloads it, then asks to delete the account — in
zh-Hans, en and ms, at phone and desktop widths."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from meadow.privacy.models import AccountDeletion, DataExport
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = {
    "zh-hans": {"title": "你的数据", "scheduled": "注销"},
    "en": {"title": "Your data", "scheduled": "will be deleted"},
    "ms": {"title": "Data anda", "scheduled": "akan dipadam"},
}


@pytest.mark.parametrize("language", ["zh-hans", "en", "ms"])
def test_export_and_deletion_from_settings(page, live_server, shot, language, settings, tmp_path):
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    person = UserFactory(handle=f"pdpa_{language.replace('-', '_')}_{page.viewport_name}")
    login(page, live_server, person.handle)
    page.context.add_cookies([{"name": "meadow_language", "value": language, "url": live_server.url}])

    page.goto(f"{live_server.url}/settings/")
    page.get_by_test_id("privacy-data-link").click()
    expect(page).to_have_url(re.compile(r"/settings/data/$"))
    expect(page.locator("h1")).to_have_text(TEXT[language]["title"])

    page.get_by_test_id("request-export").click()  # the job runs inline on the embedded default
    link = page.get_by_test_id("download-export")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    with zipfile.ZipFile(info.value.path()) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["account"]["handle"] == person.handle
    assert DataExport.objects.get(user=person).status == "ready"

    shot(f"privacy-form-{language}")
    page.locator("#id_deletion_password").fill("correct horse battery")
    page.get_by_test_id("request-deletion").click()
    notice = page.get_by_test_id("deletion-scheduled")
    expect(notice).to_contain_text(TEXT[language]["scheduled"])
    expect(page.get_by_test_id("cancel-deletion")).to_be_visible()
    assert AccountDeletion.objects.get(user=person).status == "scheduled"
    # nothing overflows the phone width
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(f"privacy-{language}")
