"""Enforcement endpoints: the caller's account status, reports, appeals, and moderators' decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from meadow.core.errors import NotFound, PermissionDenied
from meadow.core.http import ModerationHitOut, responses, token_or_session
from meadow.core.schema import Limits, NonBlankText, Text
from meadow.enforcement import selectors, services
from meadow.enforcement.models import Appeal, ReviewItem, Sanction, Violation
from meadow.moderation.labels import hit_for_reader

router = Router(tags=["enforcement"])


# --- shapes -----------------------------------------------------------------------------------------------------
class SanctionOut(Schema):
    id: int
    kind: Literal["warning", "visibility_limit", "posting_ban", "suspension"]
    label: str
    starts_at: datetime
    ends_at: datetime | None = Field(description="null: permanent")
    active: bool
    violation_id: int | None
    note_id: int | None = Field(description="set: a limit on this note only; null: on the account")
    lifted_at: datetime | None


class EvidenceOut(Schema):
    text: str | None = None
    field: str | None = None
    hits: list[ModerationHitOut] = []
    image: str | None = None
    reason: str | None = None  # the moderator's note, when a moderator decided


class AppealOut(Schema):
    id: int
    violation_id: int
    state: Literal["pending", "upheld", "rejected"]
    text: str
    response: str
    created_at: datetime
    decided_at: datetime | None


class ViolationOut(Schema):
    id: int
    type: Literal["behaviour", "content", "channel"]
    category: str
    rule: str
    severity: str
    source: str
    evidence: EvidenceOut
    created_at: datetime
    voided: bool
    appeal: AppealOut | None
    can_appeal: bool


class StatusOut(Schema):
    state: Literal["ok", "limited", "posting_banned", "suspended"]
    sanctions: list[SanctionOut] = Field(description="in force now")
    history: list[SanctionOut] = Field(description="every sanction, newest first (at most 100)")
    violations: list[ViolationOut] = Field(description="newest first (at most 100)")


def sanction_out(s: Sanction, now: datetime) -> dict[str, Any]:
    return {
        "id": s.pk,
        "kind": s.kind,
        "label": services.sanction_describe(s),
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "active": s.is_active(now),
        "violation_id": s.violation_id,
        "note_id": s.note_id,
        "lifted_at": s.lifted_at,
    }


def appeal_out(a: Appeal) -> dict[str, Any]:
    return {
        "id": a.pk,
        "violation_id": a.violation_id,
        "state": a.state,
        "text": a.text,
        "response": a.response,
        "created_at": a.created_at,
        "decided_at": a.decided_at,
    }


def _appeal_of(v: Violation) -> Appeal | None:
    try:
        return v.appeal
    except Appeal.DoesNotExist:
        return None


def _voided(v: Violation) -> bool:
    try:
        return v.void is not None
    except Violation.DoesNotExist:
        return False


def _evidence_image(ev: dict[str, Any]) -> str | None:
    """The evidence's image as a URL the account's owner can open. A moderator's or a detector's evidence may
    carry a URL; an image scan's carries the note image's id with its stored ``file`` (``moderation._scan_image``),
    which is turned into that file's URL (an id alone is no address, and a number broke the answer's schema)."""
    image = ev.get("image")
    if isinstance(image, str):
        return image or None
    name = ev.get("file")
    if image is None or not isinstance(name, str) or not name:
        return None
    from django.core.files.storage import default_storage

    return default_storage.url(name)


def violation_out(v: Violation) -> dict[str, Any]:
    ev = v.evidence or {}
    appeal = _appeal_of(v)
    voided = _voided(v)
    return {
        "id": v.pk,
        "type": v.type,
        "category": v.category,
        "rule": v.rule,
        "severity": v.severity,
        "source": v.source,
        "evidence": {
            "text": ev.get("text"),
            "field": ev.get("field"),
            "hits": [hit_for_reader(h) for h in ev.get("hits") or []],  # names and advice for the reader
            "image": _evidence_image(ev),
            "reason": ev.get("reason") or None,
        },
        "created_at": v.created_at,
        "voided": voided,
        "appeal": appeal_out(appeal) if appeal else None,
        "can_appeal": appeal is None and not voided,
    }


def status_state(active: list[Sanction]) -> str:
    kinds = {s.kind for s in active}
    for kind, state in (
        (Sanction.Kind.SUSPENSION, "suspended"),
        (Sanction.Kind.POSTING_BAN, "posting_banned"),
        (Sanction.Kind.VISIBILITY_LIMIT, "limited"),
    ):
        if kind in kinds:
            return state
    return "ok"


@router.get("/me/status", response=responses({200: StatusOut}), auth=token_or_session)
def me_status(request: HttpRequest):
    """The caller's account status: sanctions in force (with their end, ``null`` = permanent), the history of
    sanctions and violations with the rule, the words (spans) and the suggestion, and appeals."""
    data = selectors.account_status(user=request.user)
    now = data["now"]
    return {
        "state": status_state(data["active"]),
        "sanctions": [sanction_out(s, now) for s in data["active"]],
        "history": [sanction_out(s, now) for s in data["sanctions"]],
        "violations": [violation_out(v) for v in data["violations"]],
    }


# --- reports and appeals ----------------------------------------------------------------------------------------
class ReportIn(Schema):
    target_type: Literal["note", "comment", "account", "message"]
    target_id: str = Field(min_length=1, max_length=64, description="an id, or a handle for an account")
    reason: Literal["redirect", "spam", "false", "adult", "abuse", "plagiarism", "fake", "other"]
    text: Annotated[Text, Limits(max_length=services.REPORT_TEXT_MAX)] = ""


class ReportOut(Schema):
    id: int
    state: str


@router.post("/reports", response=responses({201: ReportOut}), auth=token_or_session)
def report_create(request: HttpRequest, payload: ReportIn):
    """Report a note, comment, account (``target_id`` = handle) or message. It lands in the moderators' review
    queue; reporting the same object again while it is pending answers the same report."""
    item = services.report_create(
        reporter=request.user,
        target_type=payload.target_type,
        target_id=payload.target_id,
        reason=payload.reason,
        text=payload.text,
    )
    return Status(201, {"id": item.pk, "state": item.state})


class AppealIn(Schema):
    violation_id: int = Field(ge=1, le=2**62)
    text: Annotated[NonBlankText, Limits(max_length=services.APPEAL_TEXT_MAX)]


@router.post("/appeals", response=responses({201: AppealOut}), auth=token_or_session)
def appeal_create(request: HttpRequest, payload: AppealIn):
    """Appeal one of your violations, once (409 ``already_appealed`` the second time; 404 for a violation that is
    not yours)."""
    appeal = services.appeal_create(user=request.user, violation_id=payload.violation_id, text=payload.text)
    return Status(201, appeal_out(appeal))


# --- moderators' decisions --------------------------------------------------------------------------------------
def _moderator(request: HttpRequest):
    if not services.is_moderator(request.user):
        raise PermissionDenied(_("Only moderators can do this."), code="not_moderator")
    return request.user


class ReviewDecisionIn(Schema):
    decision: Literal["approve", "remove", "violation"]
    type: Literal["behaviour", "content", "channel"] | None = None
    severity: Literal["low", "medium", "high", "severe"] = "medium"
    reason: Text = Field(default="", max_length=2000)
    messages: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        default=None,
        max_length=50,
        description="``remove`` on a reported conversation: the ``seq`` of each message to withdraw (of its last "
        "50); default: the reported account's messages the report covered.",
    )


class ReviewItemOut(Schema):
    id: int
    kind: str
    state: str
    target_type: str
    target_id: int
    decided_at: datetime | None


@router.post(
    "/moderation/reviews/{item_id}/decision",
    response=responses({200: ReviewItemOut}),
    auth=token_or_session,
    tags=["moderation"],
)
def review_decision(request: HttpRequest, item_id: int, payload: ReviewDecisionIn):
    """Moderators: decide a review-queue item — ``approve`` (release it), ``remove`` (take the object down and
    record a violation) or ``violation`` (record a violation of ``type``). 403 for others; 409 if decided."""
    moderator = _moderator(request)
    item = ReviewItem.objects.filter(pk=min(item_id, 2**62)).select_related("target_type").first()
    if item is None:
        raise NotFound(_("Not found."))
    item = services.review_decide(
        item=item,
        moderator=moderator,
        decision=payload.decision,
        type=payload.type,
        severity=payload.severity,
        reason=payload.reason,
        selected=payload.messages,
    )
    return {
        "id": item.pk,
        "kind": item.kind,
        "state": item.state,
        "target_type": item.target_type.model,
        "target_id": item.target_id,
        "decided_at": item.decided_at,
    }


class AppealDecisionIn(Schema):
    decision: Literal["uphold", "reject"] = Field(
        description="uphold: the appeal is right, the violation is voided; reject: it stands"
    )
    response: Text = Field(default="", max_length=2000)


@router.post(
    "/moderation/appeals/{appeal_id}/decision",
    response=responses({200: AppealOut}),
    auth=token_or_session,
    tags=["moderation"],
)
def appeal_decision(request: HttpRequest, appeal_id: int, payload: AppealDecisionIn):
    """Moderators: decide an appeal. 403 for others; 409 if already decided."""
    moderator = _moderator(request)
    appeal = Appeal.objects.filter(pk=min(appeal_id, 2**62)).first()
    if appeal is None:
        raise NotFound(_("Not found."))
    appeal = services.appeal_decide(
        appeal=appeal, moderator=moderator, decision=payload.decision, response=payload.response
    )
    return appeal_out(appeal)
