"""Every write about enforcement: the publish gate, violations and the penalty ladder, sanctions and their
expiry, reports, appeals and moderators' decisions.

The policy at save time (notes, comments, bios, usernames, messages):

* ``block``  → refused with ``moderation_blocked`` (400) and the findings. Nothing was published, so that is
  no violation; the attempt is kept, and ``MEADOW_BLOCKED_ATTEMPTS_LIMIT`` (5) refused attempts within
  ``MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS`` (24) record one violation (forcing blocked text through).
* ``review`` → published but **held for review**: the note keeps ``status=published`` and a pending
  ``ReviewItem``; ``selectors.limited_q`` keeps it out of distribution, feeds and search until a moderator
  approves it. (We hold rather than "publish limited" so that a moderator's approval restores full reach.)
* ``pass``   → published.

Consequences escalate along the ladder in ``ladder.py``; every violation and sanction is notified to the account
owner with the rule, the words and what to change. Every moderator's decision writes a ``Decision`` row.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from meadow.core.errors import NotFound, PermissionDenied, ValidationFailed
from meadow.core.outbox import outbox_record
from meadow.core.ratelimit import rate_limit_hit
from meadow.enforcement import notices, selectors
from meadow.enforcement.ladder import step_for, type_for_category
from meadow.enforcement.models import (
    Appeal,
    BlockedAttempt,
    Decision,
    ReviewItem,
    Sanction,
    Severity,
    Source,
    Violation,
    ViolationType,
)

logger = logging.getLogger(__name__)

APPEAL_TEXT_MAX = 1000
REPORT_TEXT_MAX = 500

AccountKind = Literal["personal", "enterprise"]


# --- errors -----------------------------------------------------------------------------------------------------
class ModerationBlocked(ValidationFailed):
    """A text the policy refuses; the API adds ``"moderation": {"verdict", "hits"}`` beside the error."""

    code = "moderation_blocked"

    def __init__(self, message, *, moderation: dict[str, Any], field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.moderation = moderation


class PostingBanned(PermissionDenied):
    code = "posting_banned"


class AccountSuspended(PermissionDenied):
    code = "account_suspended"


# --- helpers ------------------------------------------------------------------------------------------------------
def account_kind(user) -> AccountKind:
    """``"enterprise"`` for a verified business account, else ``"personal"``."""
    return selectors.account_kind(user)  # type: ignore[return-value]


def is_moderator(user) -> bool:
    """Staff with the ``enforcement.moderate`` permission (the ``moderator`` group) or superusers."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
        and user.has_perm("enforcement.moderate")
    )


def _date(value: datetime | None) -> str:
    if value is None:
        return _("permanently")
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def sanction_label(kind: str) -> str:
    return str(Sanction.Kind(kind).label)


def sanction_describe(sanction: Sanction) -> str:
    """“Posting ban (禁言) until 12 May 2026, 10:00” / “… permanently”."""
    if sanction.kind == Sanction.Kind.WARNING:
        return sanction_label(sanction.kind)
    if sanction.ends_at is None:
        return _("%(sanction)s, permanently") % {"sanction": sanction_label(sanction.kind)}
    return _("%(sanction)s until %(end)s") % {
        "sanction": sanction_label(sanction.kind),
        "end": _date(sanction.ends_at),
    }


# Outbox topics (meadow.core.outbox) for the apps above: what happened to an account's record, with the notice
# that tells the account as a code (the topic) and language-neutral parameters; ``notices.notice_text`` writes it
# in the reader's language when it is read (the app that knows the rules describes them). Payload
# {"account_id", "code", "params", "data"}; notifications turns each into a system notice.
VIOLATION_RECORDED = notices.VIOLATION_RECORDED  # data: violation, sanction, kind, ends_at, url
VIOLATION_VOIDED = notices.VIOLATION_VOIDED  # data: violation, url (an appeal was upheld)
APPEAL_REJECTED = notices.APPEAL_REJECTED  # data: appeal, url
NOTICE_TOPICS = notices.CODES


def _notify(topic: str, *, recipient, params: dict[str, Any], data: dict[str, Any]) -> None:
    """Record the fact with its notice for the account (in the caller's transaction; told after the commit)."""
    outbox_record(topic, account_id=recipient.pk, code=topic, params=params, data=data)


def _target_fields(obj) -> dict[str, Any]:
    if obj is None:
        return {"target_type": None, "target_id": None}
    return {"target_type": ContentType.objects.get_for_model(obj), "target_id": obj.pk}


def _audit(*, moderator, action: str, target=None, reason: str = "", data: dict | None = None) -> Decision:
    fields = _target_fields(target)
    return Decision.objects.create(
        moderator=moderator if getattr(moderator, "is_authenticated", False) else None,
        action=action,
        reason=reason,
        data=data or {},
        **fields,
    )


