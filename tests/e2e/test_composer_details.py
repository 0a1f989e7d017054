"""The composer's details (issue #23, findings 13 and 15): hashtags typed in the body show as chips and count
toward the 10; the 5·3·2 helper offers no tag the note already has; the file picker is a styled button with
preview thumbnails over a real, labelled <input type=file>."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_body_hashtags_show_as_chips_and_count(page, live_server, shot):
    creator = UserFactory()
    login(page, live_server, creator.handle)
    page.goto(f"{live_server.url}/publish/")
    page.locator("#id_body").fill("Slow mornings near the kopitiam #kopi #RotiBakar #kopi")
    chips = page.locator("[data-body-chips] .chip-body")
    expect(chips).to_have_count(2)
    expect(chips.first).to_have_text("#kopi")
    expect(page.locator("[data-tag-count]")).to_have_text("2/10")
    page.locator("[data-tag-input]").fill("bangsar")
    page.locator("[data-tag-input]").press("Enter")
    expect(page.locator("[data-tag-count]")).to_have_text("3/10")
    page.get_by_role("button", name="Suggest topics (5·3·2)").click()
    expect(page.locator("[data-suggestions]")).to_be_visible()
    offered = page.locator("[data-suggestions] .chip-add").all_text_contents()
    assert offered and not {"#kopi", "#rotibakar", "#bangsar", "#near", "#mornings"} & {
        t.lower() for t in offered
    }
    shot("composer-body-chips")


def _png(tmp_path, name: str = "me.png"):
    from PIL import Image

    path = tmp_path / name
    Image.new("RGB", (80, 80), (230, 120, 80)).save(path)
    return path


@pytest.mark.parametrize(
    "lang, button", [("en", "Choose a file"), ("zh-hans", "选择文件"), ("ms", "Pilih fail")]
)
def test_profile_picture_is_a_styled_picker_with_a_preview(page, live_server, shot, tmp_path, lang, button):
    creator = UserFactory()
    login(page, live_server, creator.handle)
    page.context.add_cookies([{"name": "meadow_language", "value": lang, "url": live_server.url}])
    page.goto(f"{live_server.url}/me/edit/")
    pick = page.locator(".avatar-edit [data-file-pick]")
    expect(pick.locator(".file-button")).to_have_text(button)
    native = page.locator("#id_avatar")
    assert native.get_attribute("type") == "file"  # still the real control, with the field's label
    assert page.locator('label[for="id_avatar"]').count() == 1
    assert (
        native.evaluate("el => getComputedStyle(el).opacity") == "0"
    )  # no raw "Choose File / No file chosen"
    native.set_input_files(str(_png(tmp_path)))
    expect(pick.get_by_test_id("file-preview")).to_have_count(1)
    expect(pick.locator("[data-file-name]")).to_have_text("me.png")
    shot(f"profile-avatar-picker-{lang}")
