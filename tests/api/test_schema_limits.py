"""The OpenAPI schema states the limits the services enforce, from the same constants, and booleans are strict.

Each test reads the live schema (``/api/v1/openapi.json``) and, where it matters, calls the endpoint: what the
schema refuses, the server refuses with the shared error shape, and nothing is written.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from meadow.accounts.models import BIO_MAX, DISPLAY_NAME_MAX, HANDLE_MAX, LOCATION_MAX, User
from meadow.core.pagination import MAX_LIMIT
from meadow.core.schema import NO_NUL_PATTERN
from meadow.enforcement.services import APPEAL_TEXT_MAX, REPORT_TEXT_MAX
from meadow.engagement.models import Board
from meadow.orders.services import QUANTITY_MAX


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _body(openapi: dict, name: str) -> dict:
    return openapi["components"]["schemas"][name]["properties"]


def _string(prop: dict) -> dict:
    """The string branch of a property (``anyOf: [string, null]`` for optional ones)."""
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") == "string":
            return branch
    raise AssertionError(f"no string in {prop}")


def test_every_list_limit_is_1_to_max(openapi):
    """All list endpoints (17 of them when this was written, and any added later) state ?limit= 1–50."""
    found = 0
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                if param["in"] == "query" and param["name"] == "limit" and path != "/api/v1/products/suggest":
                    branch = next(
                        b for b in param["schema"].get("anyOf", [param["schema"]]) if b["type"] == "integer"
                    )
                    assert (branch.get("minimum"), branch.get("maximum")) == (1, MAX_LIMIT), (method, path)
                    found += 1
    assert found >= 17


def test_every_list_cursor_names_its_format(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                if param["in"] == "query" and param["name"] == "cursor" and path != "/api/v1/search":
                    assert _string(param["schema"]).get("format", "").endswith("cursor"), (method, path)


@pytest.mark.parametrize(
    ("schema", "field", "limit"),
    [
        ("MePatch", "bio", BIO_MAX),
        ("MePatch", "display_name", DISPLAY_NAME_MAX),
        ("MePatch", "handle", HANDLE_MAX),
        ("MePatch", "location", LOCATION_MAX),
        ("SignupIn", "display_name", DISPLAY_NAME_MAX),
        ("AppealIn", "text", APPEAL_TEXT_MAX),
        ("ReportIn", "text", REPORT_TEXT_MAX),
    ],
)
def test_text_limits_are_the_services_constants(openapi, schema, field, limit):
    assert _string(_body(openapi, schema)[field])["maxLength"] == limit


@pytest.mark.parametrize(("schema", "low"), [("CartItemIn", 1), ("CartQuantityIn", 0), ("LineIn", 1)])
def test_quantity_range_is_the_services(openapi, schema, low):
    quantity = _body(openapi, schema)["quantity"]
    assert (quantity["minimum"], quantity["maximum"]) == (low, QUANTITY_MAX)


def test_every_request_string_refuses_nul(openapi):
    """Every string a JSON body names carries a pattern without NUL (the parser refuses NUL anywhere), and
    properties a schema does not name are documented NUL-free too."""
    checked = 0
    for name in (
        "MePatch",
        "SignupIn",
        "AppealIn",
        "ReportIn",
        "AddressIn",
        "CommentIn",
        "BoardIn",
        "NotePatch",
    ):
        component = openapi["components"]["schemas"][name]
        assert component["propertyNames"] == {"pattern": NO_NUL_PATTERN}, name
        for field, prop in component["properties"].items():
            try:
                branch = _string(prop)
            except AssertionError:
                continue
            if "enum" in branch or branch.get("format") in ("date", "binary"):
                continue
            pattern = branch.get("pattern")
            assert pattern, (name, field, branch)
            assert re.search(pattern, "ok") or re.search(pattern, "12345") or pattern != NO_NUL_PATTERN
            assert not re.search(pattern, "x\x00y"), (name, field, pattern)
            checked += 1
    assert checked > 15


def _error(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["field"] == field
    return body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, 0.0, "true", "false", None])
def test_is_private_is_a_strict_boolean(api_for, user, value):
    """``{"is_private": 0.0}`` used to be taken as false: the schema says boolean, so anything else is a 400 that
    changes nothing (null means "leave it", as for every optional field)."""
    User.objects.filter(pk=user.pk).update(is_private=True, bio="Before")
    client = api_for(user)
    response = client.patch(
        "/api/v1/me", {"is_private": value, "bio": "After"}, content_type="application/json"
    )
    user.refresh_from_db()
    if value is None:
        assert response.status_code == 200 and user.is_private is True and user.bio == "After"
        return
    _error(response, 400, "is_private")
    assert user.is_private is True and user.bio == "Before"


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, 0.0, "false"])
def test_board_private_is_a_strict_boolean(api_for, user, value):
    """``{"private": 0}`` used to create a public board: now a 400, and no board."""
    before = Board.objects.filter(owner=user).count()
    response = api_for(user).post(
        "/api/v1/boards", {"name": "Trips", "private": value}, content_type="application/json"
    )
    _error(response, 400, "private")
    assert Board.objects.filter(owner=user).count() == before


@pytest.mark.django_db
def test_strict_booleans_still_take_json_booleans(api_for, user):
    client = api_for(user)
    assert (
        client.patch("/api/v1/me", {"is_private": True}, content_type="application/json").status_code == 200
    )
    user.refresh_from_db()
    assert user.is_private is True
    response = client.post(
        "/api/v1/boards", {"name": "Trips", "private": True}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Board.objects.get(owner=user, name="Trips").is_private is True


@pytest.mark.django_db
def test_limits_refused_by_the_service_with_its_code(api_for, user):
    """The schema only states the limits: the service's translated message and code answer (one check)."""
    client = api_for(user)
    err = _error(
        client.patch("/api/v1/me", {"bio": "b" * (BIO_MAX + 1)}, content_type="application/json"), 400, "bio"
    )
    assert err["code"] == "too_long"
    err = _error(client.get(f"/api/v1/notes?limit={MAX_LIMIT + 1}"), 400, "limit")
    assert err["code"] == "bad_limit"


