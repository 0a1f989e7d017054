"""Every write about accounts: sign-up, one-time codes, tokens, profile edits, follows and blocks.

Typed, keyword-only functions named ``<entity>_<action>``. Each validates fully before writing and writes in
one transaction, so bad input never leaves anything half-written.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import (
    LOCATION_MAX,
    AccessRecord,
    Agreement,
    ApiToken,
    Block,
    Follow,
    FollowEvent,
    PhoneCode,
    User,
)
from meadow.accounts.selectors import (
    has_blocked,
    login_identity,
    user_find_by_login,
    user_password_stamp,
)
from meadow.accounts.sms import get_backend
from meadow.accounts.validation import clean_bio, clean_display_name, clean_handle, clean_phone
from meadow.core.errors import (
    Conflict,
    DomainError,
    ErrorCollector,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from meadow.core.images import process_image_upload
from meadow.core.outbox import outbox_record
from meadow.core.ratelimit import client_ip, rate_limit_hit, rate_limit_refund
from meadow.core.text import strip_invisible

LANGUAGE_CODES = {"zh-hans", "en", "ms"}
ACCENT_COLORS = ["#e8a87c", "#85c1a9", "#f3c969", "#9fb4e6", "#e49ab0", "#b7a6e0", "#7fc8d6", "#f0a46b"]


# --- the gates of apps above ------------------------------------------------------------------------------------
# Enforcement (above accounts) decides whether a suspended account may sign in and screens a profile edit's name
# and bio; it hands both in from its ``AppConfig.ready`` (``account_gates_set``), so accounts never imports it.
_LOGIN_GATE: list[Callable[..., User | None]] = []
_PROFILE_SCREEN: list[Callable[..., Any]] = []


def account_gates_set(*, login_gate: Callable[..., User | None], profile_screen: Callable[..., Any]) -> None:
    """Hand in the sign-in gate for an inactive account (``login_gate(login=, password=)`` → the account
    reactivated, or ``None``, or raises) and the profile screening (``profile_screen(user=, changes=)``, raises
    to refuse). Called once by the enforcement app's ``AppConfig.ready``."""
    _LOGIN_GATE[:] = [login_gate]
    _PROFILE_SCREEN[:] = [profile_screen]


def _gate(hooks: list[Callable[..., Any]], what: str) -> Callable[..., Any]:
    if not hooks:
        raise ImproperlyConfigured(f"meadow.accounts: no {what} (the enforcement app hands it in when ready)")
    return hooks[0]


# --- sign-up --------------------------------------------------------------------------------------------------
def _check_agreement(agree_terms: bool) -> None:
    if agree_terms is not True:
        raise ValidationFailed(
            _("Please read and agree to the user agreement and the privacy policy."),
            field="agree_terms",
            code="terms_required",
        )


def _blank_is_none(text: str | None) -> str | None:
    """A sign-up's display name that is only whitespace is no name: the handle stands in, as for an empty one (the
    schema allows any text there)."""
    return text if text and text.strip() else None


def _check_handle_free(handle: str) -> None:
    if User.objects.filter(handle=handle).exists():
        raise Conflict(
            _("The handle @%(handle)s is taken.") % {"handle": handle}, field="handle", code="handle_taken"
        )


def _check_password(password: str, *, handle: str, email: str | None = None) -> None:
    try:
        password_validation.validate_password(password, user=User(handle=handle, email=email))
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password", code="weak_password") from exc


def _record_agreements(user: User, *, ip: str | None) -> None:
    now = timezone.now()
    Agreement.objects.bulk_create(
        [
            Agreement(
                user=user, document=doc, version=settings.MEADOW_TERMS_VERSION, agreed_at=now, ip=ip or None
            )
            for doc in (Agreement.Document.TERMS, Agreement.Document.PRIVACY)
        ],
        ignore_conflicts=True,
    )


