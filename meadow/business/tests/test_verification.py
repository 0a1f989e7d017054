"""Blue-tick verification: apply (API and page), the private licence, moderators' decisions (API and console),
revoke, notifications, and the privileges that follow the state."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from meadow.business import services
from meadow.business.models import VerificationApplication
from meadow.notifications.models import Notification
from meadow.notifications.text import notification_summary
from meadow.store.models import Shop
from meadow.store.selectors import products_listed, skus_purchasable
from meadow.store.tests.factories import PDF, jpeg_upload, make_product, make_shop, pdf_upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"
FORM = {
    "company_name": "Kedai Mei Sdn Bhd",
    "registration_number": "202301012345",
    "category": "fashion",
    "contact_name": "Mei Ling",
    "contact_phone": "012-345 6789",
    "whatsapp": "+60 12-345 6789",
}


def apply(client: Client, licence=None, **overrides):
    data = {**FORM, **overrides}
    if licence is not False:
        data["licence"] = licence or pdf_upload()
    return client.post("/api/v1/business/verification", data)


def decide(client: Client, application_id: int, decision: str, reason: str = ""):
    return client.post(
        f"/api/v1/moderation/verifications/{application_id}/decision",
        {"decision": decision, "reason": reason},
        content_type=JSON,
    )


# --- applying -----------------------------------------------------------------------------------------------------
def test_apply_with_pdf_creates_pending_application(user, api_for):
    response = apply(api_for(user))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    app = VerificationApplication.objects.get(pk=body["id"])
    assert app.user == user and app.company_name == "Kedai Mei Sdn Bhd"
    assert app.contact_phone == "+60123456789" and app.whatsapp == "+60123456789"
    assert app.licence_content_type == "application/pdf"
    # stored privately: under the private root, never under MEDIA_ROOT
    path = Path(app.licence.path)
    assert str(path).startswith(str(settings.MEADOW_PRIVATE_MEDIA_ROOT))
    assert not str(path).startswith(str(settings.MEDIA_ROOT))
    assert path.read_bytes() == PDF
    user.refresh_from_db()
    assert user.is_verified_enterprise is False


def test_apply_with_image_reencodes_it(user, api_for):
    response = apply(api_for(user), licence=jpeg_upload())
    assert response.status_code == 201
    app = VerificationApplication.objects.get()
    assert app.licence_content_type == "image/webp"
    assert Path(app.licence.path).read_bytes()[8:12] == b"WEBP"


@pytest.mark.parametrize(
    ("licence", "code"),
    [
        (lambda: pdf_upload("licence.pdf", b"MZ\x90\x00 not a pdf at all"), "bad_file_type"),  # by content
        (lambda: pdf_upload("notes.txt", b"hello"), "bad_file_type"),
        (lambda: pdf_upload("cut.pdf", b"%PDF-1.4\n1 0 obj"), "bad_file"),
        (lambda: False, "required"),
    ],
)
def test_apply_refuses_bad_licences_and_writes_nothing(user, api_for, licence, code):
    response = apply(api_for(user), licence=licence())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == "licence"
    assert not VerificationApplication.objects.exists()


def test_apply_refuses_a_licence_over_the_limit(user, api_for, settings):
    settings.MEADOW_LICENCE_MAX_BYTES = 100
    response = apply(api_for(user), licence=pdf_upload(data=PDF + b"x" * 200))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_too_large"
    assert not VerificationApplication.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("company_name", "   ", "required"),
        ("whatsapp", "call me", "bad_phone"),
        ("category", "weapons", "invalid"),
    ],
)
def test_apply_validates_fields(user, api_for, field, value, code):
    response = apply(api_for(user), **{field: value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not VerificationApplication.objects.exists()


def test_second_application_while_pending_is_refused(user, api_for):
    client = api_for(user)
    assert apply(client).status_code == 201
    second = apply(client)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_pending"
    assert VerificationApplication.objects.count() == 1


def test_apply_needs_sign_in(anon):
    assert apply(anon).status_code == 401
    assert not VerificationApplication.objects.exists()


# --- the private licence ------------------------------------------------------------------------------------------
def test_licence_is_served_only_to_the_applicant_and_moderators(user, other_user, moderator, api_for):
    app_id = apply(api_for(user)).json()["id"]
    url = f"/business/licence/{app_id}/"
    owner, other, mod, anon = Client(), Client(), Client(), Client()
    owner.force_login(user)
    other.force_login(other_user)
    mod.force_login(moderator)
    response = owner.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert mod.get(url).status_code == 200
    assert other.get(url).status_code == 404
    assert anon.get(url).status_code == 302  # to the login page
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))  # staff without the moderator permission
    assert staff.get(url).status_code == 404
    # and it has no public URL under MEDIA_URL
    name = VerificationApplication.objects.get().licence.name
    assert Client().get(f"/media/{name}").status_code == 404


# --- decisions ----------------------------------------------------------------------------------------------------
def test_moderator_approves_through_the_api(user, moderator, api_for):
    app_id = apply(api_for(user)).json()["id"]
    response = decide(api_for(moderator), app_id, "approve")
    assert response.status_code == 200, response.content
    assert response.json() == {"id": app_id, "status": "approved"}
    user.refresh_from_db()
    assert user.is_verified_enterprise is True
    notice = Notification.objects.get(recipient=user)
    assert notice.kind == "system" and "Kedai Mei Sdn Bhd" in notification_summary(notice)
    # the status endpoint reflects it
    status = api_for(user).get("/api/v1/business/verification").json()
    assert status["status"] == "approved" and status["verified"] is True
    # a second decision on the same application is a conflict
    again = decide(api_for(moderator), app_id, "reject", "changed my mind")
    assert again.status_code == 409


@pytest.mark.parametrize("who", ["applicant", "other", "staff_without_permission"])
def test_non_moderators_cannot_decide(user, other_user, api_for, who):
    app_id = apply(api_for(user)).json()["id"]
    caller = {"applicant": user, "other": other_user, "staff_without_permission": UserFactory(is_staff=True)}[
        who
    ]
    response = decide(api_for(caller), app_id, "approve")
    assert response.status_code == 404
    assert VerificationApplication.objects.get().status == "pending"
    user.refresh_from_db()
    assert user.is_verified_enterprise is False


def test_reject_needs_a_reason_and_notifies(user, moderator, api_for):
    app_id = apply(api_for(user)).json()["id"]
    missing = decide(api_for(moderator), app_id, "reject")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "reason"
    assert VerificationApplication.objects.get().status == "pending"
    response = decide(api_for(moderator), app_id, "reject", "The licence has expired.")
    assert response.json()["status"] == "rejected"
    assert "The licence has expired." in notification_summary(Notification.objects.get(recipient=user))
    user.refresh_from_db()
    assert user.is_verified_enterprise is False
    # after a rejection the account may apply again
    assert apply(api_for(user)).status_code == 201


def test_more_info_then_reapply_updates_the_same_application(
    user, moderator, api_for, django_capture_on_commit_callbacks
):
    app_id = apply(api_for(user)).json()["id"]
    assert (
        decide(api_for(moderator), app_id, "more_info", "Upload all pages.").json()["status"] == "more_info"
    )
    old_path = Path(VerificationApplication.objects.get().licence.path)
    with django_capture_on_commit_callbacks(execute=True):
        again = apply(api_for(user), licence=jpeg_upload(), company_name="Kedai Mei Sdn. Bhd.")
    assert again.status_code == 201 and again.json() == {"id": app_id, "status": "pending"}
    app = VerificationApplication.objects.get()
    assert app.company_name == "Kedai Mei Sdn. Bhd." and app.licence_content_type == "image/webp"
    assert not old_path.exists()  # the replaced licence is deleted
    assert decide(api_for(moderator), app_id, "approve").status_code == 200


def test_console_actions_approve_and_revoke(user, moderator, api_for):
    app_id = apply(api_for(user)).json()["id"]
    console = Client()
    console.force_login(moderator)
    url = "/admin/business/verificationapplication/"
    queue = console.get(url, follow=True)
    assert queue.status_code == 200 and b"Kedai Mei Sdn Bhd" in queue.content
    detail = console.get(f"{url}{app_id}/change/")
    assert detail.status_code == 200 and f"/business/licence/{app_id}/".encode() in detail.content
    response = console.post(
        url + "?status__exact=pending", {"action": "approve", "_selected_action": [app_id], "reason": ""}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_verified_enterprise is True
    console.post(url, {"action": "revoke", "_selected_action": [app_id], "reason": "Licence withdrawn"})
    user.refresh_from_db()
    assert user.is_verified_enterprise is False
    assert VerificationApplication.objects.get().status == "revoked"
    assert "Licence withdrawn" in notification_summary(
        Notification.objects.filter(recipient=user).latest("id")
    )


def test_console_is_for_moderators_only(user, api_for):
    apply(api_for(user))
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    assert staff.get("/admin/business/verificationapplication/?status__exact=pending").status_code == 403


# --- privileges follow the state ------------------------------------------------------------------------------------
def test_revoke_removes_privileges(moderator):
    shop = make_shop()
    owner = shop.owner
    VerificationApplication.objects.create(
        user=owner, company_name="Kedai", registration_number="1", category="food", contact_name="A",
        whatsapp="+60123456789", licence="licences/x.pdf", status="approved",
    )  # fmt: skip
    product = make_product(shop=shop)
    sku = product.skus.get()
    assert skus_purchasable(sku_ids=[sku.pk]) and products_listed().filter(pk=product.pk).exists()
    page = Client().get(f"/@{owner.handle}/")
    assert b'data-testid="contact-component"' in page.content and b"https://wa.me/60123456789" in page.content
    assert b'data-testid="verified-badge"' in page.content

    services.verification_revoke(user=owner, moderator=moderator, reason="Fraud report")
    owner.refresh_from_db()
    assert owner.is_verified_enterprise is False
    assert skus_purchasable(sku_ids=[sku.pk]) == {}
    assert not products_listed().filter(pk=product.pk).exists()
    assert Client().get(f"/products/{product.pk}/").status_code == 404
    page = Client().get(f"/@{owner.handle}/")
    assert b"wa.me" not in page.content and b'data-testid="verified-badge"' not in page.content
    seller = Client()
    seller.force_login(owner)
    assert seller.get("/seller/").status_code == 403
    assert Shop.objects.filter(pk=shop.pk).exists()  # the shop is kept, closed to buyers


def test_verified_businesses_are_bound_by_absolute_claims_like_anyone(api_for):
    # issue #18's policy decision: a verified enterprise is exempt only from the marketing-intent limits, not
    # from absolute claims (advertising rules bind businesses most of all)
    from meadow.notes.tests.factories import jpeg

    text = "全网最低价"
    personal, business = UserFactory(), UserFactory(is_verified_enterprise=True)
    results = {}
    for who in (personal, business):
        response = api_for(who).post("/api/v1/notes", {"title": "Sale", "body": text, "images": [jpeg()]})
        assert response.status_code == 201, response.content
        results[who.pk] = response.json()["moderation"]["verdict"]
    assert results[personal.pk] == "review"
    assert results[business.pk] == "review"


def test_marketing_intent_findings_are_exempt_only_for_verified_businesses():
    from meadow.moderation.engine.policy import DEFAULT_POLICY

    personal = DEFAULT_POLICY.table("note", "personal")
    business = DEFAULT_POLICY.table("note", "enterprise")
    assert DEFAULT_POLICY.action(personal, "promotion", "medium") == "review"
    assert DEFAULT_POLICY.action(business, "promotion", "medium") == "pass"


def test_note_api_reports_the_blue_tick(api_for):
    from meadow.notes.tests.factories import NoteFactory

    verified = NoteFactory(author=UserFactory(is_verified_enterprise=True))
    plain = NoteFactory()
    assert Client().get(f"/api/v1/notes/{verified.pk}").json()["author"]["verified"] is True
    assert Client().get(f"/api/v1/notes/{plain.pk}").json()["author"]["verified"] is False


def test_verification_page_apply_and_status(user):
    client = Client()
    client.force_login(user)
    page = client.get("/business/")
    assert page.status_code == 200 and b'data-testid="verification-form"' in page.content
    response = client.post("/business/", {**FORM, "licence": pdf_upload()})
    assert response.status_code == 302
    page = client.get("/business/")
    assert b'data-testid="verification-form"' not in page.content  # pending: no second form
    assert b"Pending review" in page.content
    bad = client.post("/business/", {**FORM, "licence": pdf_upload("x.pdf", b"nope")})
    assert VerificationApplication.objects.count() == 1 and bad.status_code == 200
