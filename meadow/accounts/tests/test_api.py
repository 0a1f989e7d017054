"""Accounts through the public REST API (/api/v1/): sign-up, codes, tokens, profile, follow, block, lists.

Every refusal is checked for its status, its error ``code``/``field`` and for leaving the database unchanged.
"""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from meadow.accounts.models import Agreement, ApiToken, Block, Follow, PhoneCode, User
from meadow.accounts.sms import LocmemBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "blue meadow 2026"


# --- helpers --------------------------------------------------------------------------------------------------
def post(client: Client, url: str, data: dict | None = None, **extra):
    return client.post(
        url, json.dumps(data if data is not None else {}), content_type="application/json", **extra
    )


def patch(client: Client, url: str, data: dict, **extra):
    return client.patch(url, json.dumps(data), content_type="application/json", **extra)


def error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert body["error"]["message"], body
    return body["error"]


def assert_error(response, status: int, code: str, field: str | None = "__any__") -> dict:
    assert response.status_code == status, (response.status_code, response.content)
    err = error(response)
    assert err["code"] == code, err
    if field != "__any__":
        assert err["field"] == field, err
    return err


def db_state() -> dict:
    """Row counts of everything the accounts endpoints can write."""
    return {
        "users": User.objects.count(),
        "agreements": Agreement.objects.count(),
        "tokens": ApiToken.objects.count(),
        "live_tokens": ApiToken.objects.filter(revoked_at__isnull=True).count(),
        "follows": Follow.objects.count(),
        "active_follows": Follow.objects.filter(status=Follow.Status.ACTIVE).count(),
        "blocks": Block.objects.count(),
        "codes": PhoneCode.objects.count(),
        "used_codes": PhoneCode.objects.filter(used_at__isnull=False).count(),
        "emails": EmailAddress.objects.count(),
        "mails": len(mail.outbox),
        "sms": len(LocmemBackend.outbox),
    }


def profile_state(user: User) -> dict:
    user.refresh_from_db()
    fields = (
        "handle",
        "display_name",
        "bio",
        "location",
        "gender",
        "birthday",
        "is_private",
        "message_policy",
    )
    return {
        **{f: getattr(user, f) for f in fields},
        "avatar": user.avatar.name,
        "background": user.background.name,
        "password": user.password,
    }


_next_phone = iter(range(1000, 10000))


def new_phone() -> str:
    """A valid Malaysian mobile number, unique within the run (so per-number rate limits never collide)."""
    return f"+6012345{next(_next_phone):04d}"


def request_code(client: Client, phone: str, sms_code) -> str:
    response = post(client, "/api/v1/auth/phone/code", {"phone": phone})
    assert response.status_code == 202, response.content
    return sms_code(phone)


def signup_email(client: Client, **overrides):
    data = {"handle": "Lily_KL", "email": "Lily@Example.com", "password": NEW_PASSWORD, "agree_terms": True}
    data.update(overrides)
    return post(client, "/api/v1/auth/signup", data)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def jpeg_bytes(
    size=(640, 480), color=(200, 60, 60), exif: Image.Exif | None = None, noise: bool = False
) -> bytes:
    if noise:
        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, color)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_image(user: User) -> tuple[Image.Image, bytes]:
    user.refresh_from_db()
    with user.avatar.open("rb") as fh:
        raw = fh.read()
    img = Image.open(io.BytesIO(raw))
    img.load()
    return img, raw


# --- sign-up --------------------------------------------------------------------------------------------------
def test_signup_by_email_creates_the_account_records_agreements_and_sends_verification(anon):
    response = signup_email(anon)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["handle"] == "lily_kl"
    assert body["email"] == "lily@example.com"
    assert body["display_name"] == "lily_kl"
    assert body["counts"] == {"following": 0, "followers": 0, "likes_and_saves": 0}
    assert "password" not in body

    user = User.objects.get(handle="lily_kl")
    assert user.password != NEW_PASSWORD and NEW_PASSWORD not in user.password
    assert user.check_password(NEW_PASSWORD)
    agreements = {(a.document, a.version) for a in user.agreements.all()}
    assert agreements == {
        ("terms", settings.MEADOW_TERMS_VERSION),
        ("privacy", settings.MEADOW_TERMS_VERSION),
    }
    assert all(a.agreed_at is not None and a.ip == "127.0.0.1" for a in user.agreements.all())

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["lily@example.com"]
    address = EmailAddress.objects.get(user=user)
    assert address.email == "lily@example.com" and address.primary and not address.verified


def test_signup_by_phone_with_a_code(anon, sms_code):
    phone = new_phone()
    response = post(anon, "/api/v1/auth/phone/code", {"phone": phone})
    assert response.status_code == 202, response.content
    assert response.json() == {"sent": True, "expires_in": settings.MEADOW_PHONE_CODE_TTL}
    code = sms_code(phone)
    stored = PhoneCode.objects.get(phone=phone)
    assert code not in stored.code_hash  # stored hashed

    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "Ahmad.Z", "phone": phone, "code": code, "agree_terms": True, "display_name": "Ahmad Z"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["handle"] == "ahmad.z" and body["phone"] == phone and body["email"] is None
    user = User.objects.get(handle="ahmad.z")
    assert user.phone == phone and user.display_name == "Ahmad Z"
    assert not user.has_usable_password()
    assert user.agreements.count() == 2
    stored.refresh_from_db()
    assert stored.used_at is not None


def test_signup_by_phone_accepts_a_local_number_format(anon, sms_code):
    # the number is normalised to E.164 before anything is stored or sent
    response = post(anon, "/api/v1/auth/phone/code", {"phone": "012-345 0042"})
    assert response.status_code == 202
    code = sms_code("+60123450042")
    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "local_fmt", "phone": "+60 12-345 0042", "code": code, "agree_terms": True},
    )
    assert response.status_code == 201, response.content
    assert User.objects.get(handle="local_fmt").phone == "+60123450042"


