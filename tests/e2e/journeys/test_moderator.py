"""Journey: a moderator (staff) opens the console from the Me menu, reviews a note the engine held (an absolute
claim), removes it with a note for the author, finds the decision in the audit log, and the author — in another
browser — sees the notice in their language, on the notifications page and on the account status page."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import expect

from conftest import bearer_client
from meadow.enforcement.models import Decision, ReviewItem, Violation
from meadow.enforcement.services import moderator_group_ensure
from meadow.moderation.labels import category_label
from meadow.notes.models import Note
from meadow.notes.tests.factories import jpeg
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_moderator(journey):
    page, t = journey.page, journey.t
    suffix = f"{journey.language.replace('-', '')}_{journey.width}"
    author = UserFactory(handle=f"glow_{suffix}", display_name="Glow 面霜")
    moderator = UserFactory(handle=f"mod_{suffix}", is_staff=True)
    moderator.groups.add(moderator_group_ensure())
    # the author publishes through the app's API; the engine holds the absolute claim for a moderator
    r = bearer_client(author).post(
        "/api/v1/notes", {"title": "我的面霜", "body": "全网最好用的面霜", "images": [jpeg(size=(900, 1200))]}
    )
    assert r.status_code == 201 and r.json()["moderation"]["verdict"] == "review", r.content
    note = Note.objects.get(pk=r.json()["id"])
    item = ReviewItem.objects.get(kind="held", target_id=note.pk)

    # the console, from the Me menu (a phone has no rail), in the moderator's language
    journey.login(moderator.handle)
    journey.me_menu_go("Moderation")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("html")).to_have_attribute("lang", journey.language)
    page.get_by_role("link", name=capfirst(t("review queue")), exact=True).first.click()
    row = page.locator("#result_list tbody tr").filter(has_text=author.handle)
    expect(row).to_have_count(1)
    # the target-type filter offers the kinds of object in the queue, not every content type of the project
    expect(page.locator("#changelist-filter")).not_to_contain_text("outbox")
    journey.shot("1-review-queue")

    # decides: remove, with a note for the author
    row.locator("input[name=_selected_action]").check()
    page.locator("select[name=action]").select_option("remove")
    reason = page.locator("input[name=reason]")
    expect(page.locator("label").filter(has=reason)).to_contain_text(t("Reason (shown to the account owner)"))
    reason.fill("Absolute claims need proof.")
    page.locator("button[name=index]").click()
    with translation.override(journey.language):
        decided = translation.ngettext("%(count)d item decided.", "%(count)d items decided.", 1) % {
            "count": 1
        }
    expect(page.locator(".messagelist")).to_contain_text(decided)
    item.refresh_from_db()
    assert item.state == ReviewItem.State.REMOVED and item.decided_by == moderator
    violation = Violation.objects.get(account=author)
    journey.shot("2-decided")

    # the audit entry
    page.goto(f"{journey.url}/admin/enforcement/decision/")
    audit = page.locator("#result_list tbody tr").filter(has_text="review_remove")
    expect(audit).to_have_count(1)
    expect(audit).to_contain_text(moderator.handle)
    expect(audit).to_contain_text("Absolute claims need proof.")
    assert Decision.objects.filter(moderator=moderator, action="review_remove").count() == 1
    journey.shot("3-audit-log")

    # the author, in another browser, sees the notice in their language
    author_page = journey.new_page()
    journey.login(author.handle, author_page)
    author_page.locator(
        "[data-testid=notifications-link]:visible, [data-testid=notifications-top]:visible"
    ).first.click()
    with translation.override(journey.language):
        broken = translation.gettext("A rule was broken: %(category)s.") % {
            "category": category_label(violation.category)
        }
    notice = author_page.get_by_test_id("notification").filter(has_text=broken)
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Absolute claims need proof.")
    journey.shot("4-author-notice", author_page)
    journey.me_menu_go("Account status", author_page)
    expect(author_page.get_by_test_id("violation").first).to_contain_text(
        category_label_in(journey, violation)
    )
    journey.shot("5-author-status", author_page)


def category_label_in(journey, violation) -> str:
    with translation.override(journey.language):
        return str(category_label(violation.category))
