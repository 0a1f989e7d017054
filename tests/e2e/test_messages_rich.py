"""Messages with images and groups in a browser: the attach button previews the chosen photo, sending shows it in
the thread (served by the participants-only view), and the inbox's "New group" form opens a named group."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from meadow.accounts.models import Follow
from meadow.messaging import services
from meadow.messaging.models import Conversation, MessageImage
from meadow.moderation.tests import imagegen
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_attach_preview_send_an_image_and_create_a_group(page, live_server, settings, tmp_path):
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    for x, y in ((a, b), (b, a), (c, a)):
        Follow.objects.create(follower=x, followee=y)
    conversation, _ = services.conversation_open(user=a, other=b)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(imagegen.encode(imagegen.photo(seed=11)))

    login(page, live_server, a.handle)
    page.goto(f"{live_server.url}/messages/{conversation.pk}/")
    page.get_by_test_id("dm-attach").set_input_files(str(photo))
    expect(page.get_by_test_id("dm-preview-image")).to_be_visible()
    page.get_by_test_id("dm-input").fill("from the trail")
    page.get_by_test_id("dm-send").click()
    sent = page.get_by_test_id("dm-image")
    expect(sent).to_be_visible()
    expect(page.get_by_test_id("dm-preview")).to_be_hidden()
    page.wait_for_function("() => document.querySelector('[data-testid=dm-image]').naturalWidth > 0")
    assert MessageImage.objects.filter(message__conversation=conversation).count() == 1

    page.goto(f"{live_server.url}/messages/")
    page.get_by_test_id("dm-new-group").locator("summary").click()
    page.get_by_test_id("dm-group-name-input").fill("Weekend trip")
    page.get_by_test_id("dm-group-with-input").fill(f"@{b.handle}, @{c.handle}")
    page.get_by_test_id("dm-group-create").click()
    expect(page.get_by_test_id("dm-group-name")).to_contain_text("Weekend trip")
    group = Conversation.objects.get(kind="group")
    assert group.participants.count() == 3
