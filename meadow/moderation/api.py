"""``POST /api/v1/moderation/check``: the composer asks, live, what a text trips and how to rewrite it."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from meadow.core.http import responses, token_or_session
from meadow.core.ratelimit import client_ip, rate_limit_hit
from meadow.moderation.engine import MAX_TEXT_LENGTH
from meadow.moderation.labels import hit_for_reader
from meadow.moderation.services import moderation_check

router = Router(tags=["moderation"])


class CheckIn(Schema):
    text: str = Field(max_length=MAX_TEXT_LENGTH)
    field: Literal["note", "comment", "bio", "username", "dm"] = "note"
    account: Literal["personal", "enterprise"] | None = None


class HitOut(Schema):
    category: str
    label: str = Field(description="The category in the request's language (category is the stable code).")
    start: int
    end: int
    match: str
    rule: str
    severity: str
    suggestion: str | None


class CheckOut(Schema):
    verdict: Literal["pass", "review", "block"]
    hits: list[HitOut]


@router.post(
    "/check", response=responses({200: CheckOut}), auth=token_or_session, url_name="moderation_check"
)
def check(request: HttpRequest, payload: CheckIn):
    """Check a text as it would be checked at publishing. Spans index the original text (``text[start:end]``).
    ``account`` defaults to the caller's kind (personal until the caller is a verified enterprise)."""
    rate_limit_hit(scope="moderation:account", key=str(request.user.pk))
    rate_limit_hit(scope="moderation:ip", key=client_ip(request))
    account = payload.account or "personal"
    result = moderation_check(text=payload.text, field=payload.field, account=account)
    # policy instructions and category names in the caller's language; spans and codes as the engine gives them
    return {"verdict": result.verdict, "hits": [hit_for_reader(h.to_dict()) for h in result.hits]}
