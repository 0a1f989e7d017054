"""The staff review queue: ``GET /api/v1/moderation/queue?type=content|channel|behaviour`` (DESIGN.md,
"Collaborations") and the behaviour cases' decisions. Moderators only (403 ``not_moderator`` for others)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from meadow.core.errors import NotFound, PermissionDenied
from meadow.core.http import responses, token_or_session
from meadow.enforcement.selectors import review_queue
from meadow.enforcement.services import is_moderator
from meadow.integrity import selectors, services
from meadow.integrity.models import Case, Category

router = Router(tags=["moderation"])


def _moderator(request: HttpRequest):
    if not is_moderator(request.user):
        raise PermissionDenied(_("Only moderators can do this."), code="not_moderator")
    return request.user


class AccountRef(Schema):
    id: int
    handle: str


class SignalOut(Schema):
    signal: str
    category: str
    weight: float
    evidence: dict[str, Any]


class QueueItemOut(Schema):
    id: int
    type: Literal["content", "channel", "behaviour"]
    status: str
    account: AccountRef | None
    category: str
    category_label: str
    score: float | None = None
    evidence: list[SignalOut] = Field(default_factory=list)
    beneficiary: AccountRef | None = None
    held_signals: int = 0
    created_at: datetime


class QueueOut(Schema):
    items: list[QueueItemOut]


def _ref(user) -> dict | None:
    return None if user is None else {"id": user.pk, "handle": user.handle}


def case_out(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "type": "behaviour",
        "status": case.status,
        "account": _ref(case.account),
        "category": case.category,
        "category_label": str(Category(case.category).label),
        "score": case.score,
        "evidence": case.signals,
        "beneficiary": _ref(case.beneficiary),
        "held_signals": case.held.count(),
        "created_at": case.opened_at,
    }


@router.get("/queue", response=responses({200: QueueOut}), auth=token_or_session)
def queue(
    request: HttpRequest,
    type: Literal["content", "channel", "behaviour"] = "content",
    status: Literal["pending", "upheld", "dismissed"] = "pending",
    limit: Annotated[int, Field(ge=1, le=100)] = 50,
):
    """Moderators: the review queue of one ``type`` — ``behaviour``: accounts suspected of fake engagement, with
    the evidence of each signal and the creator who benefits; ``content``: content held by the checks or
    reported; ``channel``: suspected undisclosed collaborations (none are detected yet: empty)."""
    _moderator(request)
    if type == "behaviour":
        return {"items": [case_out(c) for c in selectors.behaviour_queue(status=status)[:limit]]}
    if type == "channel":
        return {"items": []}
    state = {"pending": "pending", "upheld": "actioned", "dismissed": "approved"}[status]
    items = []
    for item in review_queue(state=state)[:limit]:
        items.append(
            {
                "id": item.pk,
                "type": "content",
                "status": item.state,
                "account": _ref(item.account),
                "category": item.reason,
                "category_label": str(item.get_reason_display()),
                "evidence": [],
                "created_at": item.created_at,
            }
        )
    return {"items": items}


class CaseDecisionIn(Schema):
    decision: Literal["uphold", "dismiss"] = Field(
        description="uphold: the behaviour ladder for the fake account and the buyer; dismiss: release the signals"
    )


@router.post(
    "/queue/behaviour/{case_id}/decision", response=responses({200: QueueItemOut}), auth=token_or_session
)
def case_decision(request: HttpRequest, case_id: int, payload: CaseDecisionIn):
    """Moderators: decide a behaviour case. 403 for others, 404 unknown, 409 ``already_decided``."""
    moderator = _moderator(request)
    case = Case.objects.filter(pk=min(max(case_id, 0), 2**62)).first()
    if case is None:
        raise NotFound(_("Not found."))
    if payload.decision == "uphold":
        case = services.case_uphold(case=case, moderator=moderator)
    else:
        case = services.case_dismiss(case=case, moderator=moderator)
    return case_out(case)
