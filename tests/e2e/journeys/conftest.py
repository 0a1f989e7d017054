"""The journey suite (issue #23): one browser test per journey, each run in en, zh-hans and ms at 390 px (a phone)
and 1440 px (a desktop). A journey chooses its language with the language picker as a person does, moves on through
the navigation a person sees (the tab bar on a phone, the rail on a desktop), checks visible text against the
translated msgstr of the catalogue (never hard-coded English), and keeps a screenshot of every key step under
var/journeys/<journey>/<lang>-<width>-<step>.png (CI keeps var/ as an artefact)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE

LANGUAGES = ("en", "zh-hans", "ms")
WIDTHS = {390: PHONE, 1440: DESKTOP}
SHOTS = Path(os.environ.get("MEADOW_JOURNEY_SHOTS", Path(__file__).resolve().parents[3] / "var" / "journeys"))
PASSWORD = "correct horse battery"  # the factories' password


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/journeys/" in str(item.fspath):
            item.add_marker(pytest.mark.journey)


def tr(language: str, msgid: str, context: str | None = None) -> str:
    """``msgid`` as the catalogue translates it into ``language``."""
    with translation.override(language):
        return translation.pgettext(context, msgid) if context else translation.gettext(msgid)


class Journey:
    """One person in one language at one width: their page, what the catalogue says in their language, and the
    screenshots of the steps."""

    def __init__(self, browser, live_server, name: str, language: str, width: int) -> None:
        self.browser = browser
        self.url = live_server.url
        self.name = name
        self.language = language
        self.width = width
        self.phone = width == 390
        self.viewport = WIDTHS[width]
        self._contexts: list = []
        self.page = self.new_page()

    # --- browsers ----------------------------------------------------------------------------------------------
    def new_page(self):
        context = self.browser.new_context(viewport=self.viewport, locale="en-US", device_scale_factor=1)
        self._contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)  # a loaded CI machine: an action's wait, not a speed target
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()

    # --- language ----------------------------------------------------------------------------------------------
    def t(self, msgid: str, context: str | None = None) -> str:
        """The reader's language: ``msgid`` as the catalogue translates it. In zh-hans and ms a msgid that comes
        back untranslated fails the journey (the page would show English)."""
        text = tr(self.language, msgid, context)
        if self.language != "en":
            assert text != msgid or msgid.isdigit(), f"{msgid!r} has no {self.language} translation"
        return text

    def choose_language(self, page=None) -> None:
        """The language picker a person sees (the compact one in the top bar on a phone, the rail's on a
        desktop); the page reloads in that language."""
        page = page or self.page
        picker = page.locator("select[name=language]:visible").first
        expect(picker).to_be_visible()
        if self.language == page.locator("html").get_attribute("lang"):
            return
        picker.select_option(self.language)
        expect(page.locator("html")).to_have_attribute("lang", self.language)

    def see(self, msgid: str, where=None, context: str | None = None) -> None:
        """The translated ``msgid`` is visible on the page (or in ``where``)."""
        target = where if where is not None else self.page.locator("main")
        expect(target.filter(has_text=self.t(msgid, context)).first).to_be_visible()

    # --- navigation ----------------------------------------------------------------------------------------------
    def nav(self, page=None):
        """The navigation a person sees: the bottom tab bar on a phone, the left rail on a desktop."""
        page = page or self.page
        nav = page.locator(".tabbar" if self.phone else ".rail")
        expect(nav).to_be_visible()
        return nav

    def go(self, msgid: str, page=None) -> None:
        """Clicks the navigation link named ``msgid`` (translated) — it must be there and visible at this width."""
        page = page or self.page
        link = self.nav(page).get_by_role("link", name=self.t(msgid), exact=True)
        expect(link).to_be_visible()
        # Wait for the new page's load event (its deferred scripts have run): acting on a form whose script has
        # not run yet submits it natively (Enter in the tag field posted the composer on a loaded CI machine).
        with page.expect_navigation(wait_until="load"):
            link.click()

    def me_menu_go(self, msgid: str, page=None) -> None:
        """From the Me tab, the Me page's menu (a phone has no rail) to the item named ``msgid``."""
        page = page or self.page
        self.go("Me", page)
        menu = page.get_by_test_id("me-menu")
        menu.locator("summary").click()
        link = menu.get_by_role("link", name=self.t(msgid), exact=True)
        expect(link).to_be_visible()
        with page.expect_navigation(wait_until="load"):
            link.click()

    def login(self, handle: str, page=None) -> None:
        """Signs in from the home page: picks the language first, then the log-in button a person sees."""
        page = page or self.page
        page.goto(f"{self.url}/")
        self.choose_language(page)
        if (
            self.phone
        ):  # a phone's top bar has no room for the button: the Me tab asks a signed-out person to log in
            self.go("Me", page)
        else:
            page.locator(".rail-foot").get_by_role("link", name=self.t("Log in"), exact=True).click()
        expect(page.locator("h1")).to_have_text(self.t("Welcome back"))
        page.locator("input[name=login]").fill(handle)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main").get_by_role("button", name=self.t("Log in"), exact=True).click()
        expect(page.locator(".tabbar" if self.phone else ".rail")).to_contain_text(self.t("Messages"))
        expect(page.locator("[data-testid=notifications-top]")).to_be_attached()  # signed in
        expect(page.locator("html")).to_have_attribute("lang", self.language)

    # --- screenshots ---------------------------------------------------------------------------------------------
    def shot(self, step: str, page=None) -> Path:
        folder = SHOTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.language}-{self.width}-{step}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def _warm_dictionaries():
    """jieba's dictionaries, loaded once per test process before the first journey (the live server runs in this
    process): a journey checks what a person sees, not the 10-30 s a loaded CI machine takes to load them on the
    first search or the first moderation check."""
    from meadow.notes.text import _jieba as notes_jieba
    from meadow.search.analysis import _jieba as search_jieba

    notes_jieba()
    search_jieba()


@pytest.fixture(
    params=[(lang, width) for lang in LANGUAGES for width in WIDTHS], ids=lambda p: f"{p[0]}-{p[1]}"
)
def journey(request, browser, live_server, settings, tmp_path, _warm_dictionaries):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    language, width = request.param
    name = request.node.originalname.removeprefix("test_")
    person = Journey(browser, live_server, name, language, width)
    yield person
    person.close()
