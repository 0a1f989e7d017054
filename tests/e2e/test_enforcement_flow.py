"""Enforcement, end to end: a creator's note with a redirect is refused with the finding shown — no violation, no
notice (refusing is the rule working); the compliant rewrite publishes; a moderator finds a redirect in the
published note (the first violation, a warning); forcing blocked text through (the attempts limit, lowered to 2
here) is the second offence and brings the 14-day visibility limit onto their status page; they appeal, a
moderator upholds the appeal in the console (a second browser), and the limit is gone — phone and desktop."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from meadow.enforcement.ladder import type_for_category
from meadow.enforcement.models import Appeal, Sanction, Violation
from meadow.enforcement.services import moderator_group_ensure, violation_record
from meadow.notes.models import Note
from tests.e2e.conftest import DESKTOP, SHOTS, login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _photo(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (900, 1200), (232, 119, 74)).save(path, quality=90)
    return str(path)


def _compose(page, live_server, tmp_path, body):
    page.goto(f"{live_server.url}/publish/")
    page.locator("input[data-images]").set_input_files([_photo(tmp_path)])
    page.get_by_label("Title").fill("手工蜡烛")
    page.get_by_label("Text").fill(body)


def test_refusal_rewrite_limit_and_upheld_appeal(page, browser, live_server, tmp_path, shot, settings):
    settings.MEADOW_BLOCKED_ATTEMPTS_LIMIT = 2  # the second refused attempt within 24 h is forcing it through
    creator = UserFactory(handle=f"candle_{page.viewport_name}", display_name="Lily 手作")
    moderator = UserFactory(handle=f"mod_{page.viewport_name}", is_staff=True)
    moderator.groups.add(moderator_group_ensure())
    login(page, live_server, creator.handle)

    # 1. A redirect: the composer shows the finding live, and publishing is refused with it.
    _compose(page, live_server, tmp_path, "今天做了香薰蜡烛，想要的加我薇信 lily1998")
    panel = page.locator("[data-moderation]")
    expect(panel).to_be_visible()
    expect(panel.locator("mark")).to_contain_text("薇信")
    page.get_by_test_id("publish").click()
    expect(page.locator(".error-box")).to_contain_text("薇信")
    expect(page.locator("[data-moderation] mark")).to_contain_text("薇信")
    shot("enforcement-refused")
    assert not Note.objects.filter(author=creator).exists()
    assert not Violation.objects.filter(account=creator).exists()  # refused is not a strike

    # 2. The compliant rewrite publishes.
    page.get_by_label("Text").fill("今天做了香薰蜡烛，想要的在评论区告诉我")
    page.locator("input[data-images]").set_input_files([_photo(tmp_path)])
    page.get_by_test_id("publish").click()
    expect(page).to_have_url(re.compile(r"/notes/\d+/$"))
    published = Note.objects.get(author=creator, status="published")

    # 3. A moderator finds a redirect in what was published: the first violation, a warning.
    violation_record(
        account=creator,
        type=type_for_category("redirect"),
        category="redirect",
        rule="redirect:vx",
        evidence={"text": published.body, "field": "note", "hits": []},
        target=published,
    )
    # A second offence: forcing blocked text through: the 14-day visibility limit, shown on the status page with its end date.
    _compose(page, live_server, tmp_path, "新款蜡烛到了，私信不回就加 VX lily1998")
    page.get_by_test_id("publish").click()
    expect(page.locator(".error-box")).to_be_visible()
    limit = Sanction.objects.get(account=creator, kind="visibility_limit")
    assert (limit.ends_at - limit.starts_at).days == 14
    page.goto(f"{live_server.url}/me/status/")
    expect(page.locator(".status-badge")).to_have_text("Visibility limited")
    expect(page.get_by_test_id("active-sanctions")).to_contain_text("Visibility limit")
    expect(page.get_by_test_id("active-sanctions")).to_contain_text("until")
    expect(page.get_by_test_id("violation").first.locator("mark")).to_be_visible()
    shot("enforcement-status-limited")

    # 4. The creator appeals the violation that brought the limit.
    latest = page.get_by_test_id("violation").first
    latest.locator("summary").click()
    latest.get_by_label("Why is this decision wrong?").fill("VX 是我的蜡烛品牌缩写，不是微信。")
    latest.get_by_role("button", name="Send appeal").click()
    expect(page.get_by_test_id("appeal-state").first).to_contain_text("waiting for a moderator")
    appeal = Appeal.objects.get(account=creator)
    assert appeal.violation_id == limit.violation_id

    # 5. A moderator upholds it in the console (a second browser context).
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    admin = context.new_page()
    admin.set_default_timeout(30_000)
    try:
        admin.goto(f"{live_server.url}/admin/login/?next=/admin/enforcement/appeal/")
        admin.locator("#id_username").fill(moderator.handle)
        admin.locator("#id_password").fill("correct horse battery")
        admin.locator("input[type=submit]").click()
        expect(admin).to_have_url(re.compile(r"/admin/enforcement/appeal/"))
        expect(admin.locator("#result_list")).to_contain_text(creator.handle)
        admin.locator(f"input[name=_selected_action][value='{appeal.pk}']").check()
        admin.locator("select[name=action]").select_option("uphold")
        admin.locator("button[name=index]").click()
        expect(admin.locator(".messagelist")).to_contain_text("1 appeal decided")
        SHOTS.mkdir(parents=True, exist_ok=True)
        admin.screenshot(path=str(SHOTS / f"enforcement-console-{page.viewport_name}.png"), full_page=True)
    finally:
        context.close()

    # 6. The limit is lifted; the history keeps the voided violation.
    page.goto(f"{live_server.url}/me/status/")
    expect(page.locator(".status-badge")).to_have_text("In good standing")
    expect(page.get_by_test_id("violation").first).to_contain_text("Void")
    shot("enforcement-status-cleared")