# --- the publish gate ---------------------------------------------------------------------------------------------
def enforcement_assert_can_post(*, user, now: datetime | None = None) -> None:
    """Raise ``PostingBanned`` (403, code ``posting_banned``) naming the sanction and its end when ``user`` is
    under a posting ban (禁言) or suspended. Call before publishing a note, a comment or a message."""
    ban = selectors.account_posting_ban(user=user, now=now)
    if ban is None:
        return
    if ban.ends_at is None:
        message = _("You cannot post: %(sanction)s, permanently. See your account status to appeal.")
    else:
        message = _("You cannot post until %(end)s: %(sanction)s. See your account status to appeal.")
    raise PostingBanned(message % {"sanction": sanction_label(ban.kind), "end": _date(ban.ends_at)})


@dataclass(frozen=True)
class Screening:
    """The outcome of checking a text at save time."""

    verdict: str
    hits: list[dict[str, Any]]
    text: str
    field: str

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "hits": self.hits}


def enforcement_check_text(
    *,
    user,
    text: str,
    field: str,
    error_field: str | None = None,
    target=None,
    block_categories: frozenset[str] | set[str] = frozenset(),
) -> Screening:
    """Check ``text`` written in ``field`` (note, comment, bio, username, dm) by ``user``. ``block`` raises
    ``ModerationBlocked`` with the findings (and keeps the attempt: see ``_record_blocked_attempt``); otherwise the screening
    is returned — a ``review`` verdict is for the caller to hold with ``enforcement_hold``.

    ``block_categories`` makes any hit of those categories block whatever the policy table says (a redirect in
    a message request, to someone who has not accepted the conversation)."""
    from meadow.moderation.services import moderation_check

    result = moderation_check(text=text, field=field, account=account_kind(user))
    hits = [h.to_dict() for h in result.hits]
    verdict = result.verdict
    if block_categories and any(h["category"] in block_categories for h in hits):
        verdict = "block"
    screening = Screening(verdict=verdict, hits=hits, text=text, field=field)
    if screening.verdict == "block":
        _record_blocked_attempt(user=user, screening=screening, target=target)
        blocking = [h for h in screening.hits if h["category"]]
        words = ", ".join(f"“{h['match']}”" for h in blocking[:5])
        raise ModerationBlocked(
            _("This cannot be published as it is: rewrite %(words)s.") % {"words": words},
            moderation=screening.to_dict(),
            field=error_field or field,
        )
    return screening


def enforcement_record_refused_image(
    *, user, field: str, category: str, digest: str, target=None
) -> Violation | None:
    """An image refused before it was stored (a QR code leading off Meadow, explicit content in a message):
    kept as a blocked attempt exactly like refused text, so forcing refused images through reaches the same
    ``MEADOW_BLOCKED_ATTEMPTS_LIMIT`` and records one violation (``_record_blocked_attempt``). ``digest`` names
    the image (its SHA-256) in the evidence; the image itself is not kept."""
    severity = Severity.HIGH if category == "adult" else Severity.MEDIUM
    hit = {"category": category, "rule": f"image_{category}", "severity": severity, "match": "image"}
    screening = Screening(verdict="block", hits=[hit], text=f"[image {digest}]", field=field)
    return _record_blocked_attempt(user=user, screening=screening, target=target)