def _operation_body(openapi: dict, path: str, method: str, media: str) -> dict:
    return openapi["paths"][path][method]["requestBody"]["content"][media]


def test_reserved_handles_are_outside_the_handle_pattern(openapi, api_for, user):
    """A reserved handle (any case, spaces and "@" around) is refused by the service (400 ``handle_taken``) and
    the schema's pattern says so; a handle that merely starts like one is allowed by both."""
    from meadow.accounts.validation import RESERVED_HANDLES

    pattern = _string(_body(openapi, "MePatch")["handle"])["pattern"]
    for handle in RESERVED_HANDLES:
        for typed in (handle, f"  @{handle.upper()} ", handle.title()):
            assert re.search(pattern, typed) is None, typed
    assert re.search(pattern, "loginx") and re.search(pattern, " @Admin_2 ")

    client = api_for(user)
    refused = client.patch("/api/v1/me", {"handle": " @Login "}, "application/json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "handle_taken"
    user.refresh_from_db()
    assert user.handle != "login"
    assert client.patch("/api/v1/me", {"handle": "loginx"}, "application/json").status_code == 200


def test_patterns_end_where_the_text_ends(openapi):
    """Python's ``$`` (hypothesis', schemathesis' and jsonschema's) also matches before a final newline, ECMA's
    and the server's fullmatch do not: no pattern the API states lets a trailing newline through where the
    service refuses it (the cause of POST /orders refusing schema-valid phones on the contract run)."""
    from meadow.accounts.validation import normalize_phone_or_none
    from meadow.core.errors import ValidationFailed
    from meadow.core.redirects import local_path
    from meadow.store.services import PRICE_PATTERN, price_parse

    phone = _string(_body(openapi, "AddressIn")["phone"])["pattern"]
    assert re.search(phone, "012-345 6789") and normalize_phone_or_none("012-345 6789") == "+60123456789"
    for value in ("012-345 6789\n", "+60 12-345 6789 \n"):
        assert re.search(phone, value) is None and normalize_phone_or_none(value) is None, value
    assert re.search(PRICE_PATTERN, "29.90") and re.search(PRICE_PATTERN, "29.90\n") is None
    with pytest.raises(ValidationFailed):
        price_parse("29.90\n")
    return_url = _string(_body(openapi, "PaymentIn")["return_url"])["pattern"]
    assert re.search(return_url, "/orders/") and re.search(return_url, "/orders/\n") is None
    assert local_path("/orders/") == "/orders/" and local_path("/orders/\n") is None


def test_verification_form_states_the_services_rules(openapi):
    """The enterprise application's multipart body: the service's limits (one constant each), required text that
    is not blank, the phone rule as a pattern, and the licence required with the media types the service reads."""
    from meadow.business.models import COMPANY_NAME_MAX, CONTACT_NAME_MAX, REGISTRATION_NUMBER_MAX

    body = _operation_body(openapi, "/api/v1/business/verification", "post", "multipart/form-data")
    props = body["schema"]["properties"]
    for field, limit in (
        ("company_name", COMPANY_NAME_MAX),
        ("registration_number", REGISTRATION_NUMBER_MAX),
        ("contact_name", CONTACT_NAME_MAX),
    ):
        assert props[field]["maxLength"] == limit, field
        assert re.search(props[field]["pattern"], " \t ") is None, field
    assert "licence" in body["schema"]["required"]
    assert "application/pdf" in body["encoding"]["licence"]["contentType"]
    assert "image/jpeg" in body["encoding"]["licence"]["contentType"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("", ""),
        ("  ", ""),
        ("012-345 6789", "+60123456789"),
        ("+60 12-345 6789", "+60123456789"),
        (" +60 (3) 1234-5678 \n", "+60312345678"),
        ("60123456789", "+60123456789"),
        ("0123456", "+60123456"),  # 8 digits once written with +60: the shortest a local number may be
        ("012345", None),
        ("+1234567", None),
        ("+1234567890123456", None),
        ("00 60 12 345 6789", None),
        ("call me", None),
        ("012345678\x00", None),
    ],
)
def test_business_phone_pattern_is_the_services_rule(openapi, typed, stored):
    """What the schema's pattern allows the service stores (normalised), and what it refuses the service refuses
    with ``bad_phone``: one rule (BUSINESS_PHONE_PATTERN) read by both."""
    from meadow.business.services import phone_normalize
    from meadow.core.errors import ValidationFailed

    body = _operation_body(openapi, "/api/v1/business/verification", "post", "multipart/form-data")
    pattern = body["schema"]["properties"]["whatsapp"]["pattern"]
    if stored is None:
        assert re.search(pattern, typed) is None
        with pytest.raises(ValidationFailed) as refused:
            phone_normalize(typed, field="whatsapp")
        assert refused.value.code == "bad_phone"
    else:
        assert re.search(pattern, typed)
        assert phone_normalize(typed, field="whatsapp") == stored