# --- tokens ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("login", ["handle", "HANDLE", "@handle", "email", "EMAIL", "phone", "local_phone"])
def test_token_by_login_and_password(anon, login):
    user = UserFactory(handle="mei_ling", email="mei@example.com", phone="+60123456789")
    value = {
        "handle": "mei_ling",
        "HANDLE": "Mei_Ling",
        "@handle": "@mei_ling",
        "email": "mei@example.com",
        "EMAIL": "MEI@Example.COM",
        "phone": "+60123456789",
        "local_phone": "012-345 6789",
    }[login]

    response = post(anon, "/api/v1/auth/token", {"login": value, "password": PASSWORD, "name": "Pixel 9"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["handle"] == "mei_ling"
    token = ApiToken.objects.get(user=user)
    assert token.name == "Pixel 9" and body["token"].startswith(token.prefix)
    me = Client(HTTP_AUTHORIZATION=f"Bearer {body['token']}").get("/api/v1/me")
    assert me.status_code == 200 and me.json()["handle"] == "mei_ling"


@pytest.mark.parametrize(
    "payload",
    [
        {"login": "mei_ling", "password": "wrong password"},
        {"login": "nobody_here", "password": PASSWORD},
        {"login": "mei_ling"},
        {},
    ],
)
def test_token_refused_for_bad_credentials(anon, payload):
    UserFactory(handle="mei_ling")
    before = db_state()
    response = post(anon, "/api/v1/auth/token", payload)
    assert_error(response, 400, "bad_credentials")
    assert db_state() == before


def test_token_refused_for_an_inactive_account(anon):
    UserFactory(handle="gone_user", is_active=False)
    before = db_state()
    assert_error(
        post(anon, "/api/v1/auth/token", {"login": "gone_user", "password": PASSWORD}), 400, "bad_credentials"
    )
    assert db_state() == before


def test_token_by_phone_and_code(anon, sms_code):
    phone = new_phone()
    user = UserFactory(phone=phone)
    code = request_code(anon, phone, sms_code)

    response = post(anon, "/api/v1/auth/token", {"phone": phone, "code": code})

    assert response.status_code == 200, response.content
    assert response.json()["handle"] == user.handle
    me = Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}").get("/api/v1/me")
    assert me.status_code == 200 and me.json()["phone"] == phone


def test_token_by_phone_without_an_account(anon, sms_code):
    """Only the owner of the number, having proven it with the code, learns that no account uses it (a wrong code
    answers exactly as for a registered number: see test_security.py)."""
    phone = new_phone()
    code = request_code(anon, phone, sms_code)
    before = db_state()
    assert_error(
        post(anon, "/api/v1/auth/token", {"phone": phone, "code": wrong(code)}), 400, "code_wrong", "code"
    )
    assert db_state() == before
    assert_error(post(anon, "/api/v1/auth/token", {"phone": phone, "code": code}), 400, "no_account", "phone")
    assert db_state() == {**before, "used_codes": before["used_codes"] + 1}  # no account, no token


def test_delete_token_revokes_it(anon, user):
    raw = post(anon, "/api/v1/auth/token", {"login": user.handle, "password": PASSWORD}).json()["token"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me").status_code == 200

    response = client.delete("/api/v1/auth/token")

    assert response.status_code == 204
    assert ApiToken.objects.get(user=user).revoked_at is not None
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    assert_error(client.delete("/api/v1/auth/token"), 401, "unauthenticated")


def test_delete_token_only_revokes_the_one_it_carries(api_for, user):
    first, second = api_for(user), api_for(user)
    assert first.delete("/api/v1/auth/token").status_code == 204
    assert first.get("/api/v1/me").status_code == 401
    assert second.get("/api/v1/me").status_code == 200
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    "header",
    ["Bearer mdw_not-a-real-token", "Bearer ", "Bearer " + "x" * 300, "Token abc", "Basic dXNlcjpwYXNz"],
)
def test_bad_tokens_are_401(header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/me")
    assert_error(response, 401, "unauthenticated", None)


def test_token_of_a_deactivated_account_stops_working(api_for, user):
    client = api_for(user)
    assert client.get("/api/v1/me").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/me").status_code == 401


# --- me -------------------------------------------------------------------------------------------------------
def test_get_me(api_for, user):
    response = api_for(user).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["handle"] == user.handle and body["email"] == user.email
    assert body["is_private"] is False and body["message_policy"] == "everyone"
    assert body["counts"] == {"following": 0, "followers": 0, "likes_and_saves": 0}


def test_patch_me_changes_the_given_fields_only(api_for, user):
    before = profile_state(user)
    response = patch(
        api_for(user),
        "/api/v1/me",
        {
            "display_name": "  Mike   Chen [Fitness Coach] ",
            "bio": "Coach in KL · plans and tips · DM me here",
            "location": "Kuala Lumpur",
            "gender": "male",
            "birthday": "1990-05-01",
            "is_private": True,
            "message_policy": "following",
            "language": "ms",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["display_name"] == "Mike Chen [Fitness Coach]"
    assert body["bio"] == "Coach in KL · plans and tips · DM me here"
    assert body["birthday"] == "1990-05-01" and body["is_private"] is True and body["language"] == "ms"
    after = profile_state(user)
    assert after["handle"] == before["handle"] and after["password"] == before["password"]
    assert after["display_name"] == "Mike Chen [Fitness Coach]" and after["location"] == "Kuala Lumpur"


def test_patch_me_handle_is_lowercased(api_for, user):
    response = patch(api_for(user), "/api/v1/me", {"handle": "New.Handle_1"})
    assert response.status_code == 200
    assert response.json()["handle"] == "new.handle_1"
    user.refresh_from_db()
    assert user.handle == "new.handle_1"


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"handle": "Taken_Handle"}, 409, "handle_taken", "handle"),
        ({"handle": "admin"}, 400, "handle_taken", "handle"),
        ({"handle": "no spaces"}, 400, "bad_handle", "handle"),
        ({"handle": "x"}, 400, "bad_handle", "handle"),
        ({"display_name": "   "}, 400, "required", "display_name"),
        ({"display_name": "n" * 41}, 400, "too_long", "display_name"),
        ({"location": "l" * 61}, 400, "too_long", "location"),
        ({"birthday": "2999-01-01"}, 400, "bad_date", "birthday"),
        ({"birthday": "not a date"}, 400, "invalid", "birthday"),
        ({"gender": "robot"}, 400, "invalid", "gender"),
        ({"message_policy": "strangers"}, 400, "invalid", "message_policy"),
        ({"language": "fr"}, 400, "invalid", "language"),
        ({"bio": "b" * 101}, 400, "too_long", "bio"),
        ({"bio": "fine", "handle": "bad handle"}, 400, "bad_handle", "handle"),  # all-or-nothing
    ],
)
def test_patch_me_refuses_bad_input_and_writes_nothing(api_for, user, payload, status, code, field):
    UserFactory(handle="taken_handle")
    before, rows = profile_state(user), db_state()
    response = patch(api_for(user), "/api/v1/me", payload)
    assert_error(response, status, code, field)
    assert profile_state(user) == before
    rows_after = db_state()
    assert rows_after["users"] == rows["users"] and rows_after["follows"] == rows["follows"]