def _create_user(**fields: Any) -> User:
    try:
        with transaction.atomic():
            password = fields.pop("password", None)
            user = User(**fields)
            user.accent_color = ACCENT_COLORS[secrets.randbelow(len(ACCENT_COLORS))]
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save()
            return user
    except IntegrityError as exc:  # a concurrent sign-up won the race for the handle, e-mail or phone
        raise Conflict(_("This account already exists."), field="handle", code="handle_taken") from exc


def user_signup_email(
    *,
    handle: str,
    email: str,
    password: str,
    agree_terms: bool,
    display_name: str | None = None,
    language: str = "",
    ip: str | None = None,
) -> User:
    """Sign up with an e-mail address and a password. The e-mail is verified afterwards (not required to post)."""
    if ip:
        rate_limit_hit(scope="signup:ip", key=ip)
    _check_agreement(agree_terms)
    handle = clean_handle(handle)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("Enter a valid e-mail address."), field="email", code="bad_email") from exc
    _check_handle_free(handle)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("This e-mail address is already registered."), field="email", code="email_taken")
    _check_password(password, handle=handle, email=email)
    name = clean_display_name(_blank_is_none(display_name) or handle)
    with transaction.atomic():
        user = _create_user(
            handle=handle, email=email, password=password, display_name=name, language=_language(language)
        )
        _record_agreements(user, ip=ip)
    return user


def user_signup_phone_check(
    *,
    handle: str,
    phone: str,
    agree_terms: bool,
    password: str | None = None,
    display_name: str | None = None,
    code: str | None = None,
) -> tuple[str, str, str]:
    """Check every field of a phone sign-up all at once: several wrong fields raise ``FieldErrors`` with each
    one's error (one alone raises as itself). A ``code`` given is checked without being used up (a wrong one
    counts as an attempt). Returns (handle, phone, name)."""
    errors = ErrorCollector()
    with errors.check():
        _check_agreement(agree_terms)
    with errors.check():
        handle = clean_handle(handle)
        _check_handle_free(handle)
    with errors.check():
        phone = clean_phone(phone)
        if User.objects.filter(phone=phone).exists():
            raise Conflict(
                _("This phone number is already registered. Log in instead."),
                field="phone",
                code="phone_taken",
            )
    if password and not errors.failed("handle"):
        with errors.check():
            _check_password(password, handle=handle)
    name = ""
    with errors.check():
        name = clean_display_name(_blank_is_none(display_name) or handle)
    if code and not errors.failed("phone"):
        with errors.check():
            phone_code_consume(phone=phone, code=code, use=False)
    errors.raise_any()
    return handle, phone, name


def user_signup_phone(
    *,
    handle: str,
    phone: str,
    code: str,
    agree_terms: bool,
    password: str | None = None,
    display_name: str | None = None,
    language: str = "",
    ip: str | None = None,
) -> User:
    """Sign up with a phone number proven by a one-time code. A password is optional (log in by code). Every
    field is checked and all the errors raised together (``FieldErrors``); a right code is used up only once the
    rest is valid (a wrong one counts as an attempt either way)."""
    if ip:
        rate_limit_hit(scope="signup:ip", key=ip)
    errors = ErrorCollector()
    checked: tuple[str, str, str] | None = None
    with errors.check():
        checked = user_signup_phone_check(
            handle=handle, phone=phone, agree_terms=agree_terms, password=password, display_name=display_name
        )
    if not errors.failed("phone"):
        with errors.check():
            phone_code_consume(phone=phone, code=code, use=checked is not None)
    errors.raise_any()
    assert checked is not None
    handle, phone, name = checked
    with transaction.atomic():
        user = _create_user(
            handle=handle, phone=phone, password=password, display_name=name, language=_language(language)
        )
        _record_agreements(user, ip=ip)
    return user


def _language(value: str) -> str:
    value = (value or "").lower()
    return value if value in LANGUAGE_CODES else ""