def test_a_blank_display_name_at_sign_up_is_the_handle(db, anon):
    """The schema allows any text as ``display_name``; only whitespace counts as none (the handle stands in, as
    for an empty one) rather than a 400 the schema does not state."""
    response = anon.post(
        "/api/v1/auth/signup",
        {
            "handle": "blank_name",
            "email": "blank@example.com",
            "password": "blue meadow 2026",
            "agree_terms": True,
            "display_name": " \n\u000b",
        },
        "application/json",
    )
    assert response.status_code == 201, response.content
    assert User.objects.get(handle="blank_name").display_name == "blank_name"


def _hashtag_item(openapi: dict, component: str) -> dict:
    prop = _body(openapi, component)["hashtags"]
    array = next(branch for branch in prop.get("anyOf", [prop]) if branch.get("type") == "array")
    return array["items"]


HASHTAG_SAMPLES = [
    "",
    "travel",
    "#travel",
    "KL美食",
    "ＫＬ美食",
    "café",
    "cafe\u0301",
    "a" * 30,
    "#" + "a" * 30,
    "a" * 31,
    "太" * 30,
    "太" * 31,
    "no spaces!",
    " travel",
    "Nasi Lemak",
    " nasi  lemak ",
    "   ",
    "# travel",
    " #travel",
    "a b" * 10 + "c",
    "a b" * 10 + "cd",
    "\ttravel",
    "travel\u3000",
    "travel\n",
    "_travel",
    "-",
    "##travel",
    "a_b·c-d",
    "½",
    "ß" * 30,
    "\ufdfa" * 30,
    "tag#",
]