@pytest.mark.parametrize("body", ["[]", "[null, null]", "null", "5", '"text"', "{not json"])
def test_patch_me_with_a_body_that_is_not_a_json_object_is_400(api_for, user, body):
    before = profile_state(user)
    response = api_for(user).patch("/api/v1/me", body, content_type="application/json")
    assert_error(response, 400, "bad_json", None)
    assert profile_state(user) == before


@pytest.mark.parametrize(
    ("bio", "ok"),
    [
        ("😀" * 100, True),
        ("😀" * 101, False),
        ("字" * 100, True),
        ("字" * 101, False),
        ("👨‍👩‍👧‍👦" * 100, True),  # a ZWJ family is 7 code points but one character
        ("👨‍👩‍👧‍👦" * 101, False),
        ("e\u0301" * 100, True),  # e + combining acute accent: one character
        ("🇲🇾" * 100, True),  # a flag is two regional indicators: one character
        ("a" * 100, True),
        ("a" * 101, False),
    ],
)
def test_bio_length_counts_characters_as_a_person_does(api_for, user, bio, ok):
    response = patch(api_for(user), "/api/v1/me", {"bio": bio})
    user.refresh_from_db()
    if ok:
        assert response.status_code == 200, response.content
        assert user.bio == bio
    else:
        err = assert_error(response, 400, "too_long", "bio")
        assert "101" in err["message"]
        assert user.bio == ""


# --- avatar ---------------------------------------------------------------------------------------------------
def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "MeadowCam"  # Make
    exif[0x8825] = {1: "N", 2: (3.0, 8.0, 21.0), 3: "E", 4: (101.0, 41.0, 12.0)}  # GPSInfo: Kuala Lumpur
    return exif


def test_avatar_is_reencoded_to_a_square_webp_without_exif_or_gps(api_for, user):
    source = jpeg_bytes((800, 600), exif=_gps_exif())
    with Image.open(
        io.BytesIO(source)
    ) as check:  # the upload really carries GPS, or this test proves nothing
        assert check.getexif().get_ifd(0x8825).get(1) == "N"
    assert b"MeadowCam" in source

    response = api_for(user).post("/api/v1/me/avatar", {"file": upload(source)})

    assert response.status_code == 200, response.content
    assert response.json()["avatar"].startswith("http://testserver/media/avatars/")
    assert response.json()["avatar"].endswith(".webp")
    img, raw = stored_image(user)
    assert img.format == "WEBP"
    assert img.size == (400, 400)
    assert len(img.getexif()) == 0
    assert not img.getexif().get_ifd(0x8825)
    assert "exif" not in img.info
    assert b"MeadowCam" not in raw and b"Exif" not in raw


def test_avatar_honours_exif_orientation(api_for, user):
    # 200×100, left half red, right half blue; orientation 6 means "rotate 90° clockwise to display", so the
    # picture is really portrait with red on top and blue below.
    img = Image.new("RGB", (200, 100), (255, 0, 0))
    img.paste((0, 0, 255), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95, exif=exif)

    response = api_for(user).post("/api/v1/me/avatar", {"file": upload(out.getvalue())})

    assert response.status_code == 200, response.content
    stored, _raw = stored_image(user)
    assert stored.size == (400, 400)
    rgb = stored.convert("RGB")
    top_right, bottom_left = rgb.getpixel((380, 20)), rgb.getpixel((20, 380))
    assert top_right[0] > 200 and top_right[2] < 60, top_right  # red on top: rotated
    assert bottom_left[2] > 200 and bottom_left[0] < 60, bottom_left  # blue below


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_avatar_accepts_png_and_webp(api_for, user, fmt):
    out = io.BytesIO()
    Image.new("RGBA", (300, 500), (10, 200, 10, 128)).save(out, fmt)
    response = api_for(user).post("/api/v1/me/avatar", {"file": upload(out.getvalue(), f"a.{fmt.lower()}")})
    assert response.status_code == 200, response.content
    assert stored_image(user)[0].size == (400, 400)