# --- one-time phone codes -----------------------------------------------------------------------------------
def _hash_code(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def phone_code_request(*, phone: str, ip: str | None = None) -> int:
    """Send a 6-digit one-time code by SMS. Returns its lifetime in seconds. Older codes stop working."""
    phone = clean_phone(phone)
    rate_limit_hit(scope="code:phone:burst", key=phone)
    rate_limit_hit(scope="code:phone", key=phone)
    if ip:
        rate_limit_hit(scope="code:ip", key=ip)
    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = settings.MEADOW_PHONE_CODE_TTL
    now = timezone.now()
    with transaction.atomic():
        PhoneCode.objects.filter(phone=phone, used_at__isnull=True).update(used_at=now)
        PhoneCode.objects.create(
            phone=phone, code_hash=_hash_code(phone, code), expires_at=now + timedelta(seconds=ttl)
        )
    get_backend().send(
        phone=phone,
        message=_("Your Meadow code is %(code)s. It expires in %(minutes)d minutes. Never share it.")
        % {"code": code, "minutes": ttl // 60},
    )
    return ttl


def phone_code_consume(*, phone: str, code: str, use: bool = True) -> None:
    """Check and use up the code for ``phone``: single-use, expiring, with a limited number of attempts.
    ``use=False`` only checks it (a wrong code still counts as an attempt; a right one stays usable)."""
    phone = clean_phone(phone)
    code = "".join((code or "").split())
    rate_limit_hit(scope="code_verify:phone", key=phone)
    now = timezone.now()
    # Runs in its own transaction (callers must not wrap it in theirs): a wrong attempt is counted and
    # committed before the error is raised, so retries cannot roll the counter back.
    with transaction.atomic():
        current = (
            PhoneCode.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True)
            .order_by("-id")
            .first()
        )
        if current is None:
            raise ValidationFailed(_("Request a code first."), field="code", code="code_missing")
        if current.expires_at <= now:
            raise ValidationFailed(
                _("This code has expired. Request a new one."), field="code", code="code_expired"
            )
        if current.attempts >= settings.MEADOW_PHONE_CODE_MAX_ATTEMPTS:
            raise ValidationFailed(
                _("Too many wrong codes. Request a new one."), field="code", code="code_locked"
            )
        right = code.isdigit() and hmac.compare_digest(current.code_hash, _hash_code(phone, code))
        if right and use:
            PhoneCode.objects.filter(pk=current.pk).update(used_at=now)
        else:
            PhoneCode.objects.filter(pk=current.pk).update(attempts=F("attempts") + 1)
    if not right:
        raise _WrongCode()


class _WrongCode(DomainError):
    code = "code_wrong"

    def __init__(self) -> None:
        super().__init__(_("That code is not right. Check the SMS and try again."), field="code")


def phone_codes_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _n = PhoneCode.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- tokens and login ------------------------------------------------------------------------------------------
def _login_limit_keys(*, login: str, ip: str | None) -> list[tuple[str, str]]:
    """The rate-limit counters one password attempt on ``login`` from ``ip`` moves.

    The account is the one the login resolves to (or, for a login no account answers to, its normalised
    spelling), so ``@Handle``, ``+6012…``, ``012-…`` or full-width digits open no fresh allowance. A known
    account's key carries its password stamp: after a reset or any password change the owner starts afresh
    everywhere, whatever a guesser piled up against the old password."""
    user = user_find_by_login(login=login)
    account = f"user:{user.pk}:{user_password_stamp(user=user)}" if user else login_identity(login=login)
    keys = [("login:account", f"{account}|{ip or '-'}"), ("login:account:all", account)]
    return [("login:ip", ip), *keys] if ip else keys


def user_authenticate(*, login: str, password: str, ip: str | None = None) -> User | None:
    """The account ``login`` names if ``password`` is its password (active or not; callers decide), else
    ``None``; ``RateLimited`` past a limit. Every door that checks a password comes here: the token endpoint,
    the web login, allauth's login and the admin (the last three through ``LoginBackend``).

    Only failures count. Each attempt is counted first (so parallel guesses cannot overshoot the limit) and a
    right password gives its attempt back. The tight limit is per account *and* client address: a stranger who
    keeps failing locks only their own address out, not the owner elsewhere; a much higher account-wide ceiling
    slows a guesser spread over many addresses. Signing in with an SMS code and resetting the password never
    pass through here, so the owner always has a way in, and a new password starts a fresh count."""
    counted: list[tuple[str, str]] = []
    for scope, key in _login_limit_keys(login=login, ip=ip):
        rate_limit_hit(scope=scope, key=key)
        counted.append((scope, key))
    user = user_check_password(login=login, password=password)
    if user is not None:
        for scope, key in counted:
            rate_limit_refund(scope=scope, key=key)
    return user


def user_check_password(*, login: str, password: str) -> User | None:
    """The account ``login`` names if ``password`` is its password (active or not; callers decide), else
    ``None``. An unknown login costs the same work as a known one: a dummy password is hashed with the default
    hasher, so the answer's timing does not tell whether an account exists. Counts nothing: sign-in doors use
    :func:`user_authenticate`."""
    user = user_find_by_login(login=login)
    if user is None:
        User().set_password(password or "")
        return None
    return user if user.check_password(password or "") else None


TOKEN_NAME_MAX = 60


def _token_name(name: str) -> str:
    """A token's label as people see it in Settings: one line, without bidi controls or other invisible
    characters (which could make "Pixel 9" display as someone else's device), at most 60 characters."""
    one_line = " ".join(unicodedata.normalize("NFC", name or "").split())
    return " ".join(strip_invisible(one_line).split())[:TOKEN_NAME_MAX]


def _token_create(*, user: User, name: str = "") -> str:
    raw = "mdw_" + secrets.token_urlsafe(32)
    now = timezone.now()
    ApiToken.objects.create(
        user=user,
        key_hash=hashlib.sha256(raw.encode()).hexdigest(),
        prefix=raw[:10],
        name=_token_name(name),
        created_at=now,
        expires_at=now + timedelta(days=settings.MEADOW_API_TOKEN_DAYS),
        password_stamp=user_password_stamp(user=user),
    )
    return raw


def _bad_credentials() -> DomainError:
    return DomainError(_("The login or the password is not right."), code="bad_credentials")


def token_issue(*, login: str, password: str, ip: str | None = None, name: str = "") -> tuple[User, str]:
    """A bearer token for ``login`` (handle, e-mail or phone) and ``password``. A wrong password and an unknown
    login get the same answer (and cost the same work)."""
    user = user_authenticate(login=login, password=password, ip=ip)
    if user is not None and not user.is_active:  # suspended: say so and until when (or lift an ended one)
        user = _gate(_LOGIN_GATE, "login gate")(login=login, password=password)
    if user is None or not user.is_active:
        raise _bad_credentials()
    return user, _token_create(user=user, name=name)


def _user_by_phone_code(*, phone: str, code: str) -> User:
    """The active account of ``phone``, proven by its one-time code. The code is checked whether or not an
    account uses the number, so a wrong code answers the same for both; only the owner of the number, having
    proven it, learns that no account uses it."""
    phone = clean_phone(phone)
    phone_code_consume(phone=phone, code=code)
    user = User.objects.filter(phone=phone, is_active=True).first()
    if user is None:
        raise DomainError(
            _("No account uses this phone number. Sign up first."), field="phone", code="no_account"
        )
    return user


def token_issue_by_phone(*, phone: str, code: str, ip: str | None = None, name: str = "") -> tuple[User, str]:
    """A bearer token for a phone account proven by a one-time code."""
    if ip:
        rate_limit_hit(scope="login:ip", key=ip)
    user = _user_by_phone_code(phone=phone, code=code)
    return user, _token_create(user=user, name=name)


def user_login_by_phone(*, phone: str, code: str, ip: str | None = None) -> User:
    """The account a phone number and its one-time code prove (for the web login by code)."""
    if ip:
        rate_limit_hit(scope="login:ip", key=ip)
    return _user_by_phone_code(phone=phone, code=code)


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_revoke_for_user(*, user: User, token_id: int) -> None:
    """Revoke one of ``user``'s own tokens. Another account's token (or none) is ``NotFound``: its existence
    does not leak, and nothing is revoked. Revoking an already revoked or expired token is a no-op."""
    if not ApiToken.objects.filter(pk=token_id, user=user).exists():
        raise NotFound(_("Not found."))
    ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_password_set(*, user: User, password: str) -> int:
    """Change (or reset, or first set) ``user``'s password, and revoke every API token of theirs in the same
    transaction; returns how many tokens were revoked. allauth's password change, reset and set flows all come
    here (``AccountAdapter.set_password``).

    Sessions need no row-by-row sweep: Django keeps a hash of the password in each session and refuses a session
    whose hash no longer matches, so every other browser is signed out by the change itself, while the session
    that made a change is re-stamped by allauth (``update_session_auth_hash``) and stays signed in."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        return tokens_revoke_all(user=user)


def tokens_revoke_all(*, user: User) -> int:
    """Revoke every live API token of ``user`` (their password changed); returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


TOKEN_TOUCH_EVERY = timedelta(minutes=1)


def token_authenticate(*, raw: str) -> tuple[User, ApiToken] | None:
    """The account and token a bearer secret names, if the token is live: not revoked, not expired, issued
    under the account's current password (its password stamp), and its account active. ``last_used_at`` moves at most once a minute per token, with a conditional UPDATE (a busy
    client does not write on every request, and concurrent requests write once)."""
    if not raw or not raw.startswith("mdw_") or len(raw) > 100:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(
            key_hash=hashlib.sha256(raw.encode()).hexdigest(), revoked_at__isnull=True, expires_at__gt=now
        )
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if not hmac.compare_digest(token.password_stamp, user_password_stamp(user=token.user)):
        # The password changed since the token was issued (by any path): the token is dead; record it.
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOKEN_TOUCH_EVERY)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


