"""Property-based contract tests: every operation of /api/v1/openapi.json, as an anonymous caller and as a
signed-in one (a real bearer token), must never answer a server error and must match its documented responses
(status codes, content type, headers and body schema).

Hermetic: requests go in-process through Django's WSGI handler, inside the test's database transaction.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tempfile
import zlib
from typing import NamedTuple

import jsonschema_rs
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.config._operations import OperationsConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import (
    CaseMetadata,
    ComponentInfo,
    CoveragePhaseData,
    CoverageScenario,
    FuzzingPhaseData,
    GenerationInfo,
    PhaseInfo,
    TestPhase,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema
from schemathesis.transport.serialization import Binary

from conftest import bearer_client
from meadow.accounts.models import Follow, User
from meadow.accounts.services import _token_create
from meadow.core.pagination import encode_cursor
from meadow.distribution.selectors import discover_cursor_encode, nearby_cursor_encode
from meadow.notes.media import ffmpeg_exe
from meadow.search.backends import MAX_RESULTS, Cursor, cursor_encode
from tests.factories import UserFactory

# Refusals no schema can state: a rule between the caller and the path, credentials, a state of the data. For
# these operations only, positive_data_acceptance also expects the one status named (documented in the
# operation's responses) — and only with one of the error codes named: ``refusal_has_its_code`` checks the
# answer's ``error.code``, so an unrelated 400 (a limit the schema should state) still fails. Every other check,
# and every other operation, is unchanged.
POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' own default


class Refusal(NamedTuple):
    status: str
    codes: tuple[str, ...]
    reason: str


STATE_REFUSALS: dict[str, Refusal] = {
    "POST /api/v1/users/{handle}/follow": Refusal("400", ("follow_self",), "the handle is the caller's own"),
    "POST /api/v1/users/{handle}/block": Refusal("400", ("block_self",), "the handle is the caller's own"),
    "POST /api/v1/notes/{note_id}/follow": Refusal("400", ("follow_self",), "the caller wrote the note"),
    "POST /api/v1/auth/token": Refusal(
        "400",
        ("bad_credentials", "code_missing", "code_expired", "code_locked", "bad_code"),
        "bad_credentials: no account has this login and password (by design the same answer whether the login"
        " exists or not, issue #15); code_*: a phone sign-in needs the code sent to that phone (none asked for,"
        " expired, locked after wrong tries, or wrong)",
    ),
    "POST /api/v1/notes/{note_id}/completion": Refusal(
        "400", ("not_video",), "only a video note can be watched to the end"
    ),
    "POST /api/v1/payments/webhook": Refusal(
        "400",
        ("bad_signature",),
        "a delivery carries the gateway's HMAC of its raw body (Meadow-Signature), which generated data cannot;"
        " the operation documents no body to sign (signed deliveries: orders/tests/test_payments.py)",
    ),
    "POST /api/v1/payments": Refusal(
        "422",
        ("idempotency_key_reused",),
        "the Idempotency-Key was used before with another body (generation repeats keys)",
    ),
    "POST /api/v1/auth/signup": Refusal(
        "400",
        ("weak_password", "bad_code", "code_missing", "bad_email"),
        "weak_password: Django's password validators beyond the minimum length the schema states (common or"
        " all-digit passwords, too like the handle or e-mail); bad_code / code_missing: a phone sign-up needs the"
        " code sent to that phone; bad_email: Django's validate_email is stricter than format: email (a reserved"
        " handle is stated in the schema's pattern)",
    ),
    "POST /api/v1/cart/checkout": Refusal(
        "400", ("cart_empty",), "the caller's cart has nothing (of these SKUs) to buy"
    ),
    "POST /api/v1/shops/{shop_id}/products": Refusal(
        "400",
        ("duplicate_sku",),
        "two variants with the same name, ignoring letter case (default name 'Standard'); no JSON Schema keyword"
        " compares one property across array items (uniqueItems compares whole items exactly)",
    ),
    "PATCH /api/v1/products/{product_id}": Refusal(
        "400",
        ("duplicate_sku", "bad_sku"),
        "duplicate_sku as for POST; bad_sku: a variant id that is not one of this product's",
    ),
    "POST /api/v1/products/{product_id}/images": Refusal(
        "400",
        ("too_many_images",),
        "the product already holds its 9 images (generated uploads add up within a run)",
    ),
    "POST /api/v1/me/deletion": Refusal(
        "400",
        ("wrong_password", "required", "bad_code"),
        "the re-confirmation must be the account's own password, or its SMS code when it has no password",
    ),
    "POST /api/v1/notes": Refusal(
        "400",
        (
            "moderation_blocked",
            "product_unavailable",
            "too_many_products",
            "too_many_hashtags",
            "too_many_alts",
        ),
        "as for PATCH /notes/{note_id} (the text passes moderation; tagged products exist and may be tagged, at most"
        " MAX_TAGS_PER_NOTE distinct ones; at most 10 topics with the body's #tags); too_many_alts: at most one"
        " description per image (one for a video), a count between two fields no JSON Schema keyword compares",
    ),
    "PATCH /api/v1/notes/{note_id}": Refusal(
        "400",
        ("moderation_blocked", "product_unavailable", "too_many_products", "too_many_hashtags"),
        "an edited text goes through the moderation engine (generated text can spell a phone number), and"
        " product tags must name products that exist and may be tagged (product_unavailable; bad_product, named"
        " here before, answers only a product that is not an integer, which the schema refuses), at most"
        " MAX_TAGS_PER_NOTE distinct ones (too_many_products: repeated ids are dropped, and no JSON Schema keyword"
        " counts distinct items); too_many_hashtags: at most 10 topics"
        ' counted after normalisation ("Tag" and "#tag" are one) together with the body\'s #tags, which no'
        " JSON Schema keyword counts (each tag's own rule is the items' pattern)",
    ),
    "PUT /api/v1/me/away-message": Refusal(
        "400",
        ("hours_pair", "hours_order", "bad_time_zone", "required", "moderation_blocked"),
        "rules between fields: opening and closing times both or neither, opening before closing, a text when"
        " it is on; a time zone from the tz database; the text passes the moderation engine",
    ),
    "POST /api/v1/messages/ask": Refusal("400", ("own_item",), "the note or product is the caller's own"),
    "POST /api/v1/orders": Refusal(
        "400",
        ("quantity_total",),
        "lines naming the same SKU add up, and one SKU takes at most QUANTITY_MAX in an order (no JSON Schema"
        " keyword sums one property across array items)",
    ),
    "POST /api/v1/conversations": Refusal("400", ("self",), "the handle is the caller's own"),
    "POST /api/v1/push/subscriptions": Refusal(
        "400",
        ("invalid",),
        "the browser's p256dh key must be a point on P-256, which no JSON Schema keyword states; a plain http"
        " endpoint is refused unless MEADOW_PUSH_ALLOW_HTTP, and so is a host that is not a browser's push service"
        " (MEADOW_PUSH_SERVICES: settings, not schema rules)",
    ),
    "POST /api/v1/conversations/{conversation_id}/messages": Refusal(
        "400",
        ("moderation_blocked", "required"),
        "moderation_blocked: the text is refused by the moderation engine (a redirect, in a request); or"
        " required: neither text nor a card",
    ),
    "POST /api/v1/conversations/{conversation_id}/messages/images": Refusal(
        "400",
        ("image_refused", "moderation_blocked"),
        "image_refused: the scanner reads what an image shows (a QR code leading off Meadow, explicit content);"
        " moderation_blocked: the text is refused by the moderation engine, as for text messages",
    ),
    "POST /api/v1/business/verification": Refusal(
        "400",
        ("bad_file", "bad_file_type"),
        "the licence part's bytes are not the format its label names (no JSON Schema keyword reads a file's"
        " content): schemathesis' coverage phase sends parts labelled application/pdf or image/* with bytes of"
        " its own (b'%%EOF', a GIF), not from the media-type strategies registered below, which the generation"
        " phase uses; the schema states the media types, the service reads the content (bad_image likewise)",
    ),
    "POST /api/v1/conversations/groups": Refusal(
        "400",
        ("too_few", "too_many"),
        "a group holds 3 to MEADOW_MESSAGE_GROUP_MAX people, counted after the caller's own handle and repeated"
        " handles are dropped (no JSON Schema keyword counts distinct items but one)",
    ),
    "POST /api/v1/conversations/{conversation_id}/members": Refusal(
        "400",
        ("not_group", "too_many"),
        "not_group: the conversation is a direct one; too_many: the group would pass MEADOW_MESSAGE_GROUP_MAX",
    ),
    "DELETE /api/v1/conversations/{conversation_id}/members/{handle}": Refusal(
        "400", ("not_group",), "the conversation is a direct one"
    ),
    "POST /api/v1/conversations/{conversation_id}/leave": Refusal(
        "400", ("not_group",), "the conversation is a direct one"
    ),
    "POST /api/v1/ads/campaigns": Refusal(
        "400",
        (
            "bad_creative",
            "one_creative",
            "bid_below_reserve",
            "bid_above_budget",
            "budget_order",
            "bad_schedule",
            "bad_targeting",
            "amount_too_small",
        ),
        "the creative must be one of the caller's published notes or products on sale (exactly one); rules"
        " between fields: reserve (MEADOW_ADS_RESERVE_PRICE, a setting) ≤ bid ≤ daily budget ≤ total budget,"
        " ends after it starts; interests and states must name known categories and Malaysian state codes;"
        " budgets at least 1.00 (a money string's value, which no string keyword compares)",
    ),
    "PATCH /api/v1/ads/campaigns/{campaign_id}": Refusal(
        "400",
        (
            "bad_creative",
            "one_creative",
            "bid_below_reserve",
            "bid_above_budget",
            "budget_order",
            "budget_spent",
            "bad_targeting",
            "amount_too_small",
            "bad_name",
        ),
        "as for POST /ads/campaigns, against the campaign's current values; the total may not go below the spend",
    ),
    "POST /api/v1/ads/clicks": Refusal(
        "400", ("bad_token",), "the token is signed by the server for one served ad and reader"
    ),
    "POST /api/v1/moderation/campaigns/{campaign_id}/decision": Refusal(
        "400", ("reason_required",), "a rejection needs a non-blank reason"
    ),
    "PATCH /api/v1/conversations/groups/{conversation_id}": Refusal(
        "400",
        ("not_group", "moderation_blocked"),
        "not_group: the conversation is a direct one; moderation_blocked: the new name is refused by the"
        " moderation engine, as a new group's name",
    ),
}


def refusal_code_problem(label: str, *, positive: bool, status_code: int, body: bytes) -> str | None:
    """What is wrong with a positive case's answer that positive_data_acceptance let through as a state refusal:
    its status is the refusal's but its ``error.code`` is none of the codes named for the operation."""
    refusal = STATE_REFUSALS.get(label)
    if refusal is None or not positive:
        return None
    if str(status_code) != refusal.status:
        return None
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if code in refusal.codes:
        return None
    return (
        f"{label} answered {status_code} with error code {code!r}; as a state refusal only"
        f" {', '.join(refusal.codes)} are expected (any other is data the schema should refuse)"
    )


