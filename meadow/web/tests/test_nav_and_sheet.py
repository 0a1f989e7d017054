"""The details people notice (issue #23, finding 12): the left rail highlights the page's own item (none on
sign-up, Publish on /publish/, Store on a product page, Account status on the status page), and following from
a note sheet sends the profile's follower count only to a page that has it."""

from __future__ import annotations

import re

import pytest

from meadow.store.tests.factories import make_product
from meadow.web.context_processors import nav_section_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _active_rail(html: str) -> list[str]:
    return re.findall(
        r'class="(rail-link active|btn btn-primary btn-block rail-publish active)"[^>]*href="([^"]+)"', html
    )


@pytest.mark.parametrize(
    "path, section",
    [
        ("/", "home"),
        ("/signup/", ""),
        ("/login/", ""),
        ("/publish/", "publish"),
        ("/products/3/", "store"),
        ("/me/status/", "status"),
        ("/me/edit/", "me"),
        ("/notifications/", "notifications"),
        ("/topics/kopi/", "home"),
    ],
)
def test_each_path_has_its_section(path, section):
    assert nav_section_for(path) == section


def test_the_rail_highlights_the_right_item(client):
    assert _active_rail(client.get("/signup/").content.decode()) == []
    user = UserFactory()
    client.force_login(user)
    assert [href for _c, href in _active_rail(client.get("/publish/").content.decode())] == ["/publish/"]
    assert [href for _c, href in _active_rail(client.get("/me/status/").content.decode())] == ["/me/status/"]
    product = make_product()
    html = client.get(f"/products/{product.pk}/").content.decode()
    assert [href for _c, href in _active_rail(html)] == ["/store/"]


def test_following_from_a_note_sheet_sends_no_count_the_page_lacks(client):
    from meadow.notes.tests.factories import NoteFactory

    reader, author = UserFactory(), UserFactory()
    note = NoteFactory(author=author)
    client.force_login(reader)
    sheet = client.get(f"/notes/{note.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="followers-count"' not in sheet and 'name="count" value="0"' in sheet
    answer = client.post(
        f"/@{author.handle}/follow/", {"count": "0"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-swap-oob" not in answer and 'value="unfollow"' in answer
    assert 'name="count" value="0"' in answer  # the swapped-in button keeps saying so
    # on the profile page the count is there and follows along
    profile = client.post(f"/@{author.handle}/follow/", {"action": "unfollow"}, HTTP_HX_REQUEST="true")
    assert '<span id="followers-count" hx-swap-oob="true">0</span>' in profile.content.decode()


def test_a_board_page_highlights_me_for_its_owner_not_discover(client):
    from django.urls import reverse

    from meadow.engagement.services import board_create

    owner = UserFactory()
    board = board_create(owner=owner, name="Kopi spots")
    client.force_login(owner)
    html = client.get(f"/boards/{board.pk}/").content.decode()
    assert [href for _c, href in _active_rail(html)] == [reverse("web:me")]
    assert re.findall(r'class="tabbar-link active"[^>]*href="([^"]+)"', html) == [reverse("web:me")]
    # Someone else's board is part of its owner's profile, as the profile itself: no tab is the current one.
    client.force_login(UserFactory())
    html = client.get(f"/boards/{board.pk}/").content.decode()
    assert _active_rail(html) == []