# --- profile --------------------------------------------------------------------------------------------------
PROFILE_FIELDS = {
    "display_name",
    "handle",
    "bio",
    "location",
    "gender",
    "birthday",
    "is_private",
    "message_policy",
    "language",
}


def profile_update(*, user: User, **changes: Any) -> User:
    """Change profile fields. Everything is validated first; nothing is written if any field is wrong."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise ValidationFailed(_("Unknown field."), field=sorted(unknown)[0], code="unknown_field")
    clean: dict[str, Any] = {}
    if "display_name" in changes:
        clean["display_name"] = clean_display_name(changes["display_name"])
    if "handle" in changes:
        handle = clean_handle(changes["handle"])
        if handle != user.handle:
            _check_handle_free(handle)
        clean["handle"] = handle
    if "bio" in changes:
        clean["bio"] = clean_bio(changes["bio"] or "")
    if "location" in changes:
        location = " ".join((changes["location"] or "").split())
        if len(location) > LOCATION_MAX:
            raise ValidationFailed(_("The location is too long."), field="location", code="too_long")
        clean["location"] = location
    if "gender" in changes:
        gender = changes["gender"] or ""
        if gender not in User.Gender.values:
            raise ValidationFailed(_("Choose one of the options."), field="gender", code="invalid_choice")
        clean["gender"] = gender
    if "birthday" in changes:
        birthday = changes["birthday"]
        if isinstance(birthday, str):
            try:
                birthday = date.fromisoformat(birthday) if birthday else None
            except ValueError as exc:
                raise ValidationFailed(_("Enter a valid date."), field="birthday", code="bad_date") from exc
        if birthday is not None and not (date(1900, 1, 1) <= birthday <= timezone.now().date()):
            raise ValidationFailed(_("Enter a valid date."), field="birthday", code="bad_date")
        clean["birthday"] = birthday
    if "is_private" in changes:
        clean["is_private"] = bool(changes["is_private"])
    if "message_policy" in changes:
        if changes["message_policy"] not in User.MessagePolicy.values:
            raise ValidationFailed(
                _("Choose one of the options."), field="message_policy", code="invalid_choice"
            )
        clean["message_policy"] = changes["message_policy"]
    if "language" in changes:
        if (changes["language"] or "") not in LANGUAGE_CODES | {""}:
            raise ValidationFailed(_("Choose one of the options."), field="language", code="invalid_choice")
        clean["language"] = changes["language"] or ""
    _gate(_PROFILE_SCREEN, "profile screening")(
        user=user, changes=clean
    )  # name and bio are moderated: a redirect refuses
    if not clean:
        return user
    try:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(**clean)
            if clean.get("is_private") is False:
                _follow_requests_approve_all(user=user)
    except IntegrityError as exc:
        raise Conflict(_("The handle is taken."), field="handle", code="handle_taken") from exc
    user.refresh_from_db()
    return user


def profile_set_image(*, user: User, kind: str, upload) -> User:
    """Replace the avatar (``kind="avatar"``, square 400 px) or the background (``"background"``, 1500×500)."""
    if kind not in {"avatar", "background"}:
        raise ValidationFailed(_("Unknown field."), field=kind, code="unknown_field")
    fit, crop = ((400, 400), True) if kind == "avatar" else ((1500, 500), True)
    image = process_image_upload(
        upload, field=kind, max_bytes=settings.MEADOW_AVATAR_MAX_BYTES, fit=fit, crop=crop, name=kind
    )
    old = getattr(user, kind)
    old_name = old.name if old else ""
    getattr(user, kind).save(image.content.name, image.content, save=False)
    User.objects.filter(pk=user.pk).update(**{kind: getattr(user, kind).name})
    if old_name:
        transaction.on_commit(lambda: old.storage.delete(old_name))
    return user


# --- follow and block ------------------------------------------------------------------------------------------
# Outbox topics (meadow.core.outbox) for the apps above: payload {"follower_id", "followee_id"}.
FOLLOW_CREATED = "accounts.follow_created"  # a new follow, active at once (distribution: interests learn)
FOLLOW_ACTIVATED = (
    "accounts.follow_activated"  # any follow that became active (notifications: tell the followee)
)


def follow_create(*, follower: User, followee: User) -> str:
    """Follow ``followee``. Idempotent. Returns ``following`` or, for a private account, ``requested``."""
    if follower.pk == followee.pk:
        raise ValidationFailed(_("You cannot follow yourself."), code="follow_self")
    if has_blocked(blocker=followee, blocked=follower):
        raise NotFound(_("This account is not available."))
    if has_blocked(blocker=follower, blocked=followee):
        raise PermissionDenied(_("Unblock this account to follow it."), code="blocked")
    status = Follow.Status.PENDING if followee.is_private else Follow.Status.ACTIVE
    with transaction.atomic():
        link, created = Follow.objects.get_or_create(
            follower=follower, followee=followee, defaults={"status": status}
        )
        if created:
            FollowEvent.objects.create(follower=follower, followee=followee, kind=FollowEvent.Kind.FOLLOW)
        if created and link.status == Follow.Status.ACTIVE:
            _count_follow(follower_id=follower.pk, followee_id=followee.pk, delta=1)
            # the follower's interest profile learns the followee's categories (distribution consumes it)
            outbox_record(FOLLOW_CREATED, follower_id=follower.pk, followee_id=followee.pk)
    return "following" if link.status == Follow.Status.ACTIVE else "requested"


def follow_delete(*, follower: User, followee: User) -> None:
    """Unfollow, or withdraw a follow request. Idempotent."""
    with transaction.atomic():
        link = Follow.objects.select_for_update().filter(follower=follower, followee=followee).first()
        if link is None:
            return
        link.delete()
        FollowEvent.objects.create(follower=follower, followee=followee, kind=FollowEvent.Kind.UNFOLLOW)
        if link.status == Follow.Status.ACTIVE:
            _count_follow(follower_id=follower.pk, followee_id=followee.pk, delta=-1)


def follow_request_decide(*, user: User, requester: User, accept: bool) -> None:
    """The private account ``user`` accepts or declines ``requester``'s follow request."""
    with transaction.atomic():
        link = (
            Follow.objects.select_for_update()
            .filter(follower=requester, followee=user, status=Follow.Status.PENDING)
            .first()
        )
        if link is None:
            raise NotFound(_("There is no such follow request."))
        if accept:
            Follow.objects.filter(pk=link.pk).update(status=Follow.Status.ACTIVE)
            _count_follow(follower_id=requester.pk, followee_id=user.pk, delta=1)
        else:
            link.delete()