@schemathesis.check
def refusal_has_its_code(ctx, response, case) -> bool | None:
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    problem = refusal_code_problem(
        case.operation.label, positive=positive, status_code=response.status_code, body=response.content
    )
    if problem:
        raise AssertionError(problem)
    return None


def _expected_refusals() -> OperationsConfig:
    return SchemathesisConfig.from_dict(
        {
            "operations": [
                {
                    "include-name": label,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": [*POSITIVE_DEFAULT, refusal.status]}
                    },
                }
                for label, refusal in STATE_REFUSALS.items()
            ]
        }
    ).projects.default.operations


# Two generator bugs of schemathesis 4.32.5, worked around here narrowly (each with a test below that shows what
# it changes and what it leaves alone); neither skips an operation or a check.
#
MULTIPART = "multipart/form-data"

# 1. A lone part for an array of files. For a multipart property that is an array of files with an ``encoding``
#    whose media types have a registered strategy (``images``: image/jpeg, …), both the coverage phase ("Multipart
#    body with custom encoding") and the generation phase put ONE value in the body, not a list; the serializer
#    then sends that lone value as a part without a filename, which every server (Django included) reads as a
#    text field, not a file: 'images: This field is required.' for a case labelled positive. One part named
#    ``images`` is exactly how a one-item array travels in multipart, so the wire fix is to send the lone value as
#    the one item it is (with the filename every other item gets). Only a non-list value of an array-of-files
#    property changes; the case's body and labels are untouched.


