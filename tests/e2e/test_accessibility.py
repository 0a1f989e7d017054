"""Accessibility in a browser: every page a person can reach passes axe-core (the copy bundled with
axe-playwright-python, injected from disk: nothing is downloaded) with no serious or critical violation, at phone
and desktop widths, in English and for a few pages in Chinese; the waterfall and the note sheet work with the
keyboard alone; and the open sheet keeps its comments above the action bar.

axe is run by evaluating its script in the page (``page.evaluate``), not by adding a ``<script>`` element: an
injected element would be refused by the Content-Security-Policy (no inline scripts without the page's nonce),
and evaluating from the automation protocol is not subject to the page's CSP."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import expect

from meadow.notes.models import Note
from meadow.notes.tests.factories import jpeg
from tests.e2e.conftest import DESKTOP, PHONE, SHOTS, login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
IMPACTS = {"serious", "critical"}


@cache
def _axe_source() -> str:
    import axe_playwright_python

    root = Path(axe_playwright_python.__file__).parent
    found = sorted(root.rglob("axe*.min.js")) or sorted(root.rglob("axe*.js"))
    assert found, f"axe-core's script is not in {root}: axe-playwright-python ships it"
    return found[0].read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    """The serious and critical violations axe-core finds in the page as it is now (WCAG 2.1 A and AA rules
    and axe's best practices)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, { resultTypes: ["violations"] });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target.join(" "), impact: n.impact, summary: n.failureSummary })) }));
        }"""
    )
    return [v for v in result if v["impact"] in IMPACTS]


def readable(where: str, violations: list[dict]) -> str:
    lines = [f"{where}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:6]:
            summary = " ".join((node["summary"] or "").split())[:300]
            lines.append(f"      {node['target']} — {summary}")
        if len(v["nodes"]) > 6:
            lines.append(f"      … and {len(v['nodes']) - 6} more")
    return "\n".join(lines)


@pytest.fixture
def world(settings, tmp_path):
    """A small Meadow: people, notes with images (one described by its author, one not), a shop with a product
    tagged in a note, a cart, a comment and a follow."""
    from meadow.accounts.services import follow_create
    from meadow.enforcement.services import moderator_group_ensure
    from meadow.engagement.services import comment_create
    from meadow.orders.services import cart_add
    from meadow.publishing.services import note_publish
    from meadow.store.models import NoteProductTag, Product, Shop, Sku

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reader = UserFactory(handle="reader", display_name="Rina Reader")
    author = UserFactory(handle="mei", display_name="陈小美", bio="吉隆坡探店 · coffee")
    seller = UserFactory(handle="kopi", display_name="Kopi & Kaya", is_verified_enterprise=True)
    staff = UserFactory(handle="moderator", display_name="Mod", is_staff=True)
    staff.groups.add(moderator_group_ensure())
    notes = [
        note_publish(
            author=author,
            title=title,
            body=f"{body} #咖啡",
            images=[jpeg(color=color), jpeg(color=(200, 200, 180))],
            alts=alts,
        )
        for title, body, color, alts in [
            ("周末探店｜咖啡", "藏在老街里的咖啡馆，拿铁香浓。", (120, 80, 40), ["一杯拿铁放在木桌上"]),
            ("Best kopi in KL", "Thick, sweet and cheap.", (90, 60, 30), []),
            ("Cara buat kaya", "Resepi mudah untuk sarapan.", (180, 150, 60), []),
        ]
    ]
    shop = Shop.objects.create(owner=seller, name="Kopi & Kaya", description="Small-batch kaya.")
    product = Product.objects.create(
        shop=shop, title="Ipoh white coffee beans", description="Medium roast.", status=Product.Status.ON_SALE
    )
    sku = Sku.objects.create(product=product, name="250 g", attributes={}, price=Decimal("32.00"), stock=9)
    NoteProductTag.objects.create(note=notes[0], product=product, position=0)
    comment_create(author=reader, note=notes[0], body="好喜欢这篇！")
    follow_create(follower=reader, followee=author)
    cart_add(user=reader, sku_id=sku.pk, quantity=1)
    return {
        "reader": reader,
        "author": author,
        "staff": staff,
        "notes": notes,
        "product": product,
        "shop": shop,
    }


def _signed_out_pages(world) -> list[str]:
    note = world["notes"][0]
    return [
        "/",
        f"/notes/{note.pk}/",
        "/@mei/",
        "/search/?q=咖啡",
        "/topics/咖啡/",
        "/store/",
        f"/products/{world['product'].pk}/",
        "/login/",
        "/signup/",
    ]


SIGNED_IN_PAGES = [
    "/?tab=following",
    "/?tab=nearby",
    "/?tab=discover",
    "/publish/",
    "/me/",
    "/settings/",
    "/me/status/",
    "/notifications/",
    "/messages/",
    "/orders/",
    "/cart/",
    "/checkout/",
    "/me/creator/",
    "/business/",
]


def _visit_all(context, live_server, paths: list[str], where: str) -> list[str]:
    page = context.new_page()
    page.set_default_timeout(30_000)
    failures = []
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status < 400, (
            f"{path} answered {response and response.status}"
        )
        page.wait_for_load_state("networkidle")
        found = axe_violations(page)
        if found:
            failures.append(readable(f"{where} {path}", found))
    page.close()
    return failures


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_page_has_no_serious_or_critical_violation(browser, live_server, world, viewport):
    size = PHONE if viewport == "phone" else DESKTOP
    failures: list[str] = []

    anonymous = browser.new_context(viewport=size, locale="en-US")
    failures += _visit_all(anonymous, live_server, _signed_out_pages(world), f"{viewport} signed out")
    anonymous.close()

    reader = browser.new_context(viewport=size, locale="en-US")
    page = reader.new_page()
    login(page, live_server, "reader")
    page.close()
    failures += _visit_all(reader, live_server, SIGNED_IN_PAGES, f"{viewport} @reader")
    reader.close()

    staff = browser.new_context(viewport=size, locale="en-US")
    page = staff.new_page()
    login(page, live_server, "moderator")
    page.close()
    failures += _visit_all(staff, live_server, ["/admin/"], f"{viewport} staff")
    staff.close()

    assert not failures, "axe-core found serious or critical violations:\n" + "\n".join(failures)


def test_pages_in_chinese_have_no_serious_or_critical_violation(browser, live_server, world):
    failures: list[str] = []
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.add_cookies([{"name": "meadow_language", "value": "zh-hans", "url": live_server.url}])
    paths = ["/", f"/notes/{world['notes'][0].pk}/", "/store/", "/login/", "/signup/"]
    failures += _visit_all(context, live_server, paths, "desktop zh-hans")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.close()
    context.close()
    phone = browser.new_context(viewport=PHONE, locale="zh-CN")
    phone.add_cookies([{"name": "meadow_language", "value": "zh-hans", "url": live_server.url}])
    failures += _visit_all(phone, live_server, ["/", "/store/"], "phone zh-hans")
    phone.close()
    assert not failures, "axe-core found serious or critical violations:\n" + "\n".join(failures)


def test_images_carry_their_description_or_one_from_the_title(browser, live_server, world):
    described, plain = world["notes"][0], world["notes"][1]
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/@mei/")
    card = page.locator(f".note-card[data-note-id='{described.pk}'] .note-cover img")
    expect(card).to_have_attribute("alt", "一杯拿铁放在木桌上")
    cover = page.locator(f".note-card[data-note-id='{plain.pk}'] .note-cover img")
    expect(cover).to_have_attribute("alt", "Best kopi in KL")  # a card shows the cover alone: not numbered
    page.goto(f"{live_server.url}/notes/{described.pk}/")
    slides = page.locator(".carousel-slide img")
    expect(slides.nth(0)).to_have_attribute("alt", "一杯拿铁放在木桌上")
    expect(slides.nth(1)).to_have_attribute("alt", "周末探店｜咖啡 (2/2)")
    api = context.request.get(f"{live_server.url}/api/v1/notes/{plain.pk}").json()
    assert [i["alt"] for i in api["images"]] == ["Best kopi in KL (1/2)", "Best kopi in KL (2/2)"]
    context.close()


def test_the_composer_asks_for_alt_text_and_stores_it(browser, live_server, world, tmp_path):
    from meadow.notes.tests.factories import image_bytes

    photo = tmp_path / "kaya.jpg"
    photo.write_bytes(image_bytes())
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    login(page, live_server, "reader")
    page.goto(f"{live_server.url}/publish/")
    page.locator("input[data-images]").set_input_files([str(photo), str(photo)])
    alts = page.get_by_test_id("alt-input")
    expect(alts).to_have_count(2)
    alts.nth(1).fill("Kaya toast on a blue plate")
    expect(page.get_by_label("Describe image 2 for people who cannot see it")).to_have_value(
        "Kaya toast on a blue plate"
    )
    page.get_by_label("Title").fill("Kaya toast")
    page.get_by_label("Text").fill("Breakfast in Ipoh.")
    page.get_by_test_id("publish").click()
    expect(page).to_have_url(re.compile(r"/notes/\d+/$"))
    note = Note.objects.get(author=world["reader"])
    assert [i.alt for i in note.images.order_by("position")] == ["", "Kaya toast on a blue plate"]
    expect(page.locator(".carousel-slide img").nth(0)).to_have_attribute("alt", "Kaya toast (1/2)")
    context.close()


def test_waterfall_and_sheet_by_keyboard(browser, live_server, world):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/@mei/")
    note = world["notes"][1]
    title_link = page.locator(f".note-card[data-note-id='{note.pk}'] a.note-title")
    # Tab reaches the card's link (no mouse), and it shows a focus ring.
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.matches('a.note-title')") and title_link.evaluate(
            "(el) => el === document.activeElement"
        ):
            break
    else:
        pytest.fail("Tab never reached the card's link")
    outline = title_link.evaluate(
        "(el) => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth"
    )
    assert not outline.startswith("none"), outline
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("note-dialog")
    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/notes/{note.pk}/$"))
    expect(dialog.locator(".note-heading")).to_have_text("Best kopi in KL")
    # The focus stays in the open sheet, however far one tabs, forwards or backwards.
    for key in ["Tab"] * 25 + ["Shift+Tab"] * 25:
        page.keyboard.press(key)
        assert page.evaluate("() => !!document.activeElement.closest('dialog.note-dialog')"), key
    violations = axe_violations(page)
    assert not violations, readable("the open sheet", violations)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert title_link.evaluate("(el) => el === document.activeElement")
    expect(page).to_have_url(re.compile(r"/@mei/$"))
    context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_comments_stay_above_the_action_bar(browser, live_server, world, viewport):
    from meadow.engagement.services import comment_create

    note = world["notes"][0]
    for i in range(25):
        comment_create(author=world["reader"], note=note, body=f"Comment number {i + 1}: still worth trying")
    context = browser.new_context(viewport=PHONE if viewport == "phone" else DESKTOP, locale="en-US")
    page = context.new_page()
    login(page, live_server, "reader")
    if viewport == "desktop":
        page.goto(f"{live_server.url}/@mei/")
        page.locator(f".note-card[data-note-id='{note.pk}'] a.note-title").click()
        root = page.get_by_test_id("note-dialog")
    else:
        page.goto(f"{live_server.url}/notes/{note.pk}/")
        root = page.locator("main")
    expect(root.locator(".comment-list li").nth(19)).to_be_attached()
    bar = root.get_by_test_id("note-actions")
    expect(bar).to_be_visible()
    if viewport == "desktop":
        box = bar.bounding_box()
        assert box["y"] + box["height"] <= DESKTOP["height"] + 1  # the bar is on screen
        scroller = root.locator(".note-scroll")
        assert scroller.evaluate("(el) => el.scrollHeight > el.clientHeight + 50")  # comments scroll inside
        scroller.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
        last = root.locator(".comment-list li").last.bounding_box()
        assert last["y"] + last["height"] <= bar.bounding_box()["y"] + 1, "the last comment is under the bar"
        visible = scroller.bounding_box()
        assert visible["y"] + visible["height"] <= bar.bounding_box()["y"] + 1
    else:  # phones: the action bar comes before the comments, in the page's flow
        first = root.locator(".comment-list li").first.bounding_box()
        b = bar.bounding_box()
        assert b["y"] + b["height"] <= first["y"] + 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"note-sheet-comments-{viewport}.png"))
    context.close()


def test_axe_bundle_is_local_and_runs_under_the_csp(browser, live_server, world, no_csp_violations):
    """The axe script comes from the installed package (no network) and running it breaks no CSP rule."""
    assert "axe-core" in _axe_source()[:3000] or "axe.version" in _axe_source()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    axe_violations(page)
    version = page.evaluate("() => axe.version")
    assert re.match(r"^\d+\.\d+", version), json.dumps(version)
    context.close()
    assert not no_csp_violations