def _follow_requests_approve_all(*, user: User) -> None:
    for link in Follow.objects.select_for_update().filter(followee=user, status=Follow.Status.PENDING):
        Follow.objects.filter(pk=link.pk).update(status=Follow.Status.ACTIVE)
        _count_follow(follower_id=link.follower_id, followee_id=user.pk, delta=1)


def _count_follow(*, follower_id: int, followee_id: int, delta: int) -> None:
    """Move both counters; a follow that becomes active (direct, accepted request, account made public) tells
    the followee, after commit — the one place every door to a follow passes through."""
    User.objects.filter(pk=followee_id).update(followers_count=F("followers_count") + delta)
    User.objects.filter(pk=follower_id).update(following_count=F("following_count") + delta)
    if delta > 0:  # the followee is told (notifications consumes it)
        outbox_record(FOLLOW_ACTIVATED, follower_id=follower_id, followee_id=followee_id)


def block_create(*, blocker: User, blocked: User) -> None:
    """Block an account: follows both ways end, and it can no longer follow, message or comment. Idempotent."""
    if blocker.pk == blocked.pk:
        raise ValidationFailed(_("You cannot block yourself."), code="block_self")
    with transaction.atomic():
        Block.objects.get_or_create(blocker=blocker, blocked=blocked)
        follow_delete(follower=blocker, followee=blocked)
        follow_delete(follower=blocked, followee=blocker)