def _is_file(schema: object) -> bool:
    return isinstance(schema, dict) and (
        schema.get("format") == "binary" or schema.get("contentMediaType") == "application/octet-stream"
    )


def file_array_properties(operation, media_type: str) -> set[str]:
    """The form properties of ``operation``'s ``media_type`` body that are arrays of files."""
    body = operation.get_body_for_media_type(media_type)
    properties = body.form_properties if body is not None else {}
    return {
        name
        for name, prop in properties.items()
        if isinstance(prop, dict) and prop.get("type") == "array" and _is_file(prop.get("items"))
    }


def lone_file_parts_as_lists(operation, form_data: dict, media_type: str) -> dict:
    """``form_data`` with each lone value of an array-of-files property as a one-item list."""
    arrays = file_array_properties(operation, media_type)
    return {
        name: [value] if name in arrays and not isinstance(value, list) else value
        for name, value in form_data.items()
    }


_prepare_multipart = OpenApiSchema.prepare_multipart


def _prepare_multipart_lone_files_fixed(self, form_data, operation, media_type, selected_content_types=None):
    form_data = lone_file_parts_as_lists(operation, form_data, media_type)
    return _prepare_multipart(self, form_data, operation, media_type, selected_content_types)


OpenApiSchema.prepare_multipart = _prepare_multipart_lone_files_fixed  # type: ignore[method-assign]


