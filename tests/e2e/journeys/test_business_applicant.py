"""Journey: a person applies for business verification from the Me menu with a licence file, sees it pending;
a moderator approves it in the console (another browser); the applicant's page says they are verified and the blue
tick shows beside their name on their profile."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import expect

from meadow.business.models import VerificationApplication
from meadow.enforcement.services import moderator_group_ensure
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_business_applicant(journey):
    page, t = journey.page, journey.t
    suffix = f"{journey.language.replace('-', '')}_{journey.width}"
    applicant = UserFactory(handle=f"batik_{suffix}", display_name="Batik Mei")
    moderator = UserFactory(handle=f"mod_{suffix}", is_staff=True)
    moderator.groups.add(moderator_group_ensure())
    journey.login(applicant.handle)

    # the application, from the Me menu
    journey.me_menu_go("Business account")
    expect(page.locator("h1")).to_have_text(t("Business verification"))
    form = page.get_by_test_id("verification-form")
    form.get_by_label(t("Company name")).fill("Batik Mei Sdn Bhd")
    form.locator("[name=registration_number]").fill("202301012345")
    form.locator("[name=category]").select_option("fashion")
    form.get_by_label(t("Contact person")).fill("Mei Ling")
    form.locator("[name=whatsapp]").fill("+60 12-345 6789")
    form.locator("input[name=licence]").set_input_files(
        {"name": "licence.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    journey.shot("1-application")
    apply = form.get_by_test_id("apply-verification")
    expect(apply).to_have_text(t("Apply for verification"))
    apply.click()
    status = page.get_by_test_id("verification-status")
    expect(status).to_contain_text(t("Pending review"))
    journey.see("A reviewer checks your documents, usually within two working days.")
    application = VerificationApplication.objects.get(user=applicant)
    assert application.status == "pending" and application.licence
    journey.shot("2-pending")

    # a moderator approves it in the console
    console = journey.new_page()
    journey.login(moderator.handle, console)
    journey.me_menu_go("Moderation", console)
    console.get_by_role("link", name=capfirst(t("verification applications")), exact=True).first.click()
    row = console.locator("#result_list tbody tr").filter(has_text=applicant.handle)
    expect(row).to_have_count(1)
    row.locator("input[name=_selected_action]").check()
    console.locator("select[name=action]").select_option("approve")
    console.locator("button[name=index]").click()
    with translation.override(journey.language):
        decided = translation.ngettext(
            "%(count)d application decided.", "%(count)d applications decided.", 1
        ) % {"count": 1}
    expect(console.locator(".messagelist")).to_contain_text(decided)
    journey.shot("3-console-approved", console)
    applicant.refresh_from_db()
    assert applicant.is_verified_enterprise

    # the applicant: verified, and the blue tick on their profile
    page.reload()
    with translation.override(journey.language):
        verified = translation.gettext(
            "%(company)s is a verified business. The blue tick shows beside your name everywhere."
        ) % {"company": "Batik Mei Sdn Bhd"}
    expect(page.get_by_test_id("verification-status")).to_have_text(verified)
    journey.go("Me")
    expect(page).to_have_url(re.compile(rf"/@{applicant.handle}/$"))
    badge = page.locator(".profile-head").get_by_test_id("verified-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_attribute("aria-label", t("Verified business"))
    journey.shot("4-blue-tick")