def block_delete(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


# --- where accounts sign up and sign in from (integrity checks) ---------------------------------------------------
DEVICE_COOKIE = "meadow_device"
# The device identifier the official apps send with every request (an install id, nothing else): an API client
# that signs in with a bearer token keeps no cookie jar, so the cookie alone would never see its device.
DEVICE_HEADER = "HTTP_X_MEADOW_DEVICE"
_DEVICE_ID = re.compile(r"[^A-Za-z0-9._:-]")


def device_id_of(request) -> str:
    """The device a request says it comes from: the ``X-Meadow-Device`` header (apps), else the first-party
    ``meadow_device`` cookie (browsers); "" when it presents neither. At most 64 characters, no odd bytes."""
    raw = request.META.get(DEVICE_HEADER, "") or request.COOKIES.get(DEVICE_COOKIE, "")
    return _DEVICE_ID.sub("", str(raw))[:64]


def network_prefix(ip: str | None) -> str:
    """The network an address belongs to, never the address itself: its /24 (IPv4) or /64 (IPv6); "" if none."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def access_record(
    *, user: User, kind: str, ip: str | None, user_agent: str = "", device_cookie: str = ""
) -> AccessRecord:
    """Record the network (prefix only) and device fingerprint of a sign-up or a sign-in.

    ``device_cookie`` is the identifier the client presented (``device_id_of``: the apps' header or the
    browser's cookie). A client that presents none is fingerprinted by its User-Agent *on its network* — a
    weaker fingerprint, marked with a leading ``~`` (a User-Agent alone is shared by thousands of phones, but
    several sign-ups of one User-Agent from one /24 within a day are worth a look)."""
    agent = (user_agent or "")[:512]
    network = network_prefix(ip)
    if device_cookie:
        device = _digest(agent, device_cookie[:64])
    elif agent and network:
        device = "~" + _digest("agent-on-network", agent, network)[:31]
    else:
        device = ""
    return AccessRecord.objects.create(
        user=user,
        kind=kind if kind in AccessRecord.Kind.values else AccessRecord.Kind.LOGIN,
        network=network,
        device=device,
        agent=_digest(agent) if agent else "",
    )


def access_record_on_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: a session sign-in's network and device — the first one of an account that
    has none recorded is its sign-up (the web sign-up signs the new account in)."""
    if request is None or user is None or not getattr(user, "pk", None):
        return
    first = not AccessRecord.objects.filter(user=user).exists()
    access_record(
        user=user,
        kind=AccessRecord.Kind.SIGNUP if first else AccessRecord.Kind.LOGIN,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        device_cookie=device_id_of(request),
    )
