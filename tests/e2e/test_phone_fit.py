"""On a 390 px phone, in every language: the signed-in top search box shows its whole placeholder, the composer's
note-type dropdown its whole choice, and the moderator console (/admin/) fits the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from meadow.enforcement.ladder import type_for_category
from meadow.enforcement.services import moderator_group_ensure, violation_record
from meadow.notes.tests.factories import NoteFactory
from tests.e2e.conftest import PHONE, SHOTS, login
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

LANGUAGES = ["en", "zh-hans", "ms"]

# The text's width in the element's font against the room inside it (padding, and a select's arrow, excluded).
FITS = """(el) => {
  const cs = getComputedStyle(el);
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
  const text = el.tagName === "SELECT" ? el.options[el.selectedIndex].text : el.placeholder;
  const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  return {text, width: Math.ceil(ctx.measureText(text).width), room: Math.floor(room)};
}"""


@pytest.fixture
def phone(browser):
    """A 390 px phone (the layout is the point; the desktop has room for all of it)."""
    context = browser.new_context(viewport=PHONE, locale="en-US", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)


def _language(page, live_server, code: str) -> None:
    page.context.add_cookies([{"name": "meadow_language", "value": code, "url": live_server.url}])


@pytest.mark.parametrize("language", LANGUAGES)
def test_phone_search_placeholder_and_note_type_fit(phone, live_server, language):
    page = phone
    user = UserFactory(handle=f"fit_{language.replace('-', '_')}")
    login(page, live_server, user.handle)
    _language(page, live_server, language)
    page.goto(f"{live_server.url}/")
    box = page.locator("header input[type=search]").first
    expect(box).to_be_visible()
    fit = box.evaluate(FITS)
    _shot(page, f"fit-search-{language}")
    assert fit["width"] <= fit["room"], fit
    page.goto(f"{live_server.url}/publish/")
    select = page.locator("#id_content_type")
    for value in select.evaluate("(el) => [...el.options].map((o) => o.value)"):
        select.select_option(value)
        fit = select.evaluate(FITS)
        assert fit["width"] <= fit["room"], fit
    _shot(page, f"fit-composer-{language}")


def test_the_moderator_console_fits_a_phone(phone, live_server):
    page = phone
    moderator = UserFactory(handle="fit_mod", is_staff=True)
    moderator.groups.add(moderator_group_ensure())
    note = NoteFactory(body="加我薇信" + "lily1998" * 20)  # a long unbroken run in the evidence
    violation = violation_record(
        account=note.author,
        type=type_for_category("redirect"),
        category="redirect",
        rule="redirect:vx",
        evidence={"text": note.body, "field": "note", "hits": []},
        target=note,
    )
    login(page, live_server, moderator.handle)
    for path in (
        "/admin/",
        "/admin/enforcement/",
        "/admin/enforcement/violation/",
        f"/admin/enforcement/violation/{violation.pk}/change/",
        "/admin/enforcement/reviewitem/",
        "/admin/core/jobrun/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        width = page.evaluate("document.documentElement.scrollWidth")
        _shot(page, "fit-admin" + path.replace("/", "-").rstrip("-"))
        assert width <= 390, (path, width)