def _record_blocked_attempt(*, user, screening: Screening, target=None) -> Violation | None:
    """A refused text is not an offence — nothing was published, and the composer had shown the findings. It is
    kept as a ``BlockedAttempt``; the ``MEADOW_BLOCKED_ATTEMPTS_LIMIT``-th attempt within
    ``MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS`` (counted since the last violation attempts brought) is forcing
    blocked text through, and records one violation with the last text as evidence."""
    digest = hashlib.sha256(f"{screening.field}\n{screening.text}".encode()).hexdigest()
    worst = max(
        screening.hits, key=lambda h: ["low", "medium", "high"].index(h.get("severity", "medium")), default={}
    )
    category = worst.get("category", "other") or "other"
    limit = max(int(getattr(settings, "MEADOW_BLOCKED_ATTEMPTS_LIMIT", 5)), 1)
    window = timedelta(hours=int(getattr(settings, "MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS", 24)))
    with transaction.atomic():
        attempt = BlockedAttempt.objects.create(
            account=user, field=screening.field[:20], category=category[:40], digest=digest
        )
        recent = BlockedAttempt.objects.filter(account=user, created_at__gte=attempt.created_at - window)
        last_strike = recent.filter(violation__isnull=False).order_by("-created_at", "-id").first()
        if last_strike is not None:
            recent = recent.filter(pk__gt=last_strike.pk)
        count = recent.count()
        if count < limit:
            return None
        violation = violation_record(
            account=user,
            type=type_for_category(category),
            category=category,
            rule=worst.get("rule", category),
            severity=worst.get("severity", Severity.MEDIUM),
            evidence={
                "text": screening.text,
                "field": screening.field,
                "hits": screening.hits,
                "digest": digest,
                "blocked": True,
                "blocked_attempts": count,
                "window_hours": int(window.total_seconds() // 3600),
            },
            target=target,
        )
        BlockedAttempt.objects.filter(pk=attempt.pk).update(violation=violation)
    return violation


def enforcement_screen_note(
    *, author, title: str, body: str, hashtags: list[str] | tuple = (), tags: Sequence[tuple[str, str]] = ()
) -> Screening:
    """The publish gate for a note: the author may post, and the title, body and listed topics pass the checks.
    The text checked is ``title + "\\n" + body`` (+ ``"\\n#tag #tag"`` for listed topics), as the composer checks
    it, so the spans of the answer line up with the composer's."""
    enforcement_assert_can_post(user=author)
    text = f"{title}\n{body}"
    names = [*hashtags, *(display for _name, display in tags)]
    extra = [t for t in dict.fromkeys(names) if t and f"#{t}" not in body]
    if extra:
        text += "\n" + " ".join(f"#{t}" for t in extra)
    return enforcement_check_text(user=author, text=text, field="note", error_field="body")


def enforcement_hold(*, obj, account, screening: Screening | None) -> ReviewItem | None:
    """After saving ``obj``: when the screening says ``review``, put it in the review queue, held (excluded
    from distribution until approved). One pending hold per object."""
    if screening is None or screening.verdict != "review":
        return None
    ct = ContentType.objects.get_for_model(obj)
    item, _created = ReviewItem.objects.get_or_create(
        kind=ReviewItem.Kind.HELD,
        state=ReviewItem.State.PENDING,
        target_type=ct,
        target_id=obj.pk,
        defaults={
            "account": account,
            "reason": ReviewItem.Reason.POLICY,
            "findings": {"text": screening.text, "field": screening.field, "hits": screening.hits},
        },
    )
    return item


def enforcement_screen_profile(*, user, changes: dict[str, Any]) -> list[Screening]:
    """The gate for a profile edit: the bio and the name (username) are checked like notes; a redirect
    refuses the edit with the findings. ``review`` findings are queued (the profile is saved)."""
    screenings = []
    for key, field in (("display_name", "username"), ("bio", "bio")):
        value = changes.get(key)
        if value and value != getattr(user, key, None):
            screenings.append(enforcement_check_text(user=user, text=value, field=field, error_field=key))
    return screenings


# --- violations and the ladder ----------------------------------------------------------------------------------
def violation_record(
    *,
    account,
    type: str,
    category: str,
    rule: str,
    severity: str = Severity.MEDIUM,
    evidence: dict[str, Any] | None = None,
    target=None,
    source: str = Source.SYSTEM,
    decided_by=None,
    now: datetime | None = None,
) -> Violation:
    """Record a violation and apply the ladder step it reaches; notify the account owner."""
    if type not in ViolationType.values:
        raise ValidationFailed(_("Unknown violation type."), field="type", code="invalid_choice")
    if severity not in Severity.values:
        severity = Severity.MEDIUM
    now = now or timezone.now()
    with transaction.atomic():
        violation = Violation.objects.create(
            account=account,
            type=type,
            category=category[:40],
            rule=(rule or category)[:120],
            severity=severity,
            evidence=evidence or {},
            source=source,
            decided_by=decided_by,
            created_at=now,
            **_target_fields(target),
        )
        position = selectors.violations_active(user=account).filter(type=type).count()
        step = step_for(type=type, position=position, severe=severity == Severity.SEVERE)
        sanction = _sanction_apply(violation=violation, step=step, start=now)
    _notify_violation(violation=violation, sanction=sanction)
    return violation


def _sanction_apply(*, violation: Violation, step: dict[str, Any], start: datetime) -> Sanction:
    kind = step["sanction"]
    days = step.get("days")
    ends: datetime | None = start  # a warning starts and ends at once
    if kind != Sanction.Kind.WARNING:
        ends = None if days is None else start + timedelta(days=days)
    sanction = Sanction.objects.create(
        account=violation.account, kind=kind, violation=violation, starts_at=start, ends_at=ends
    )
    if kind == Sanction.Kind.SUSPENSION and sanction.is_active():
        _suspend(user=violation.account)
    return sanction


def _suspend(*, user) -> None:
    """Suspension: the account cannot log in; its sessions end (``is_active`` false) and tokens are revoked."""
    from meadow.accounts.models import ApiToken, User

    User.objects.filter(pk=user.pk).update(is_active=False)
    ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _unsuspend_if_clear(*, user, now: datetime | None = None) -> bool:
    """Reactivate an account whose every suspension ended or was lifted (only accounts a suspension closed)."""
    from meadow.accounts.models import User

    if selectors.account_suspension(user=user, now=now) is not None:
        return False
    if not Sanction.objects.filter(account_id=user.pk, kind=Sanction.Kind.SUSPENSION).exists():
        return False
    return bool(User.objects.filter(pk=user.pk, is_active=False).update(is_active=True))


def _notify_violation(*, violation: Violation, sanction: Sanction | None) -> None:
    account = violation.account
    _notify(
        VIOLATION_RECORDED,
        recipient=account,
        params=notices.violation_params(violation=violation, sanction=sanction),
        data={
            "violation": violation.pk,
            "sanction": sanction.pk if sanction else None,
            "kind": sanction.kind if sanction else None,
            "ends_at": sanction.ends_at.isoformat() if sanction and sanction.ends_at else None,
            "url": "/me/status/",
        },
    )


def enforcement_record_finding(
    *,
    obj,
    category: str,
    evidence: dict[str, Any],
    severity: str,
    source: str = "system",
    action: Literal["remove", "limit"] | None = None,
    rule: str = "",
    decided_by=None,
    type: str | None = None,
) -> Violation:
    """A finding that arrived after publishing (explicit image, plagiarism, a moderator's decision…) about
    ``obj`` (a note, or any object with an ``author``/``user``/``sender``): take the object down —
    ``action="remove"`` (status removed; restored if the violation is voided) or ``"limit"`` (kept, but out of
    distribution until a moderator lifts it); default: remove for ``high``/``severe``, limit otherwise — and
    record a violation on the ladder. ``evidence``: e.g. ``{"image": url, "score": 0.93}`` or
    ``{"text", "hits"}``. Idempotent per object and category."""
    account = _owner_of(obj)
    if account is None:
        raise ValidationFailed(_("This object has no author."), field="obj", code="invalid")
    fields = _target_fields(obj)
    existing = Violation.objects.filter(
        account=account, category=category[:40], voids__isnull=True, void__isnull=True, **fields
    ).first()
    if existing is not None:
        return existing
    if action is None:
        action = "remove" if severity in (Severity.HIGH, Severity.SEVERE) else "limit"
    evidence = {**evidence, "action": action}
    with transaction.atomic():
        violation = violation_record(
            account=account,
            type=type or type_for_category(category),
            category=category,
            rule=rule or category,
            severity=severity,
            evidence=evidence,
            target=obj,
            source=source if source in Source.values else Source.SYSTEM,
            decided_by=decided_by,
        )
        _take_down(obj=obj, violation=violation, action=action)
    return violation


def _owner_of(obj):
    for attr in ("author", "user", "sender"):
        owner = getattr(obj, attr, None)
        if owner is not None:
            return owner
    from meadow.accounts.models import User

    return obj if isinstance(obj, User) else None


def _is_note(obj) -> bool:
    from meadow.notes.models import Note

    return isinstance(obj, Note)


def _take_down(*, obj, violation: Violation, action: str) -> None:
    if action == "limit" and _is_note(obj):
        Sanction.objects.create(
            account=violation.account,
            kind=Sanction.Kind.VISIBILITY_LIMIT,
            violation=violation,
            note=obj,
            starts_at=violation.created_at,
            ends_at=None,
        )
    elif action == "remove":
        _content_remove(obj=obj)


def _content_remove(*, obj) -> None:
    """Take content down without deleting it (a voided violation restores it)."""
    if _is_note(obj):
        from meadow.notes.models import Note, NoteHashtag
        from meadow.notes.services import hashtags_recount

        with transaction.atomic():
            if Note.objects.filter(pk=obj.pk, status=Note.Status.PUBLISHED).update(
                status=Note.Status.REMOVED, updated_at=timezone.now()
            ):
                ids = list(NoteHashtag.objects.filter(note_id=obj.pk).values_list("hashtag_id", flat=True))
                hashtags_recount(hashtag_ids=ids)
        return
    status_field = _status_field(obj)
    if status_field is not None:
        type(obj).objects.filter(pk=obj.pk).update(**{status_field.name: "removed"})


def _content_restore(*, obj) -> None:
    if _is_note(obj):
        from meadow.notes.models import Note, NoteHashtag
        from meadow.notes.services import hashtags_recount

        with transaction.atomic():
            if Note.objects.filter(pk=obj.pk, status=Note.Status.REMOVED, deleted_at__isnull=True).update(
                status=Note.Status.PUBLISHED, updated_at=timezone.now()
            ):
                ids = list(NoteHashtag.objects.filter(note_id=obj.pk).values_list("hashtag_id", flat=True))
                hashtags_recount(hashtag_ids=ids)
        return
    status_field = _status_field(obj)
    if status_field is not None and getattr(obj, status_field.name, None) == "removed":
        restore = "published" if "published" in {c[0] for c in status_field.choices or []} else "visible"
        type(obj).objects.filter(pk=obj.pk).update(**{status_field.name: restore})


def _status_field(obj) -> models.Field | None:
    try:
        field = type(obj)._meta.get_field("status")
    except FieldDoesNotExist:
        return None
    choices = {c[0] for c in (field.choices or [])}
    return field if "removed" in choices else None


def violation_void(
    *, violation: Violation, by=None, reason: str = "", now: datetime | None = None
) -> Violation:
    """Void a violation with a correction record: the sanctions it caused are lifted, content it took down is
    restored, and the ladder is recomputed for the violations of its type that came after it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Violation.objects.select_for_update().get(pk=violation.pk)
        if locked.voids_id is not None:
            raise ValidationFailed(_("A correction cannot be voided."), code="invalid")
        if Violation.objects.filter(voids=locked).exists():
            raise ValidationFailed(_("This violation is already void."), code="already_void")
        void = Violation.objects.create(
            account_id=locked.account_id,
            type=locked.type,
            category=locked.category,
            rule=locked.rule,
            severity=locked.severity,
            evidence={},
            source=Source.MODERATOR if by is not None else Source.SYSTEM,
            decided_by=by if getattr(by, "is_authenticated", False) else None,
            voids=locked,
            reason=reason,
            created_at=now,
            target_type_id=locked.target_type_id,
            target_id=locked.target_id,
        )
        Sanction.objects.filter(violation=locked, lifted_at__isnull=True).update(
            lifted_at=now, lift_reason=_("violation voided")[:200]
        )
        target = locked.target if locked.target_type_id else None
        if target is not None and (locked.evidence or {}).get("action") == "remove":
            _content_restore(obj=target)
        _ladder_recompute(account=locked.account, type=locked.type, now=now)
        _unsuspend_if_clear(user=locked.account, now=now)
    _notify(
        VIOLATION_VOIDED,
        recipient=locked.account,
        params={"category": locked.category},
        data={"violation": locked.pk, "url": "/me/status/"},
    )
    return void


def _duration(s: Sanction) -> tuple[str, int | None]:
    if s.kind == Sanction.Kind.WARNING:
        return (s.kind, None)
    if s.ends_at is None:
        return (s.kind, None)
    return (s.kind, round((s.ends_at - s.starts_at).total_seconds() / 86400))


def _ladder_recompute(*, account, type: str, now: datetime) -> None:
    """Give each active violation of ``type`` the step of its position now (after a void)."""
    active = list(selectors.violations_active(user=account).filter(type=type).order_by("created_at", "id"))
    for position, v in enumerate(active, start=1):
        step = step_for(type=type, position=position, severe=v.severity == Severity.SEVERE)
        expected = (step["sanction"], step.get("days") if step["sanction"] != "warning" else None)
        current = list(Sanction.objects.filter(violation=v, note__isnull=True, lifted_at__isnull=True))
        if [(_duration(s)) for s in current] == [expected]:
            continue
        Sanction.objects.filter(pk__in=[s.pk for s in current]).update(
            lifted_at=now, lift_reason=_("ladder recomputed")[:200]
        )
        _sanction_apply(violation=v, step=step, start=v.created_at)


def sanction_lift(*, sanction: Sanction, by=None, reason: str = "") -> Sanction:
    """A moderator lifts one sanction early (audited)."""
    now = timezone.now()
    with transaction.atomic():
        Sanction.objects.filter(pk=sanction.pk, lifted_at__isnull=True).update(
            lifted_at=now, lift_reason=(reason or _("lifted by a moderator"))[:200]
        )
        _audit(moderator=by, action="sanction_lift", target=sanction, reason=reason)
        _unsuspend_if_clear(user=sanction.account, now=now)
    sanction.refresh_from_db()
    return sanction


def sanctions_expire(*, now: datetime | None = None) -> int:
    """Periodic (beat): stamp sanctions whose end passed and reactivate accounts whose suspension ended.
    Expiry already holds without it (queries compare end dates); this keeps the records and ``is_active``
    right. Idempotent."""
    now = now or timezone.now()
    ended = Sanction.objects.filter(
        expired_at__isnull=True, lifted_at__isnull=True, ends_at__isnull=False, ends_at__lte=now
    )
    suspended = set(ended.filter(kind=Sanction.Kind.SUSPENSION).values_list("account_id", flat=True))
    count = ended.update(expired_at=now)
    from meadow.accounts.models import User

    for user in User.objects.filter(pk__in=suspended):
        _unsuspend_if_clear(user=user, now=now)
    return count


# --- login --------------------------------------------------------------------------------------------------------
def enforcement_login_gate(*, login: str, password: str, now: datetime | None = None):
    """For a login refused because the account is inactive: raise ``AccountSuspended`` (naming the end) when a
    suspension is in force; reactivate and return the account if its suspension has ended; else ``None``."""
    from meadow.accounts.selectors import user_find_by_login

    user = user_find_by_login(login=login)
    if user is None or user.is_active or not user.check_password(password or ""):
        return None
    suspension = selectors.account_suspension(user=user, now=now)
    if suspension is not None:
        if suspension.ends_at is None:
            message = _("This account is suspended permanently. Write to support to appeal.")
        else:
            message = _("This account is suspended until %(end)s.") % {"end": _date(suspension.ends_at)}
        raise AccountSuspended(message)
    if _unsuspend_if_clear(user=user, now=now):
        user.refresh_from_db()
        return user
    return None


# --- reports ------------------------------------------------------------------------------------------------------
REPORTABLE = {
    "note": ("notes", "Note"),
    "comment": ("engagement", "Comment"),
    "account": ("accounts", "User"),
    "message": ("messaging", "Message"),
}


def report_target_resolve(*, viewer, target_type: str, target_id: str):
    """The object a report is about, as ``viewer`` may see it (404 when missing or invisible, and for kinds
    whose app is not installed yet)."""
    from django.apps import apps
    from django.http import Http404

    if target_type not in REPORTABLE:
        raise ValidationFailed(_("Unknown kind of object."), field="target_type", code="invalid_choice")
    raw = str(target_id or "").strip()
    if target_type == "account":
        from meadow.accounts.selectors import user_get_for_viewer

        try:
            return user_get_for_viewer(viewer=viewer, handle=raw.lstrip("@"))
        except Http404 as exc:
            raise NotFound(_("Not found.")) from exc
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(_("Not found."))
    if target_type == "note":
        from meadow.notes.selectors import note_get_for_viewer

        try:
            return note_get_for_viewer(viewer=viewer, note_id=int(raw))
        except Http404 as exc:
            raise NotFound(_("Not found.")) from exc
    app_label, model_name = REPORTABLE[target_type]
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as exc:
        raise NotFound(_("Not found.")) from exc
    obj = model._default_manager.filter(pk=int(raw)).first()
    if obj is None:
        raise NotFound(_("Not found."))
    if getattr(obj, "note_id", None) is not None:  # a comment: the note it is on must be visible
        from meadow.notes.selectors import note_get_for_viewer

        try:
            note_get_for_viewer(viewer=viewer, note_id=obj.note_id)
        except Http404 as exc:
            raise NotFound(_("Not found.")) from exc
    if target_type == "message":  # only the people in its conversation may report a message
        participant = apps.get_model("messaging", "Participant")
        if not participant._default_manager.filter(
            conversation_id=obj.conversation_id, user_id=viewer.pk
        ).exists():
            raise NotFound(_("Not found."))
    return obj


def report_create(*, reporter, target_type: str, target_id: str, reason: str, text: str = "") -> ReviewItem:
    """A user reports a note, comment, account or message; it lands in the review queue (one pending report
    per reporter and object)."""
    if reason not in ReviewItem.Reason.values or reason == ReviewItem.Reason.POLICY:
        raise ValidationFailed(_("Choose a reason."), field="reason", code="invalid_choice")
    text = (text or "").strip()
    if len(text) > REPORT_TEXT_MAX:
        raise ValidationFailed(
            _("Keep it under %(max)d characters.") % {"max": REPORT_TEXT_MAX}, field="text", code="too_long"
        )
    rate_limit_hit(scope="report:account", key=str(reporter.pk))
    obj = report_target_resolve(viewer=reporter, target_type=target_type, target_id=target_id)
    owner = _owner_of(obj)
    if owner is not None and owner.pk == reporter.pk:
        raise ValidationFailed(_("You cannot report yourself."), field="target_id", code="own_content")
    ct = ContentType.objects.get_for_model(obj)
    findings: dict[str, Any] = {}
    body = _text_of(obj)
    if body:
        from meadow.moderation.services import moderation_check

        field = {"note": "note", "comment": "comment", "account": "bio", "message": "dm"}[target_type]
        result = moderation_check(text=body[:5000], field=field, account=account_kind(owner))
        findings = {"text": body[:5000], "field": field, **result.to_dict()}
    item, _created = ReviewItem.objects.get_or_create(
        kind=ReviewItem.Kind.REPORT,
        state=ReviewItem.State.PENDING,
        target_type=ct,
        target_id=obj.pk,
        reporter=reporter,
        defaults={"account": owner, "reason": reason, "text": text, "findings": findings},
    )
    return item


def report_create_for(
    *,
    reporter,
    obj,
    account,
    reason: str,
    text: str = "",
    body: str = "",
    field: str = "dm",
    covers: list[int] | None = None,
) -> ReviewItem:
    """A report about an object whose app checked the reporter's access itself (a conversation: only its
    participants may report it). ``account`` is the one reported; ``body`` is screened for the findings;
    ``covers`` (kept in the findings as ``messages``) names the parts the report is about (a conversation's
    message seqs: what a moderator's ``remove`` withdraws)."""
    if reason not in ReviewItem.Reason.values or reason == ReviewItem.Reason.POLICY:
        raise ValidationFailed(_("Choose a reason."), field="reason", code="invalid_choice")
    text = (text or "").strip()
    if len(text) > REPORT_TEXT_MAX:
        raise ValidationFailed(
            _("Keep it under %(max)d characters.") % {"max": REPORT_TEXT_MAX}, field="text", code="too_long"
        )
    if account is not None and account.pk == reporter.pk:
        raise ValidationFailed(_("You cannot report yourself."), field="target_id", code="own_content")
    rate_limit_hit(scope="report:account", key=str(reporter.pk))
    findings: dict[str, Any] = {}
    if body:
        from meadow.moderation.services import moderation_check

        result = moderation_check(text=body[:5000], field=field, account=account_kind(account))
        findings = {"text": body[:5000], "field": field, **result.to_dict()}
    if covers:
        findings["messages"] = list(covers)
    item, _created = ReviewItem.objects.get_or_create(
        kind=ReviewItem.Kind.REPORT,
        state=ReviewItem.State.PENDING,
        target_type=ContentType.objects.get_for_model(obj),
        target_id=obj.pk,
        reporter=reporter,
        defaults={"account": account, "reason": reason, "text": text, "findings": findings},
    )
    return item


def reported(*, obj) -> bool:
    """Whether a user ever reported ``obj`` (what lets a moderator open a conversation's messages)."""
    return ReviewItem.objects.filter(
        kind=ReviewItem.Kind.REPORT, target_type=ContentType.objects.get_for_model(obj), target_id=obj.pk
    ).exists()


def audit_record(
    *, moderator, action: str, target=None, reason: str = "", data: dict | None = None
) -> Decision:
    """Add an entry to the append-only audit log (``Decision``) for an action of a moderator outside this app
    (a moderator reading a reported conversation)."""
    return _audit(moderator=moderator, action=action, target=target, reason=reason, data=data)


def _text_of(obj) -> str:
    if _is_note(obj):
        return f"{obj.title}\n{obj.body}"
    for attr in ("body", "text", "bio"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    return ""


# --- appeals ------------------------------------------------------------------------------------------------------
def appeal_create(*, user, violation_id: int, text: str) -> Appeal:
    """Appeal one of your own violations, once, with a text (1–1000 characters)."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("Say why the decision is wrong."), field="text", code="required")
    if len(text) > APPEAL_TEXT_MAX:
        raise ValidationFailed(
            _("Keep it under %(max)d characters.") % {"max": APPEAL_TEXT_MAX}, field="text", code="too_long"
        )
    violation = Violation.objects.filter(pk=violation_id, account=user, voids__isnull=True).first()
    if violation is None:
        raise NotFound(_("Not found."))
    if Violation.objects.filter(voids=violation).exists():
        raise ValidationFailed(_("This violation is already void."), code="already_void")
    with transaction.atomic():
        appeal, created = Appeal.objects.get_or_create(
            violation=violation, defaults={"account": user, "text": text}
        )
    if not created:
        from meadow.core.errors import Conflict

        raise Conflict(_("You have already appealed this violation."), code="already_appealed")
    return appeal


def appeal_decide(*, appeal: Appeal, moderator, decision: str, response: str = "") -> Appeal:
    """``uphold``: the appeal is right — the violation is voided (sanctions lifted, ladder recomputed).
    ``reject``: the violation stands. Audited; the account owner is notified."""
    if decision not in ("uphold", "reject"):
        raise ValidationFailed(_("Choose uphold or reject."), field="decision", code="invalid_choice")
    now = timezone.now()
    with transaction.atomic():
        locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
        if locked.state != Appeal.State.PENDING:
            from meadow.core.errors import Conflict

            raise Conflict(_("This appeal was already decided."), code="already_decided")
        locked.state = Appeal.State.UPHELD if decision == "uphold" else Appeal.State.REJECTED
        locked.response = (response or "")[:2000]
        locked.decided_at = now
        locked.decided_by = moderator
        locked.save(update_fields=["state", "response", "decided_at", "decided_by"])
        _audit(moderator=moderator, action=f"appeal_{decision}", target=locked, reason=response)
        if decision == "uphold":
            violation_void(violation=locked.violation, by=moderator, reason=response or _("appeal upheld"))
    if decision == "reject":
        _notify(
            APPEAL_REJECTED,
            recipient=locked.account,
            params={"category": locked.violation.category, "response": response},
            data={"appeal": locked.pk, "url": "/me/status/"},
        )
    return locked


# --- review decisions ---------------------------------------------------------------------------------------------
REVIEW_DECISIONS = ("approve", "remove", "violation")


# "Remove" for objects with no status of their own (a conversation, a message): the app that owns the model
# registers what removing means (enforcement sits below those apps). ``remove(obj=, item=, moderator=,
# selected=)`` does it inside the decision's transaction and returns what it did, for the audit log.
ContentRemover = Callable[..., dict[str, Any]]
_REMOVERS: dict[str, ContentRemover] = {}


def register_content_remover(model_label: str, remove: ContentRemover) -> None:
    _REMOVERS[model_label] = remove


def review_decide(
    *,
    item: ReviewItem,
    moderator,
    decision: str,
    type: str | None = None,
    severity: str = Severity.MEDIUM,
    reason: str = "",
    selected: Sequence[int] | None = None,
) -> ReviewItem:
    """Decide a review item: ``approve`` (nothing wrong: a held object is released), ``remove`` (take the object
    down and record a violation) or ``violation`` (record a violation of ``type``; content stays, limited if it
    was held). Audited; the other pending items about the same object are decided with it.

    ``remove`` on an object whose app registered a remover (``register_content_remover``: a reported
    conversation's messages are withdrawn for everyone — those the report covered, or the ``selected`` ones) runs
    it and writes what it did to the audit log (``Decision`` ``content_removed``)."""
    if decision not in REVIEW_DECISIONS:
        raise ValidationFailed(
            _("Choose approve, remove or violation."), field="decision", code="invalid_choice"
        )
    if type is not None and type not in ViolationType.values:
        raise ValidationFailed(_("Unknown violation type."), field="type", code="invalid_choice")
    now = timezone.now()
    with transaction.atomic():
        locked = ReviewItem.objects.select_for_update().get(pk=item.pk)
        if locked.state != ReviewItem.State.PENDING:
            from meadow.core.errors import Conflict

            raise Conflict(_("This item was already decided."), code="already_decided")
        state = {
            "approve": ReviewItem.State.APPROVED,
            "remove": ReviewItem.State.REMOVED,
            "violation": ReviewItem.State.ACTIONED,
        }[decision]
        siblings = ReviewItem.objects.filter(
            target_type_id=locked.target_type_id, target_id=locked.target_id, state=ReviewItem.State.PENDING
        )
        siblings.update(state=state, decided_at=now, decided_by=moderator)
        _audit(
            moderator=moderator,
            action=f"review_{decision}",
            target=locked,
            reason=reason,
            data={"type": type, "severity": severity},
        )
        target = locked.target
        if decision != "approve" and target is not None:
            findings = locked.findings or {}
            hits = findings.get("hits") or []
            category = (
                hits[0]["category"] if hits else (locked.reason if locked.reason != "policy" else "other")
            )
            rule = hits[0]["rule"] if hits else category
            violation_type = type or type_for_category(category)
            # a conversation has no owner: the report names the account concerned
            account = _owner_of(target) or locked.account
            evidence = {**findings, "review_item": locked.pk, "reason": reason}
            remover = _REMOVERS.get(target._meta.label) if decision == "remove" else None
            if remover is not None:
                done = remover(obj=target, item=locked, moderator=moderator, selected=selected)
                _audit(moderator=moderator, action="content_removed", target=target, reason=reason, data=done)
            if decision == "remove" and _owner_of(target) is None:
                # a conversation has no owner: the violation goes to the account the report names
                if account is not None:
                    violation_record(
                        account=account,
                        type=violation_type,
                        category=category,
                        rule=rule,
                        severity=severity,
                        evidence={**evidence, "action": "remove"},
                        target=target,
                        source=Source.MODERATOR,
                        decided_by=moderator,
                    )
            elif decision == "remove":
                enforcement_record_finding(
                    obj=target,
                    category=category,
                    evidence=evidence,
                    severity=severity,
                    source=Source.MODERATOR,
                    action="remove",
                    rule=rule,
                    decided_by=moderator,
                    type=violation_type,
                )
            elif account is not None:
                violation_record(
                    account=account,
                    type=violation_type,
                    category=category,
                    rule=rule,
                    severity=severity,
                    evidence=evidence,
                    target=target,
                    source=Source.MODERATOR,
                    decided_by=moderator,
                )
    locked.refresh_from_db()
    return locked


def enforcement_screen_note_edit(*, note, editor, title, body, hashtags, publish: bool) -> Screening | None:
    """The gate for ``note_update``: when the edit publishes a draft, or changes the text of a published note,
    check the resulting text (arguments that are not a ``str``/list mean "unchanged"). ``None``: nothing to
    check (not the author — ``note_update`` refuses that itself — or no text change on a published note)."""
    from meadow.notes.models import Note

    if note.author_id != editor.pk or note.status == Note.Status.REMOVED:
        return None
    changed = any(isinstance(v, str) for v in (title, body)) or isinstance(hashtags, list | tuple)
    publishing = publish and note.status == Note.Status.DRAFT
    if not publishing and not (note.status == Note.Status.PUBLISHED and changed):
        return None
    new_title = title if isinstance(title, str) else note.title
    new_body = body if isinstance(body, str) else note.body
    if isinstance(hashtags, list | tuple):
        tags = [str(t) for t in hashtags if t]
    else:
        tags = list(note.hashtag_links.values_list("hashtag__display_name", flat=True))
    return enforcement_screen_note(
        author=editor, title=(new_title or "").strip(), body=(new_body or "").strip(), hashtags=tags
    )


def moderator_group_ensure():
    """The ``moderator`` group with the ``enforcement.moderate`` permission and the console's model
    permissions (the data migration creates it; this restores it, e.g. after a database flush). Idempotent."""
    from django.contrib.auth.models import Group, Permission

    from meadow.enforcement.migrations import PERMISSIONS_FOR_MODERATORS

    group, _created = Group.objects.get_or_create(name="moderator")
    for app_label, codename in PERMISSIONS_FOR_MODERATORS:
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if permission is not None:
            group.permissions.add(permission)
    return group