@pytest.mark.parametrize(
    ("url", "field"), [("/api/v1/me/avatar", "avatar"), ("/api/v1/me/background", "background")]
)
def test_gif_avatar_and_background_are_refused_as_the_docs_say(api_for, user, url, field):
    """Avatars and backgrounds are JPEG, PNG, WebP or HEIC (docs, error message and code agree): a GIF — even
    named .jpg — is a translated 400 and the account keeps what it had."""
    client = api_for(user)
    before = profile_state(User.objects.get(pk=user.pk))
    out = io.BytesIO()
    Image.new("P", (300, 300), 3).save(out, "GIF")
    for name in ("a.gif", "a.jpg"):
        response = client.post(url, {"file": upload(out.getvalue(), name, "image/gif")})
        assert_error(response, 400, "bad_image_type", field)
        assert "JPEG, PNG, WebP or HEIC" in error(response)["message"]
        response = client.post(
            url, {"file": upload(out.getvalue(), name, "image/gif")}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        assert "JPEG" in error(response)["message"] and "Please" not in error(response)["message"]
    assert profile_state(User.objects.get(pk=user.pk)) == before


def test_background_is_cropped_to_3_by_1(api_for, user):
    response = api_for(user).post("/api/v1/me/background", {"file": upload(jpeg_bytes((2000, 2000)))})
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    with user.background.open("rb") as fh:
        img = Image.open(fh)
        assert img.format == "WEBP" and img.size == (1500, 500)


def _corrupt_png() -> bytes:
    """A PNG whose image data was damaged in transit (its CRC no longer matches)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(out, "PNG")
    data = bytearray(out.getvalue())
    start = data.index(b"IDAT") + 4
    data[start : start + 8] = b"\x00" * 8
    return bytes(data)


def _truncated_jpeg() -> bytes:
    data = jpeg_bytes((400, 400), noise=True)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "name", "code", "override"),
    [
        (
            lambda: jpeg_bytes((300, 300), noise=True),
            "big.jpg",
            "image_too_large",
            {"MEADOW_AVATAR_MAX_BYTES": 2000},
        ),
        (lambda: b"this is a text file, not a picture\n" * 20, "notes.jpg", "bad_image", {}),
        (lambda: b"", "empty.jpg", None, {}),
        (_truncated_jpeg, "truncated.jpg", "bad_image", {}),
        (lambda: jpeg_bytes((400, 400))[:200], "header-only.jpg", "bad_image", {}),
        (_corrupt_png, "corrupt.png", "bad_image", {}),
        (lambda: jpeg_bytes((300, 300)), "bomb.jpg", "image_too_big", {"MEADOW_IMAGE_MAX_PIXELS": 10_000}),
    ],
    ids=["oversized", "text-file", "empty", "truncated", "header-only", "corrupt", "decompression-bomb"],
)
def test_rejected_avatar_is_a_clear_4xx_and_keeps_the_old_avatar(api_for, user, make, name, code, override):
    client = api_for(user)
    assert client.post("/api/v1/me/avatar", {"file": upload(jpeg_bytes((500, 500)))}).status_code == 200
    user.refresh_from_db()
    old_name = user.avatar.name
    assert old_name and user.avatar.storage.exists(old_name)
    data = make()

    with override_settings(**override):
        response = client.post("/api/v1/me/avatar", {"file": upload(data, name)})

    assert 400 <= response.status_code < 500, response.content
    err = error(response)
    if code is not None:
        assert response.status_code == 400
        assert err["code"] == code and err["field"] == "avatar", err
    user.refresh_from_db()
    assert user.avatar.name == old_name
    assert user.avatar.storage.exists(old_name)


def test_a_decompression_bomb_beyond_pillows_own_limit_is_refused(api_for, user):
    """A PNG declaring a huge canvas: refused from its header, without decoding it."""
    out = io.BytesIO()
    Image.new("1", (4000, 4000)).save(out, "PNG")  # compresses to a few kB
    with override_settings(MEADOW_IMAGE_MAX_PIXELS=1_000_000):
        response = api_for(user).post("/api/v1/me/avatar", {"file": upload(out.getvalue(), "bomb.png")})
    assert_error(response, 400, "image_too_big", "avatar")
    user.refresh_from_db()
    assert not user.avatar


def test_avatar_without_a_file_is_400(api_for, user):
    response = api_for(user).post("/api/v1/me/avatar", {})
    assert response.status_code == 400
    assert error(response)["field"] == "file"


# --- sign-up: bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"handle": "Existing_One"}, 409, "handle_taken", "handle"),
        ({"email": "EXISTING@example.com"}, 409, "email_taken", "email"),
        ({"handle": "admin"}, 400, "handle_taken", "handle"),
        ({"handle": "settings"}, 400, "handle_taken", "handle"),
        ({"handle": "bad handle!"}, 400, "bad_handle", "handle"),
        ({"handle": "_lead"}, 400, "bad_handle", "handle"),
        ({"handle": "trail."}, 400, "bad_handle", "handle"),
        ({"handle": "中文名"}, 400, "bad_handle", "handle"),
        ({"handle": "ab"}, 400, "bad_handle", "handle"),
        ({"handle": "a" * 25}, 400, "bad_handle", "handle"),
        ({"handle": ""}, 400, "required", "handle"),
        ({"email": "not-an-email"}, 400, "bad_email", "email"),
        ({"email": None}, 400, "required", "email"),
        ({"agree_terms": False}, 400, "terms_required", "agree_terms"),
        ({"password": "123"}, 400, "weak_password", "password"),
        ({"password": "password"}, 400, "weak_password", "password"),
        ({"password": "12345678901"}, 400, "weak_password", "password"),
        ({"password": ""}, 400, "weak_password", "password"),
        ({"handle": "h" * 65}, 400, "invalid", "handle"),
        ({"display_name": "n" * 41}, 400, "too_long", "display_name"),
        # E-mail xor phone, as the schema's oneOf states (issue #15): the phone no longer wins silently.
        ({"phone": "+60 12-345 6789", "code": "123456"}, 400, "email_or_phone", "email"),
    ],
)
def test_signup_bad_input_is_a_clear_error_and_writes_nothing(anon, overrides, status, code, field):
    UserFactory(handle="existing_one", email="existing@example.com")
    before = db_state()
    response = signup_email(anon, **overrides)
    assert_error(response, status, code, field)
    assert db_state() == before


def test_signup_schema_states_email_xor_phone_and_the_password_minimum(client):
    from django.contrib.auth.password_validation import MinimumLengthValidator

    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["SignupIn"]
    by_email, by_phone = schema["oneOf"]
    assert by_email["required"] == ["email", "password"] and by_phone["required"] == ["phone", "code"]
    assert by_email["properties"]["phone"] == by_phone["properties"]["email"] == {"type": "null"}
    assert by_email["properties"]["password"]["minLength"] == MinimumLengthValidator().min_length == 8
    assert schema["properties"]["agree_terms"]["enum"] == [True]


def test_signup_without_agree_terms_field_is_refused(anon):
    before = db_state()
    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "no_terms", "email": "t@example.com", "password": NEW_PASSWORD},
    )
    assert_error(response, 400, "invalid", "agree_terms")
    assert db_state() == before


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_agree_terms_must_be_literally_true(anon, value):
    """Lenient coercion of "yes" would be a defect in the record of consent; only JSON true agrees."""
    before = db_state()
    response = signup_email(anon, agree_terms=value)
    assert response.status_code == 400, response.content
    assert error(response)["field"] == "agree_terms"
    assert db_state() == before


@pytest.mark.parametrize("phone", ["12345", "+6012345", "hello", "+601234567890", "", "+60 12-345 6789 99"])
def test_code_request_with_a_bad_phone_number(anon, phone):
    before = db_state()
    response = post(anon, "/api/v1/auth/phone/code", {"phone": phone})
    assert_error(response, 400, "bad_phone", "phone")
    assert db_state() == before


def test_signup_with_a_bad_phone_number(anon):
    before = db_state()
    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "phoney", "phone": "12345", "code": "123456", "agree_terms": True},
    )
    assert_error(response, 400, "bad_phone", "phone")
    assert db_state() == before


def test_signup_with_a_wrong_code_counts_the_attempt(anon, sms_code):
    phone = new_phone()
    code = request_code(anon, phone, sms_code)
    before = db_state()

    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "wrong_code", "phone": phone, "code": wrong(code), "agree_terms": True},
    )

    assert_error(response, 400, "code_wrong", "code")
    assert PhoneCode.objects.get(phone=phone).attempts == 1
    assert db_state() == before  # nothing else written; the code is still usable
    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "wrong_code", "phone": phone, "code": code, "agree_terms": True},
    )
    assert response.status_code == 201


def test_signup_with_an_expired_code(anon, sms_code):
    phone = new_phone()
    code = request_code(anon, phone, sms_code)
    PhoneCode.objects.filter(phone=phone).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = db_state()

    response = post(
        anon, "/api/v1/auth/signup", {"handle": "late_one", "phone": phone, "code": code, "agree_terms": True}
    )

    assert_error(response, 400, "code_expired", "code")
    assert db_state() == before
    assert PhoneCode.objects.get(phone=phone).used_at is None


def test_signup_without_requesting_a_code(anon):
    before = db_state()
    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "no_code", "phone": new_phone(), "code": "123456", "agree_terms": True},
    )
    assert_error(response, 400, "code_missing", "code")
    assert db_state() == before


def test_a_code_is_single_use(anon, sms_code):
    phone = new_phone()
    UserFactory(phone=phone)
    code = request_code(anon, phone, sms_code)
    assert post(anon, "/api/v1/auth/token", {"phone": phone, "code": code}).status_code == 200
    before = db_state()

    response = post(anon, "/api/v1/auth/token", {"phone": phone, "code": code})

    assert response.status_code == 400
    assert error(response)["code"] in {"code_missing", "code_wrong"} and error(response)["field"] == "code"
    assert db_state() == before


def test_a_new_code_replaces_the_old_one(anon, sms_code):
    phone = new_phone()
    UserFactory(phone=phone)
    first = request_code(anon, phone, sms_code)
    with override_settings(MEADOW_RATE_LIMITS="off"):
        second = request_code(anon, phone, sms_code)
    if first != second:
        assert post(anon, "/api/v1/auth/token", {"phone": phone, "code": first}).status_code == 400
    assert post(anon, "/api/v1/auth/token", {"phone": phone, "code": second}).status_code == 200


def test_too_many_wrong_codes_lock_the_code(anon, sms_code):
    phone = new_phone()
    code = request_code(anon, phone, sms_code)
    payload = {"handle": "guesser", "phone": phone, "agree_terms": True}
    for attempt in range(settings.MEADOW_PHONE_CODE_MAX_ATTEMPTS):
        assert_error(
            post(anon, "/api/v1/auth/signup", {**payload, "code": wrong(code)}), 400, "code_wrong", "code"
        )
        assert PhoneCode.objects.get(phone=phone).attempts == attempt + 1
    before = db_state()

    response = post(anon, "/api/v1/auth/signup", {**payload, "code": code})  # even the right code

    assert_error(response, 400, "code_locked", "code")
    assert db_state() == before
    assert not User.objects.filter(handle="guesser").exists()


def test_phone_signup_for_a_registered_number_is_409(anon, sms_code):
    phone = new_phone()
    UserFactory(phone=phone)
    code = request_code(anon, phone, sms_code)
    before = db_state()
    response = post(
        anon,
        "/api/v1/auth/signup",
        {"handle": "second_one", "phone": phone, "code": code, "agree_terms": True},
    )
    assert_error(response, 409, "phone_taken", "phone")
    assert db_state() == before


# --- rate limits ----------------------------------------------------------------------------------------------
def test_requesting_codes_too_fast_is_429_with_retry_after(anon, sms_code):
    phone = new_phone()
    request_code(anon, phone, sms_code)
    before = db_state()

    response = post(anon, "/api/v1/auth/phone/code", {"phone": phone})

    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert db_state() == before  # no new code, no SMS
    # another number is not affected
    assert post(anon, "/api/v1/auth/phone/code", {"phone": new_phone()}).status_code == 202


@override_settings(MEADOW_RATE_LIMITS="off")
def test_rate_limits_off(anon):
    phone = new_phone()
    for _ in range(8):
        assert post(anon, "/api/v1/auth/phone/code", {"phone": phone}).status_code == 202
    assert PhoneCode.objects.filter(phone=phone).count() == 8
    assert PhoneCode.objects.filter(phone=phone, used_at__isnull=True).count() == 1


@override_settings(MEADOW_RATE_LIMITS="10")
def test_rate_limit_multiplier(anon):
    phone = new_phone()
    for _ in range(10):  # the burst limit of 1 a minute becomes 10
        assert post(anon, "/api/v1/auth/phone/code", {"phone": phone}).status_code == 202
    assert_error(post(anon, "/api/v1/auth/phone/code", {"phone": phone}), 429, "rate_limited")


def test_login_attempts_per_account_are_limited(anon, user):
    for _ in range(10):
        assert_error(
            post(anon, "/api/v1/auth/token", {"login": user.handle, "password": "nope"}),
            400,
            "bad_credentials",
        )
    before = db_state()
    response = post(anon, "/api/v1/auth/token", {"login": user.handle.upper(), "password": PASSWORD})
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert db_state() == before


# --- profiles -------------------------------------------------------------------------------------------------
def test_get_user_anonymous_and_signed_in(anon, api_for, user, other_user):
    response = anon.get(f"/api/v1/users/{other_user.handle.upper()}")
    assert response.status_code == 200
    body = response.json()
    assert body["handle"] == other_user.handle and body.get("viewer") is None
    assert "email" not in body and "phone" not in body
    response = api_for(user).get(f"/api/v1/users/{other_user.handle}")
    assert response.json()["viewer"] == {"follow": "none"}
    assert api_for(user).get(f"/api/v1/users/{user.handle}").json()["viewer"] == {"follow": "self"}


def test_get_user_missing_or_inactive_is_404(anon):
    UserFactory(handle="sleeper", is_active=False)
    assert_error(anon.get("/api/v1/users/nobody_at_all"), 404, "not_found")
    assert_error(anon.get("/api/v1/users/sleeper"), 404, "not_found")


# --- follow -----------------------------------------------------------------------------------------------------
def counts(*users: User) -> list[tuple[int, int]]:
    for u in users:
        u.refresh_from_db()
    return [(u.following_count, u.followers_count) for u in users]


def test_follow_and_unfollow_are_idempotent_and_counts_exact(api_for, user, other_user):
    client = api_for(user)
    url = f"/api/v1/users/{other_user.handle}/follow"
    for _ in range(3):
        response = client.post(url)
        assert response.status_code == 200
        assert response.json() == {"follow": "following", "followers": 1}
    assert counts(user, other_user) == [(1, 0), (0, 1)]
    assert Follow.objects.filter(follower=user, followee=other_user, status="active").count() == 1
    assert client.get(f"/api/v1/users/{other_user.handle}").json()["viewer"] == {"follow": "following"}

    for _ in range(3):
        response = client.delete(url)
        assert response.status_code == 200
        assert response.json() == {"follow": "none", "followers": 0}
    assert counts(user, other_user) == [(0, 0), (0, 0)]
    assert not Follow.objects.exists()


def test_follow_yourself_is_refused(api_for, user):
    client = api_for(user)
    before = db_state()
    assert_error(client.post(f"/api/v1/users/{user.handle}/follow"), 400, "follow_self")
    assert db_state() == before


def test_follow_a_missing_user_is_404(api_for, user):
    client = api_for(user)
    before = db_state()
    assert_error(client.post("/api/v1/users/ghost_user/follow"), 404, "not_found")
    assert db_state() == before


def test_private_account_follow_request_accept(api_for, user, other_user):
    owner = UserFactory(is_private=True)
    response = api_for(user).post(f"/api/v1/users/{owner.handle}/follow")
    assert response.status_code == 200
    assert response.json() == {"follow": "requested", "followers": 0}
    assert counts(user, owner) == [(0, 0), (0, 0)]
    assert api_for(user).post(f"/api/v1/users/{owner.handle}/follow").json()["follow"] == "requested"

    page = api_for(owner).get("/api/v1/me/follow-requests").json()
    assert [item["handle"] for item in page["items"]] == [user.handle] and page["next_cursor"] is None

    response = api_for(owner).post(f"/api/v1/me/follow-requests/{user.handle}/accept")
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    assert Follow.objects.get(follower=user, followee=owner).status == "active"
    assert counts(user, owner) == [(1, 0), (0, 1)]
    assert api_for(owner).get("/api/v1/me/follow-requests").json()["items"] == []
    # deciding again: there is no request any more
    assert_error(api_for(owner).post(f"/api/v1/me/follow-requests/{user.handle}/accept"), 404, "not_found")
    assert counts(user, owner) == [(1, 0), (0, 1)]


def test_private_account_follow_request_decline(api_for, user):
    owner = UserFactory(is_private=True)
    api_for(user).post(f"/api/v1/users/{owner.handle}/follow")
    response = api_for(owner).post(f"/api/v1/me/follow-requests/{user.handle}/decline")
    assert response.status_code == 200 and response.json() == {"status": "declined"}
    assert not Follow.objects.exists()
    assert counts(user, owner) == [(0, 0), (0, 0)]


def test_withdrawing_a_request_leaves_counts_alone(api_for, user):
    owner = UserFactory(is_private=True)
    client = api_for(user)
    client.post(f"/api/v1/users/{owner.handle}/follow")
    assert client.delete(f"/api/v1/users/{owner.handle}/follow").json() == {"follow": "none", "followers": 0}
    assert not Follow.objects.exists()
    assert counts(user, owner) == [(0, 0), (0, 0)]


def test_going_public_approves_pending_requests(api_for, user, other_user):
    owner = UserFactory(is_private=True)
    api_for(user).post(f"/api/v1/users/{owner.handle}/follow")
    api_for(other_user).post(f"/api/v1/users/{owner.handle}/follow")
    assert patch(api_for(owner), "/api/v1/me", {"is_private": False}).status_code == 200
    assert Follow.objects.filter(followee=owner, status="active").count() == 2
    assert counts(owner, user, other_user) == [(0, 2), (1, 0), (1, 0)]


def test_follow_request_decision_value_is_validated(api_for, user):
    owner = UserFactory(is_private=True)
    api_for(user).post(f"/api/v1/users/{owner.handle}/follow")
    response = api_for(owner).post(f"/api/v1/me/follow-requests/{user.handle}/maybe")
    assert response.status_code == 400
    assert error(response)["field"] == "decision"
    assert Follow.objects.get().status == "pending"


# --- block ------------------------------------------------------------------------------------------------------
def test_block_removes_follows_both_ways_and_fixes_counts(api_for, user, other_user):
    api_for(user).post(f"/api/v1/users/{other_user.handle}/follow")
    api_for(other_user).post(f"/api/v1/users/{user.handle}/follow")
    assert counts(user, other_user) == [(1, 1), (1, 1)]

    response = api_for(other_user).post(f"/api/v1/users/{user.handle}/block")

    assert response.status_code == 200 and response.json() == {"blocked": True}
    assert not Follow.objects.exists()
    assert counts(user, other_user) == [(0, 0), (0, 0)]
    assert Block.objects.filter(blocker=other_user, blocked=user).count() == 1
    # idempotent
    assert api_for(other_user).post(f"/api/v1/users/{user.handle}/block").status_code == 200
    assert Block.objects.count() == 1


def test_blocked_user_cannot_see_or_follow_the_blocker(api_for, user, other_user):
    api_for(other_user).post(f"/api/v1/users/{user.handle}/block")
    blocked = api_for(user)
    before = db_state()

    assert_error(blocked.post(f"/api/v1/users/{other_user.handle}/follow"), 404, "not_found")
    assert_error(blocked.get(f"/api/v1/users/{other_user.handle}"), 404, "not_found")
    assert_error(blocked.get(f"/api/v1/users/{other_user.handle}/followers"), 404, "not_found")
    assert_error(blocked.post(f"/api/v1/users/{other_user.handle}/block"), 404, "not_found")

    assert db_state() == before
    assert counts(user, other_user) == [(0, 0), (0, 0)]
    # anonymous readers still see the blocker
    assert Client().get(f"/api/v1/users/{other_user.handle}").status_code == 200


def test_blocker_must_unblock_to_follow(api_for, user, other_user):
    client = api_for(other_user)
    client.post(f"/api/v1/users/{user.handle}/block")
    before = db_state()
    assert_error(client.post(f"/api/v1/users/{user.handle}/follow"), 403, "blocked")
    assert db_state() == before

    response = client.delete(f"/api/v1/users/{user.handle}/block")
    assert response.status_code == 200 and response.json() == {"blocked": False}
    assert not Block.objects.exists()
    assert client.post(f"/api/v1/users/{user.handle}/follow").json() == {
        "follow": "following",
        "followers": 1,
    }
    assert api_for(user).get(f"/api/v1/users/{other_user.handle}").status_code == 200


def test_block_yourself_is_refused(api_for, user):
    client = api_for(user)
    before = db_state()
    assert_error(client.post(f"/api/v1/users/{user.handle}/block"), 400, "block_self")
    assert db_state() == before


# --- lists and pagination ---------------------------------------------------------------------------------------
@pytest.fixture
def star(db):
    """An account with 25 followers, followed in order f00 … f24 (the newest first in lists)."""
    target = UserFactory(handle="star_user")
    fans = [UserFactory(handle=f"fan{i:02d}") for i in range(25)]
    Follow.objects.bulk_create([Follow(follower=fan, followee=target) for fan in fans])
    User.objects.filter(pk=target.pk).update(followers_count=25)
    User.objects.filter(pk__in=[f.pk for f in fans]).update(following_count=1)
    return target


def test_followers_cursor_pagination(anon, star):
    seen, cursor, pages = [], None, []
    while True:
        response = anon.get(
            "/api/v1/users/star_user/followers", {"limit": 10, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(len(body["items"]))
        seen += [item["handle"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [10, 10, 5]
    assert seen == [f"fan{i:02d}" for i in reversed(range(25))]


def test_followers_default_and_maximum_page_size(anon, star):
    body = anon.get("/api/v1/users/star_user/followers").json()
    assert len(body["items"]) == 20 and body["next_cursor"]
    body = anon.get("/api/v1/users/star_user/followers", {"limit": 50}).json()
    assert len(body["items"]) == 25 and body["next_cursor"] is None
    body = anon.get("/api/v1/users/star_user/followers", {"limit": 25}).json()
    assert len(body["items"]) == 25 and body["next_cursor"] is None  # no empty last page
    body = anon.get("/api/v1/users/star_user/followers", {"limit": 1}).json()
    assert [i["handle"] for i in body["items"]] == ["fan24"]


def test_following_list(anon):
    fan = UserFactory(handle="fan_of_many")
    idols = [UserFactory(handle=f"idol{i}") for i in range(3)]
    Follow.objects.bulk_create([Follow(follower=fan, followee=idol) for idol in idols])
    Follow.objects.create(follower=fan, followee=UserFactory(handle="idol_pending"), status="pending")
    body = anon.get("/api/v1/users/fan_of_many/following").json()
    assert [item["handle"] for item in body["items"]] == ["idol2", "idol1", "idol0"]


@pytest.mark.parametrize("limit", ["0", "51", "-1", "abc", "1.5"])
def test_bad_limit_is_400(anon, star, limit):
    response = anon.get("/api/v1/users/star_user/followers", {"limit": limit})
    assert response.status_code == 400
    assert error(response)["field"] == "limit"


@pytest.mark.parametrize("cursor", ["!!!", "abc", "djE6LTE", "djI6MTA", "djE6eHl6", "%%%", "\u00e9t\u00e9"])
def test_bad_cursor_is_400(anon, star, cursor):
    response = anon.get("/api/v1/users/star_user/followers", {"cursor": cursor})
    assert_error(response, 400, "bad_cursor", "cursor")


def test_followers_list_query_count_does_not_grow_with_page_size(anon, star):
    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert anon.get("/api/v1/users/star_user/followers", {"limit": limit}).status_code == 200
        return len(ctx.captured_queries)

    assert queries(2) == queries(20)


# --- authorization matrix ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/me"),
        ("patch", "/api/v1/me"),
        ("post", "/api/v1/me/avatar"),
        ("post", "/api/v1/me/background"),
        ("get", "/api/v1/me/follow-requests"),
        ("post", "/api/v1/me/follow-requests/{other}/accept"),
        ("post", "/api/v1/users/{other}/follow"),
        ("delete", "/api/v1/users/{other}/follow"),
        ("post", "/api/v1/users/{other}/block"),
        ("delete", "/api/v1/users/{other}/block"),
        ("delete", "/api/v1/auth/token"),
    ],
)
def test_protected_endpoints_refuse_anonymous_callers(anon, user, other_user, method, url):
    profile_before, rows_before = profile_state(user), db_state()
    call = getattr(anon, method)
    kwargs = (
        {"content_type": "application/json", "data": json.dumps({"bio": "hacked"})}
        if method == "patch"
        else {}
    )
    response = call(url.format(other=other_user.handle), **kwargs)
    assert_error(response, 401, "unauthenticated", None)
    assert profile_state(user) == profile_before
    assert db_state() == rows_before


def test_follow_request_decisions_matrix(api_for, user, staff_user):
    owner = UserFactory(is_private=True)
    stranger = UserFactory()
    api_for(user).post(f"/api/v1/users/{owner.handle}/follow")
    url = f"/api/v1/me/follow-requests/{user.handle}/accept"

    def unchanged():
        link = Follow.objects.get(follower=user, followee=owner)
        assert link.status == "pending"
        assert counts(user, owner) == [(0, 0), (0, 0)]

    assert_error(Client().post(url), 401, "unauthenticated")
    unchanged()
    assert_error(api_for(stranger).post(url), 404, "not_found")  # it is not the stranger's request to decide
    unchanged()
    assert_error(api_for(staff_user).post(url), 404, "not_found")  # staff decide in the console, not here
    unchanged()
    assert_error(api_for(user).post(f"/api/v1/me/follow-requests/{user.handle}/accept"), 404, "not_found")
    unchanged()
    assert api_for(owner).post(url).status_code == 200
    assert counts(user, owner) == [(1, 0), (0, 1)]


def test_follow_requests_list_is_only_the_owners(api_for, user, other_user):
    owner = UserFactory(is_private=True)
    api_for(user).post(f"/api/v1/users/{owner.handle}/follow")
    assert api_for(other_user).get("/api/v1/me/follow-requests").json()["items"] == []
    assert len(api_for(owner).get("/api/v1/me/follow-requests").json()["items"]) == 1


@pytest.mark.parametrize("which", ["followers", "following"])
def test_private_account_connections_matrix(api_for, user, other_user, staff_user, which):
    owner = UserFactory(is_private=True)
    approved, pending = user, other_user
    Follow.objects.create(follower=approved, followee=owner, status="active")
    Follow.objects.create(follower=pending, followee=owner, status="pending")
    stranger = UserFactory()
    url = f"/api/v1/users/{owner.handle}/{which}"

    assert_error(Client().get(url), 404, "not_found")
    assert_error(api_for(stranger).get(url), 403, "private_account")
    assert_error(api_for(pending).get(url), 403, "private_account")
    assert_error(api_for(staff_user).get(url), 403, "private_account")
    assert api_for(approved).get(url).status_code == 200
    response = api_for(owner).get(url)
    assert response.status_code == 200
    if which == "followers":
        assert [i["handle"] for i in response.json()["items"]] == [approved.handle]
    # the profile itself stays visible (it says it is private)
    assert Client().get(f"/api/v1/users/{owner.handle}").json()["is_private"] is True


def test_other_users_cannot_change_my_profile(api_for, user, other_user, staff_user):
    """``/me`` is always the caller: another user's or staff's PATCH edits their own profile, never mine."""
    before = profile_state(user)
    for caller in (other_user, staff_user):
        response = patch(api_for(caller), "/api/v1/me", {"bio": "changed by someone"})
        assert response.status_code == 200 and response.json()["handle"] == caller.handle
    assert profile_state(user) == before


# --- session auth (the web UI) -----------------------------------------------------------------------------------
def test_session_auth_reads_me(user):
    client = Client()
    client.force_login(user)
    response = client.get("/api/v1/me")
    assert response.status_code == 200 and response.json()["handle"] == user.handle


def test_session_write_without_csrf_is_refused(user, other_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before, rows = profile_state(user), db_state()

    assert_error(patch(client, "/api/v1/me", {"bio": "csrf attack"}), 403, "csrf_failed", None)
    assert_error(client.post(f"/api/v1/users/{other_user.handle}/follow"), 403, "csrf_failed", None)

    assert profile_state(user) == before
    assert db_state() == rows


def test_session_write_with_csrf_token_is_accepted(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    secret = "a" * 32
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    response = patch(client, "/api/v1/me", {"bio": "with csrf"}, HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 200, response.content
    assert profile_state(user)["bio"] == "with csrf"


def test_bearer_writes_need_no_csrf(user):
    from conftest import bearer_client

    client = bearer_client(user)
    client.handler.enforce_csrf_checks = True
    assert patch(client, "/api/v1/me", {"bio": "from the app"}).status_code == 200
    assert profile_state(user)["bio"] == "from the app"


def test_session_of_a_deactivated_user_is_401(user):
    client = Client()
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/me").status_code == 401


# --- requests Django cannot read ----------------------------------------------------------------------------------
def _multipart(parts: list[tuple[str, str | None]], boundary: str = "bndry") -> bytes:
    body = ""
    for name, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\nxx\r\n"
    return (body + f"--{boundary}--\r\n").encode()


def test_too_many_files_is_a_json_400_not_an_html_page(api_for, user):
    body = _multipart([(f"f{i}", f"a{i}.jpg") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)])
    before = profile_state(user)
    response = api_for(user).generic(
        "POST", "/api/v1/me/avatar", body, content_type="multipart/form-data; boundary=bndry"
    )
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 400, "bad_request", None)
    assert profile_state(user) == before


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_a_json_400(api_for, user):
    before = profile_state(user)
    response = patch(api_for(user), "/api/v1/me", {"bio": "x" * 2000})
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 400, "too_large", None)
    assert profile_state(user) == before


def test_openapi_documents_public_reads_as_optional_auth(anon):
    schema = anon.get("/api/v1/openapi.json").json()
    public = schema["paths"]["/api/v1/users/{handle}"]["get"]["security"]
    assert {} in public and {"BearerAuth": []} in public
    private = schema["paths"]["/api/v1/me"]["get"]["security"]
    assert {} not in private and {"BearerAuth": []} in private
    assert "OptionalAuth" not in schema["components"]["securitySchemes"]


# --- NUL characters (PostgreSQL refuses them: they must be a 4xx before any query) ----------------------------------
@pytest.mark.parametrize(
    "payload",
    [
        {"login": "\u0000", "password": "x"},
        {"login": "user\u0000", "password": PASSWORD},
        {"phone": "+60123450001\u0000", "code": "123456"},
        {"name": "device\u0000", "login": "a", "password": "b"},
    ],
)
def test_nul_in_a_json_body_is_400(anon, payload):
    before = db_state()
    assert_error(post(anon, "/api/v1/auth/token", payload), 400, "bad_json", None)
    assert db_state() == before


def test_nul_in_signup_and_patch_is_400(anon, api_for, user):
    before = db_state()
    assert_error(signup_email(anon, handle="nul\u0000handle"), 400, "bad_json", None)
    assert db_state() == before
    profile = profile_state(user)
    assert_error(patch(api_for(user), "/api/v1/me", {"bio": "a\u0000b"}), 400, "bad_json", None)
    assert profile_state(user) == profile


def test_nul_in_a_query_string_is_400(anon, user):
    response = anon.get(f"/api/v1/users/{user.handle}/followers?cursor=%00")
    assert_error(response, 400, "invalid", "cursor")


@pytest.mark.parametrize("path", ["/api/v1/users/%00", "/api/v1/users/a%00b/followers", "/@a%00b/"])
def test_nul_in_a_handle_is_404(anon, path):
    assert anon.get(path).status_code == 404