# 2. Bodies the schema refuses, labelled positive. The coverage phase's "Multipart body with custom encoding" step
#    puts a generated value in EVERY property that has an encoding with a registered strategy, and an empty
#    placeholder ("" for text) in every other required property, whatever the schema says; it labels that body
#    positive and makes it the template body of the operation's other positive coverage cases too (a boundary
#    value of a path parameter, say). So: ``company_name: ""`` where the schema's pattern refuses blank, or a
#    note with ``images`` AND ``video`` where the schema says one of them (oneOf). Schemathesis relabels an edited
#    case by validating it, but never validates a body that holds bytes, so the label stays wrong.
#    ``body_label_fixed`` does that validation: for a positive coverage-phase multipart case, the body as it goes
#    on the wire (a lone value of an array of files as its one item, see 1.) with each file's bytes replaced by a
#    string (what ``format: binary`` is) is validated against the body's schema; if the schema refuses it, the
#    case is negative (so negative_data_rejection checks that the server refuses it). A body the schema allows,
#    and every case of the other phases (their bodies follow the schema), keep their label.


def _file_stand_ins(value):
    if isinstance(value, bytes | Binary):
        return ""
    if isinstance(value, list):
        return [_file_stand_ins(item) for item in value]
    return value


def refused_body(case) -> bool:
    """Whether ``case`` is a positive coverage-phase multipart case whose body its schema refuses."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return False
    if not isinstance(meta.phase.data, CoveragePhaseData) or case.media_type != MULTIPART:
        return False
    body = case.operation.get_body_for_media_type(case.media_type)
    if body is None or not body.definition.get("encoding"):
        return False
    wire = lone_file_parts_as_lists(case.operation, case.body, case.media_type)
    stand_in = {name: _file_stand_ins(value) for name, value in wire.items()}
    return not jsonschema_rs.validator_for(body.validation_schema).is_valid(stand_in)


def body_label_fixed(case) -> bool:
    """Label ``case`` negative if its body is one the schema refuses (see above); whether it did."""
    if not refused_body(case):
        return False
    case.meta.components[ParameterLocation.BODY] = ComponentInfo(mode=GenerationMode.NEGATIVE)
    case.meta.generation.mode = GenerationMode.NEGATIVE
    return True


full_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
# Set after loading: given to the loader, the ``[[operations]]`` entries also become its operation filter, which
# then admits every operation whatever ``include()`` says.
full_schema.config.operations = _expected_refusals()
schema = full_schema
if os.environ.get("MEADOW_CONTRACT_PATHS"):  # a regex, to work on a few operations: never set in CI
    schema = full_schema.include(path_regex=os.environ["MEADOW_CONTRACT_PATHS"])

load_all_checks()

# Generators for the formats the schema names. A cursor is an opaque token from ``next_cursor``: its pattern
# states exactly which tokens are well formed (the server takes every one), these make them from real values.
schemathesis.openapi.format("cursor", st.integers(min_value=0, max_value=10**18 - 1).map(encode_cursor))
schemathesis.openapi.format(
    "discover-cursor",
    st.tuples(st.from_regex(r"\A[0-9]{12}\Z"), st.integers(0, 999)).map(lambda p: discover_cursor_encode(*p)),
)
schemathesis.openapi.format("nearby-cursor", st.integers(0, 999).map(nearby_cursor_encode))
schemathesis.openapi.format(
    "search-cursor",
    st.builds(Cursor, offset=st.integers(0, MAX_RESULTS + 5), now=st.integers(0, 2**33)).map(cursor_encode),
)


def _image(fmt: str):
    """Real, small images (the content the server reads; the part's media type alone says nothing)."""

    def encode(args: tuple[int, int, tuple[int, int, int]]) -> bytes:
        width, height, colour = args
        out = io.BytesIO()
        Image.new("RGB", (width, height), colour).save(out, fmt)
        return out.getvalue()

    colour = st.tuples(*[st.integers(0, 255)] * 3)
    return st.tuples(st.integers(1, 64), st.integers(1, 64), colour).map(encode)


# Image parts (the operations' multipart ``encoding`` names image/jpeg, image/png, …): positive cases send real
# images; negative cases keep schemathesis' random bytes, which the server refuses (400 bad_image).
schemathesis.openapi.media_type("image/jpeg", _image("JPEG"))
schemathesis.openapi.media_type("image/png", _image("PNG"))


def _pdf(text: str) -> bytes:
    """A small, complete PDF (one page with ``text``): the licence parts' application/pdf."""
    stream = f"BT /F1 12 Tf 20 40 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 80] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _mp4(seconds: int, size: str) -> bytes:
    """A real, short MP4 (ffmpeg's test pattern) made with the ffmpeg imageio-ffmpeg ships, as the notes tests do."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.mp4")
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc=size={size}:rate=5:duration={seconds}", "-pix_fmt", "yuv420p", "-c:v", "mpeg4", path],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        with open(path, "rb") as clip:
            return clip.read()


# Video parts (POST /notes ``video``: video/mp4, video/quicktime): positive cases send one of two real clips, made
# once per test process (ffmpeg per example would cost more than the request); the server probes the content.
_CLIPS = [_mp4(1, "64x48"), _mp4(2, "48x64")]
schemathesis.openapi.media_type("video/mp4", st.sampled_from(_CLIPS))
schemathesis.openapi.media_type("application/pdf", st.from_regex(r"\A[A-Za-z0-9 ]{0,40}\Z").map(_pdf))
ALL_CHECKS = (
    CHECKS.get_all()
)  # ``--checks all``: positive_data_acceptance and negative_data_rejection included


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through a plain WSGIHandler, which closes the database connection at the end of each
    request (``close_old_connections``); inside the test's transaction that would close it under the test.
    Django's own test client detaches that handler the same way while it runs a request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


DATA_CHECKS = ("positive_data_acceptance", "negative_data_rejection")

# Operations whose accepted data the schema does not state exactly yet: they run every check but the ones named.
# Each is a defect to fix, not a pass, with the cause found by reading its failures (2026-12-07); an operation
# not listed here (every new endpoint) runs all checks. Down from 20: phones, birthdays, payments' return_url, the
# address rules, latitude with longitude and the refusal's reason are now stated in the schema (issue #15).
_IMAGE = "multipart upload: the server reads a real image; the schema says only a binary file"
_ONE_OF = "a rule between fields (one of two required, or both or neither) that the schema does not state"
KNOWN_GAPS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Found 2026-12-07 (PostgreSQL run, 20 examples): a hashtag whose letters include a code point unassigned in
    # the server's Unicode tables (U+20F4, U+20FE) matches HASHTAG_PATTERN for the generator and jsonschema_rs
    # (\p{M} from a newer Unicode) but not for the server's ``regex``, which answers 400 bad_hashtag. The fix
    # belongs in the pattern (not depend on the Unicode version); until then only the code check is skipped
    # (positive_data_acceptance and every other check still run; the media rules are stated and checked).
    # Found by the clean-clone CI of 2026-12-07: a negative case that mutates a text field's type (``body`` an
    # object) is sent as multipart, where every value is text, so the server rightly takes it: negative by label
    # only. Until the harness relabels such multipart type mutations, negative_data_rejection is skipped here
    # (positive_data_acceptance and every other check still run).
    "POST /api/v1/notes": (
        "bad_hashtag for code points the server's Unicode tables do not assign (pattern vs. Unicode version);"
        " a multipart type mutation (an object for a text field) is text on the wire, negative by label only",
        ("refusal_has_its_code", "negative_data_rejection"),
    ),
}


def test_known_gaps_name_real_operations_and_checks():
    operations = {result.ok().label for result in full_schema.get_all_operations()}
    names = {check.__name__ for check in ALL_CHECKS}
    for label, (reason, checks) in KNOWN_GAPS.items():
        assert label in operations, label
        assert reason and set(checks) <= names, label


def test_expected_refusals_apply_to_their_operation_only():
    """Each STATE_REFUSALS entry names a real operation and adds its one status to positive_data_acceptance
    there; any other operation keeps schemathesis' default."""
    operations = {result.ok().label: result.ok() for result in full_schema.get_all_operations()}
    for label, (status, codes, reason) in STATE_REFUSALS.items():
        assert label in operations and codes and reason, label
        checks = full_schema.config.checks_config_for(operation=operations[label])
        assert checks.positive_data_acceptance.expected_statuses == [*POSITIVE_DEFAULT, status], label
    assert "refusal_has_its_code" in {check.__name__ for check in ALL_CHECKS}
    other = operations["GET /api/v1/me"]
    default = full_schema.config.checks_config_for(operation=other).positive_data_acceptance.expected_statuses
    assert "400" not in default


def test_a_state_refusal_must_carry_one_of_its_codes(graph, anon):
    """The refusal's own code passes; a 400 with another code (here a real answer of another cause) fails, and so
    does an answer without the error shape. Negative cases and other statuses are not this check's business."""
    me = graph["me"]
    follow = "POST /api/v1/users/{handle}/follow"
    own = bearer_client(me).post(f"/api/v1/users/{me.handle}/follow")
    assert own.status_code == 400 and own.json()["error"]["code"] == "follow_self"
    assert refusal_code_problem(follow, positive=True, status_code=400, body=own.content) is None

    wrong = anon.post(
        "/api/v1/auth/token", {"login": "nobody_here", "password": "x" * 12}, "application/json"
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "bad_credentials"
    problem = refusal_code_problem(follow, positive=True, status_code=400, body=wrong.content)
    assert problem and "'bad_credentials'" in problem and "follow_self" in problem
    assert refusal_code_problem(follow, positive=True, status_code=400, body=b"<html>") is not None

    assert refusal_code_problem(follow, positive=False, status_code=400, body=wrong.content) is None
    assert refusal_code_problem(follow, positive=True, status_code=409, body=wrong.content) is None
    assert refusal_code_problem("GET /api/v1/me", positive=True, status_code=400, body=wrong.content) is None


def test_only_a_lone_value_of_an_array_of_files_becomes_a_list():
    """Workaround 1 touches a non-list value of an array-of-files property only: a list stays as it is, and so do
    a single-file property (the licence), text fields and an array of text (a note's hashtags)."""
    images = _operation("POST", "/api/v1/products/{product_id}/images")
    assert file_array_properties(images, MULTIPART) == {"images"}
    assert lone_file_parts_as_lists(images, {"images": b"jpeg"}, MULTIPART) == {"images": [b"jpeg"]}
    assert lone_file_parts_as_lists(images, {"images": [b"a", b"b"]}, MULTIPART) == {"images": [b"a", b"b"]}
    licence = _operation("POST", "/api/v1/business/verification")
    assert file_array_properties(licence, MULTIPART) == set()
    form = {"licence": b"%PDF", "company_name": "Ken Sdn Bhd"}
    assert lone_file_parts_as_lists(licence, form, MULTIPART) == form
    note = _operation("POST", "/api/v1/notes")
    assert "hashtags" not in file_array_properties(note, MULTIPART)
    assert lone_file_parts_as_lists(note, {"hashtags": "tea"}, MULTIPART) == {"hashtags": "tea"}


def test_a_lone_image_part_arrives_as_a_file(world):
    """What schemathesis generates for ``images`` (one value, not a list) reaches Django as one uploaded file with
    a filename, so a positive case is accepted (before the workaround: 400 'images: This field is required.')."""
    from meadow.store.models import ProductImage

    product_id = world["ids"]["product_id"][0]
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(jpeg, "JPEG")
    case = _operation("POST", "/api/v1/products/{product_id}/images").Case(
        path_parameters={"product_id": product_id},
        body={"images": jpeg.getvalue()},
        media_type=MULTIPART,
        multipart_content_types={"images": "image/jpeg"},
    )
    owner = world["users"]["owner"]
    before = ProductImage.objects.filter(product_id=product_id).count()
    response = case.call(headers={"Authorization": f"Bearer {_token_create(user=owner)}"})
    assert response.status_code == 200, response.text
    assert ProductImage.objects.filter(product_id=product_id).count() == before + 1


def _labelled(operation, body: dict, *, phase: PhaseInfo, content_types: dict[str, str]):
    meta = CaseMetadata(
        generation=GenerationInfo(time=0.0, mode=GenerationMode.POSITIVE),
        components={ParameterLocation.BODY: ComponentInfo(mode=GenerationMode.POSITIVE)},
        phase=phase,
    )
    return operation.Case(body=body, media_type=MULTIPART, multipart_content_types=content_types, _meta=meta)


def test_only_coverage_bodies_the_schema_refuses_turn_a_case_negative():
    """Workaround 2: a positive coverage case whose body the schema refuses (the step's "" placeholders where a
    pattern refuses blank; a note with images and a video) is negative; the same body from another phase, a body
    with real values, a "" the schema allows and a lone image for an array of images are left positive."""
    verification = _operation("POST", "/api/v1/business/verification")
    coverage = PhaseInfo.coverage(CoverageScenario.EXAMPLE_VALUE, "Multipart body with custom encoding")
    pdf = {"licence": "application/pdf"}
    placeholders = {
        "company_name": "",
        "registration_number": "",
        "category": "",
        "contact_name": "",
        "licence": _pdf("x"),
    }
    case = _labelled(verification, placeholders, phase=coverage, content_types=pdf)
    assert body_label_fixed(case)
    assert case.meta.generation.mode.is_negative
    assert case.meta.components[ParameterLocation.BODY].mode.is_negative

    fuzzing = PhaseInfo(
        name=TestPhase.FUZZING,
        data=FuzzingPhaseData(description=None, parameter=None, parameter_location=None, location=None),
    )
    case = _labelled(verification, placeholders, phase=fuzzing, content_types=pdf)
    assert not body_label_fixed(case) and case.meta.generation.mode.is_positive

    real = {**placeholders, "company_name": "Ken", "registration_number": "2024", "category": "food"}
    case = _labelled(verification, {**real, "contact_name": "Ken"}, phase=coverage, content_types=pdf)
    assert not body_label_fixed(case) and case.meta.generation.mode.is_positive

    # ``text`` may be empty (its pattern allows ""); one image for the array of images is one item.
    message = _operation("POST", "/api/v1/conversations/{conversation_id}/messages/images")
    body = {"images": b"jpeg", "client_id": "c1", "text": ""}
    case = _labelled(message, body, phase=coverage, content_types={"images": "image/jpeg"})
    assert not body_label_fixed(case) and case.meta.generation.mode.is_positive

    note = _operation("POST", "/api/v1/notes")
    both = {"images": b"jpeg", "video": _CLIPS[0], "cover": b"png"}
    media = {"images": "image/jpeg", "video": "video/mp4", "cover": "image/png"}
    case = _labelled(note, both, phase=coverage, content_types=media)
    assert body_label_fixed(case) and case.meta.generation.mode.is_negative
    case = _labelled(note, {"video": _CLIPS[0], "cover": b"png"}, phase=coverage, content_types=media)
    assert not body_label_fixed(case) and case.meta.generation.mode.is_positive


@pytest.fixture
def world(db):
    """Objects that exist, owned by the *owner*, so generated calls with real ids reach the code behind the
    404s: a published note with a comment, a board, a verified seller's shop with a product and SKU, an
    address of the other user's and the other user's order for the SKU. Two accounts: the owner, and the
    other user (a stranger to everything the owner has, except the order it placed)."""
    from meadow.engagement.models import Board
    from meadow.engagement.services import comment_create
    from meadow.notes.tests.factories import NoteFactory
    from meadow.orders.services import address_create, order_place
    from meadow.orders.tests.factories import ADDRESS, make_shop, make_sku

    owner = UserFactory(handle="contract_owner", bio="Contract tests.", is_verified_enterprise=True)
    other = UserFactory(handle="contract_other")
    note = NoteFactory(author=owner)
    comment = comment_create(author=other, note=note, body="Nice.")  # the service keeps the note's counts
    board = Board.objects.create(owner=owner, name="Contract board")
    sku = make_sku(shop=make_shop(owner=owner), stock=10_000)
    address = address_create(user=other, data=ADDRESS)
    checkout = order_place(buyer=other, items=[{"sku": sku.pk, "quantity": 1}], address=address.pk)
    order = checkout.orders.get()
    return {
        "users": {"owner": owner, "other": other},
        # Path parameters by name, for every operation that has them (new endpoints included).
        "ids": {
            "handle": [owner.handle, other.handle],
            "note_id": [note.pk],
            "comment_id": [comment.pk],
            "board_id": [board.pk],
            "shop_id": [sku.product.shop_id],
            "product_id": [sku.product_id],
            "sku_id": [sku.pk],
            "address_id": [address.pk],
            "order_id": [order.pk],
        },
    }


@pytest.fixture(params=["anonymous", "owner", "other"])
def caller(request, world):
    """Headers for the caller: nobody, the owner of the seeded objects, or another signed-in user. Each case
    gets a fresh token, because a generated ``DELETE /auth/token`` legitimately revokes the one it carries."""
    if request.param == "anonymous":
        return lambda: {}
    account = world["users"][request.param]
    return lambda: {"Authorization": f"Bearer {_token_create(user=account)}"}


def _with_existing_ids(case, ids: dict) -> None:
    """Point about half of the *positive* cases at objects that exist (chosen from the generated value, so a
    run is reproducible). Negative cases keep what was generated: the mutation is what they test."""
    if case.meta is None or not case.meta.generation.mode.is_positive or not case.path_parameters:
        return
    for name, value in list(case.path_parameters.items()):
        choices = ids.get(name)
        if choices and zlib.crc32(str(value).encode()) % 2 == 0:
            case.path_parameters[name] = choices[len(str(value)) % len(choices)]


# 50 generated examples per operation and caller (issue #15); MEADOW_CONTRACT_EXAMPLES changes it (.ci/run uses
# fewer on the PostgreSQL run, which repeats the same contract).
EXAMPLES = int(os.environ.get("MEADOW_CONTRACT_EXAMPLES", "50"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_contract(case, caller, world):
    """Every check schemathesis has (``--checks all``): no server error, responses as documented, and data the
    schema allows is accepted (positive_data_acceptance) while data it refuses is refused
    (negative_data_rejection). An operation in KNOWN_GAPS skips only the checks listed there."""
    _with_existing_ids(case, world["ids"])
    body_label_fixed(case)
    gap = KNOWN_GAPS.get(case.operation.label)
    skipped = set(gap[1]) if gap else set()
    checks = [check for check in ALL_CHECKS if check.__name__ not in skipped]
    case.call_and_validate(headers=caller(), checks=checks)


def _operation(method: str, path: str):
    return schema[path][method]


@pytest.fixture
def graph(db):
    """A small social graph, so the explicit cases below reach the success responses (generated handles
    mostly answer 404): a public star with followers, a private account with a pending request."""
    me = UserFactory(handle="contract_me")
    star = UserFactory(handle="contract_star")
    private = UserFactory(handle="contract_private", is_private=True)
    fans = [UserFactory(handle=f"contract_fan{i}") for i in range(3)]
    Follow.objects.bulk_create([Follow(follower=fan, followee=star) for fan in fans])
    User.objects.filter(pk=star.pk).update(followers_count=3)
    Follow.objects.create(follower=star, followee=me, status=Follow.Status.PENDING)
    User.objects.filter(pk=me.pk).update(is_private=True)
    return {"me": me, "star": star, "private": private}


EXPLICIT_CASES = [
    ("GET", "/api/v1/me", {}, {}, None, 200),
    (
        "PATCH",
        "/api/v1/me",
        {},
        {},
        {"bio": "Contract bio 🌿", "location": "KL", "birthday": "1999-12-31"},
        200,
    ),
    ("GET", "/api/v1/me/follow-requests", {}, {"limit": 1}, None, 200),
    (
        "POST",
        "/api/v1/me/follow-requests/{handle}/{decision}",
        {"handle": "contract_star", "decision": "accept"},
        {},
        None,
        200,
    ),
    ("GET", "/api/v1/users/{handle}", {"handle": "contract_star"}, {}, None, 200),
    ("GET", "/api/v1/users/{handle}/followers", {"handle": "contract_star"}, {"limit": 2}, None, 200),
    ("GET", "/api/v1/users/{handle}/following", {"handle": "contract_fan0"}, {}, None, 200),
    ("GET", "/api/v1/users/{handle}/followers", {"handle": "contract_private"}, {}, None, 403),
    ("POST", "/api/v1/users/{handle}/follow", {"handle": "contract_star"}, {}, None, 200),
    ("POST", "/api/v1/users/{handle}/follow", {"handle": "contract_private"}, {}, None, 200),
    ("DELETE", "/api/v1/users/{handle}/follow", {"handle": "contract_star"}, {}, None, 200),
    ("POST", "/api/v1/users/{handle}/block", {"handle": "contract_fan1"}, {}, None, 200),
    ("DELETE", "/api/v1/users/{handle}/block", {"handle": "contract_fan1"}, {}, None, 200),
    ("POST", "/api/v1/users/{handle}/follow", {"handle": "contract_me"}, {}, None, 400),
    (
        "POST",
        "/api/v1/auth/token",
        {},
        {},
        {"login": "contract_star", "password": "correct horse battery"},
        200,
    ),
    ("POST", "/api/v1/auth/phone/code", {}, {}, {"phone": "+60 12-345 0777"}, 202),
    (
        "POST",
        "/api/v1/auth/signup",
        {},
        {},
        {
            "handle": "contract_new",
            "email": "cn@example.com",
            "password": "blue meadow 2026",
            "agree_terms": True,
        },
        201,
    ),
    ("DELETE", "/api/v1/auth/token", {}, {}, None, 204),
]


@pytest.mark.parametrize(
    ("method", "path", "path_parameters", "query", "body", "status"),
    EXPLICIT_CASES,
    ids=[f"{c[0]} {c[1]} {c[5]}" for c in EXPLICIT_CASES],
)
def test_success_responses_match_the_schema(graph, method, path, path_parameters, query, body, status):
    """Real, successful calls (the responses property-based generation rarely reaches) match the schema."""
    operation = _operation(method, path)
    kwargs = {"path_parameters": path_parameters, "query": query}
    if body is not None:
        kwargs["body"] = body
    case = operation.Case(**kwargs)
    headers = {"Authorization": f"Bearer {_token_create(user=graph['me'])}"}
    response = case.call_and_validate(headers=headers, checks=ALL_CHECKS)
    assert response.status_code == status, response.text