@pytest.mark.django_db
def test_a_hashtag_is_what_the_schema_pattern_says(openapi, api_for, user):
    """PATCH/POST /notes' ``hashtags`` items carry HASHTAG_PATTERN (notes' one rule, HASHTAG_NAME_MAX in it), and
    the service takes exactly the tags the schema's validator (ECMA 262, jsonschema_rs) allows: before, it
    judged a tag after normalising it, so the schema (any text) let "no spaces!" or 31 letters through."""
    import jsonschema_rs

    from meadow.core.errors import ValidationFailed
    from meadow.notes.models import HASHTAG_NAME_MAX, HASHTAG_PATTERN, Hashtag
    from meadow.notes.services import hashtags_collect
    from meadow.notes.tests.factories import NoteFactory

    assert str(HASHTAG_NAME_MAX - 1) in HASHTAG_PATTERN
    item = _hashtag_item(openapi, "NotePatch")
    assert item == {"type": "string", "pattern": HASHTAG_PATTERN}
    form = openapi["paths"]["/api/v1/notes"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form_items = form["schema"]["properties"]["hashtags"]["items"]
    assert form_items["pattern"] == HASHTAG_PATTERN
    validator = jsonschema_rs.validator_for(item)
    allowed = 0
    for tag in HASHTAG_SAMPLES:
        try:
            names = hashtags_collect(body="", given=[tag])
            accepted = True
        except ValidationFailed as refusal:
            assert refusal.code == "bad_hashtag" and refusal.field == "hashtags", tag
            accepted = False
        assert accepted == validator.is_valid(tag), tag
        if accepted and tag.strip():
            allowed += 1
            ((name, display),) = names
            assert (
                name
                and display
                and len(name) <= HASHTAG_NAME_MAX * 4
                and len(display) <= HASHTAG_NAME_MAX * 4
            )
    assert allowed >= 10

    note = NoteFactory(author=user)
    client = api_for(user)
    refused = client.patch(f"/api/v1/notes/{note.pk}", {"hashtags": ["a" * 31]}, "application/json")
    assert _error(refused, 400, "hashtags")["code"] == "bad_hashtag"
    assert not Hashtag.objects.filter(name="a" * 31).exists()
    ok = client.patch(
        f"/api/v1/notes/{note.pk}", {"hashtags": ["#" + "a" * 30, "ＫＬ美食"]}, "application/json"
    )
    assert ok.status_code == 200, ok.content
    assert sorted(ok.json()["hashtags"]) == sorted(["a" * 30, "KL美食"])


@pytest.mark.django_db
def test_product_images_state_how_many_parts_one_request_takes(openapi, api_for, user):
    """POST /products/{id}/images: ``images`` is 1 to MAX_PRODUCT_IMAGES parts (the service's constant). Before,
    the schema allowed an empty array, which multipart sends as no part at all and the server refuses."""
    from meadow.notes.tests.factories import jpeg
    from meadow.orders.tests.factories import make_shop, make_sku
    from meadow.store.models import MAX_PRODUCT_IMAGES, ProductImage

    body = _operation_body(openapi, "/api/v1/products/{product_id}/images", "post", "multipart/form-data")
    images = body["schema"]["properties"]["images"]
    assert (images["minItems"], images["maxItems"]) == (1, MAX_PRODUCT_IMAGES)
    assert body["schema"]["required"] == ["images"]

    user.is_verified_enterprise = True
    user.save(update_fields=["is_verified_enterprise"])
    product = make_sku(shop=make_shop(owner=user)).product
    client = api_for(user)
    url = f"/api/v1/products/{product.pk}/images"
    before = ProductImage.objects.filter(product=product).count()
    assert _error(client.post(url, {}), 400, "images")
    too_many = [jpeg(f"p{i}.jpg") for i in range(MAX_PRODUCT_IMAGES + 1)]
    assert _error(client.post(url, {"images": too_many}), 400, "images")["code"] == "too_many_images"
    assert ProductImage.objects.filter(product=product).count() == before
    ok = client.post(url, {"images": [jpeg("one.jpg")]})
    assert ok.status_code == 200, ok.content
    assert ProductImage.objects.filter(product=product).count() == before + 1


@pytest.mark.django_db
def test_message_images_state_media_types_counts_and_the_scanners_refusal(openapi, api_for, private_media):
    """POST /conversations/{id}/messages/images states what the service reads, as the notes and product uploads
    do: each part one of ACCEPTED_MEDIA_TYPES, 1 to MEADOW_MESSAGE_IMAGES_MAX parts. What the scanner finds in an
    image (a QR code leading off Meadow) is a state of the data: the contract expects 400 with ``image_refused``,
    and refusal_code_problem lets exactly that through."""
    from django.conf import settings

    from meadow.accounts.models import Follow
    from meadow.core.images import ACCEPTED_MEDIA_TYPES
    from meadow.messaging import services
    from meadow.messaging.models import Message
    from meadow.moderation.tests import imagegen
    from meadow.notes.tests.factories import jpeg
    from tests.api.test_schemathesis import STATE_REFUSALS, refusal_code_problem
    from tests.factories import UserFactory

    path = "/api/v1/conversations/{conversation_id}/messages/images"
    body = _operation_body(openapi, path, "post", "multipart/form-data")
    assert body["encoding"]["images"]["contentType"] == ", ".join(ACCEPTED_MEDIA_TYPES)
    images = body["schema"]["properties"]["images"]
    assert (images["minItems"], images["maxItems"]) == (1, settings.MEADOW_MESSAGE_IMAGES_MAX)

    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    conversation, _ = services.conversation_open(user=a, other=b)
    url = path.format(conversation_id=conversation.pk)
    client = api_for(a)
    too_many = [jpeg(f"p{i}.jpg") for i in range(settings.MEADOW_MESSAGE_IMAGES_MAX + 1)]
    refused = client.post(url, {"client_id": "many", "images": too_many})
    assert _error(refused, 400, "images")["code"] == "too_many_images"
    qr = imagegen.encode(imagegen.qr("https://wa.me/60123456789"))
    from django.core.files.uploadedfile import SimpleUploadedFile

    scanned = client.post(url, {"client_id": "qr", "images": [SimpleUploadedFile("qr.png", qr, "image/png")]})
    assert _error(scanned, 400, "images")["code"] == "image_refused"
    assert not Message.objects.exists()
    label = f"POST {path}"
    assert "image_refused" in STATE_REFUSALS[label].codes
    assert refusal_code_problem(label, positive=True, status_code=400, body=scanned.content) is None
    assert refusal_code_problem(label, positive=True, status_code=400, body=refused.content) is not None


@pytest.mark.django_db
def test_a_licence_that_is_not_its_format_is_a_state_refusal(api_for, user, private_media):
    """POST /business/verification: the schema states the licence's media types; bytes labelled application/pdf
    that are no PDF (what schemathesis' coverage phase sends) are refused with bad_file or bad_file_type, the
    codes STATE_REFUSALS names, so the contract's data checks run for this operation again; a refusal for
    another cause still fails refusal_has_its_code."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from meadow.business.tests.test_verification import FORM
    from tests.api.test_schemathesis import STATE_REFUSALS, refusal_code_problem

    label = "POST /api/v1/business/verification"
    client = api_for(user)
    url = "/api/v1/business/verification"
    for content in (b"%%EOF", b"GIF89a\x01\x00\x01\x00"):
        fake = SimpleUploadedFile("licence.pdf", content, "application/pdf")
        refused = client.post(url, {**FORM, "licence": fake})
        code = _error(refused, 400, "licence")["code"]
        assert code in STATE_REFUSALS[label].codes, code
        assert refusal_code_problem(label, positive=True, status_code=400, body=refused.content) is None
    blank = client.post(url, {**FORM, "company_name": " ", "licence": SimpleUploadedFile("l.pdf", b"%%EOF")})
    assert blank.status_code == 400
    assert refusal_code_problem(label, positive=True, status_code=400, body=blank.content) is not None


@pytest.mark.django_db
def test_note_media_location_and_product_ids_are_stated(openapi, api_for, user):
    """POST /notes states what ``note_publish`` takes: 1 to IMAGES_MAX ``images`` of the image types or one
    ``video`` (MP4/MOV) with an optional ``cover``, never both kinds; latitude and longitude together, as numbers
    (a form cannot send null); product ids an id column holds. Before, a 28-digit product id reached the
    database (an overflow on SQLite) and the schema let images and a video through together."""
    import jsonschema_rs

    from meadow.notes.models import IMAGES_MAX, Note
    from meadow.notes.tests.factories import NoteFactory, jpeg

    form = _operation_body(openapi, "/api/v1/notes", "post", "multipart/form-data")
    schema = form["schema"]
    assert form["encoding"]["video"]["contentType"] == "video/mp4, video/quicktime"
    assert form["encoding"]["images"]["contentType"] == form["encoding"]["cover"]["contentType"]
    images = schema["properties"]["images"]
    assert (images["minItems"], images["maxItems"]) == (1, IMAGES_MAX)
    assert schema["properties"]["latitude"]["type"] == "number"
    validator = jsonschema_rs.validator_for({**schema, "components": openapi["components"]})
    assert validator.is_valid({"images": [""]}) and validator.is_valid({"video": "", "cover": ""})
    assert not validator.is_valid({"images": [""], "video": ""})
    assert not validator.is_valid({"images": [""], "cover": ""})
    assert not validator.is_valid({"title": "no media"})
    assert not validator.is_valid({"images": [""], "latitude": 3.1})
    assert not validator.is_valid({"images": [""], "products": [10**27]})
    assert not validator.is_valid({"images": [""], "\x00": "x"})
    patch_items = openapi["components"]["schemas"]["NotePatch"]["properties"]["products"]["anyOf"][0]["items"]
    assert patch_items["maximum"] == 2**63 - 1

    client = api_for(user)
    before = Note.objects.count()
    huge = client.post(
        "/api/v1/notes", {"title": "Big id", "images": [jpeg("a.jpg")], "products": [str(10**27)]}
    )
    assert huge.status_code == 400, huge.content
    assert Note.objects.count() == before
    note = NoteFactory(author=user)
    edited = client.patch(f"/api/v1/notes/{note.pk}", {"products": [10**27]}, "application/json")
    assert edited.status_code == 400, edited.content
