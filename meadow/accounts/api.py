"""Accounts endpoints: sign-up, codes, tokens, the signed-in profile, other people's profiles, follow, block."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, Status, UploadedFile
from pydantic import ConfigDict, Field, StrictBool

from meadow.accounts import selectors, services
from meadow.accounts.models import BIO_MAX, DISPLAY_NAME_MAX, HANDLE_MAX, LOCATION_MAX, User
from meadow.accounts.validation import HANDLE_INPUT_PATTERN, PHONE_MAX, PHONE_PATTERN, password_min_length
from meadow.core.errors import NotFound, PermissionDenied, ValidationFailed
from meadow.core.http import optional_auth, responses, token_or_session
from meadow.core.images import image_upload_openapi
from meadow.core.pagination import PageCursor, PageLimit, paginate_desc
from meadow.core.ratelimit import client_ip
from meadow.core.schema import JSONDate, Limits, SafeNonBlankText, SafeText, Text

auth_router = Router(tags=["auth"])
me_router = Router(tags=["me"], auth=token_or_session)
users_router = Router(tags=["users"])


# --- shapes -----------------------------------------------------------------------------------------------------
class Counts(Schema):
    following: int
    followers: int
    likes_and_saves: int


class UserOut(Schema):
    handle: str
    display_name: str
    avatar: str | None
    background: str | None
    bio: str
    location: str
    verified: bool
    is_private: bool
    counts: Counts
    viewer: dict[str, str] | None = None  # {"follow": "none"|"following"|"requested"|"self"}


class MeOut(UserOut):
    email: str | None
    phone: str | None
    gender: str
    birthday: date | None
    message_policy: str
    language: str
    date_joined: datetime


def _url(request: HttpRequest, field) -> str | None:
    return request.build_absolute_uri(field.url) if field else None


def user_out(request: HttpRequest, user: User, *, viewer: User | None = None) -> dict:
    data = {
        "handle": user.handle,
        "display_name": user.display_name,
        "avatar": _url(request, user.avatar),
        "background": _url(request, user.background),
        "bio": user.bio,
        "location": user.location,
        "verified": False,
        "is_private": user.is_private,
        "counts": {
            "following": user.following_count,
            "followers": user.followers_count,
            "likes_and_saves": user.likes_saves_received_count,
        },
    }
    if viewer is not None and viewer.is_authenticated:
        data["viewer"] = {"follow": selectors.follow_status(follower=viewer, followee=user)}
    return data


def me_out(request: HttpRequest, user: User) -> dict:
    return {
        **user_out(request, user),
        "email": user.email,
        "phone": user.phone,
        "gender": user.gender,
        "birthday": user.birthday,
        "message_policy": user.message_policy,
        "language": user.language,
        "date_joined": user.date_joined,
    }


def _viewer(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


# The service checks the handle (clean_handle: its messages and codes); the schema states the same rule. Past 64
# characters pydantic refuses it outright, before any work.
Handle = Annotated[str, Field(max_length=64), Limits(max_length=HANDLE_MAX, pattern=HANDLE_INPUT_PATTERN)]
# A Malaysian mobile number: the pattern clean_phone() checks, stated as it is.
Phone = Annotated[str, Field(max_length=PHONE_MAX), Limits(pattern=PHONE_PATTERN)]


# --- auth -------------------------------------------------------------------------------------------------------
# E-mail + password, or phone + its one-time code: exactly one of the two (both is a 400). The password's minimum
# length is the one Django's MinimumLengthValidator checks; its other validators (common or numeric passwords,
# too like the handle or e-mail) are a refusal of the data no schema states: 400 ``weak_password``.
ONE_LOGIN = {
    "oneOf": [
        {
            "properties": {
                "email": {"type": "string"},
                "phone": {"type": "null"},
                "password": {"type": "string", "minLength": password_min_length()},
            },
            "required": ["email", "password"],
        },
        {
            "properties": {
                "email": {"type": "null"},
                "phone": {"type": "string"},
                "code": {"type": "string"},
            },
            "required": ["phone", "code"],
        },
    ]
}


class SignupIn(Schema):
    model_config = ConfigDict(json_schema_extra=ONE_LOGIN)

    handle: Handle
    agree_terms: Annotated[StrictBool, Limits(enum=(True,))] = Field(
        description="JSON true: the user read and agreed to the terms and privacy policy"
    )
    password: str | None = Field(default=None, max_length=256)
    email: Annotated[str, Limits(format="email")] | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    code: str | None = Field(default=None, max_length=16)
    display_name: Annotated[SafeText, Limits(max_length=DISPLAY_NAME_MAX)] | None = None
    language: str | None = Field(default=None, max_length=8)


@auth_router.post("/signup", response=responses({201: MeOut}), auth=None)
def signup(request: HttpRequest, payload: SignupIn, response: HttpResponse):
    """Create an account by e-mail + password, or by phone + one-time code (request it with /auth/phone/code).
    ``agree_terms`` must be true: the agreement's version and time are recorded."""
    ip = client_ip(request)
    common = {
        "handle": payload.handle,
        "agree_terms": payload.agree_terms,
        "display_name": payload.display_name,
        "language": payload.language or "",
        "ip": ip,
    }
    if payload.phone is not None and payload.email is not None:
        raise ValidationFailed(
            _("Give an e-mail address or a phone number, not both."), field="email", code="email_or_phone"
        )
    if payload.phone is not None:
        user = services.user_signup_phone(
            phone=payload.phone, code=payload.code or "", password=payload.password, **common
        )
    else:
        if not payload.email:
            raise ValidationFailed(
                _("Give an e-mail address or a phone number."), field="email", code="required"
            )
        user = services.user_signup_email(email=payload.email, password=payload.password or "", **common)
        _send_email_verification(request, user)
    _access_record(request, response, user, kind="signup", ip=ip)
    return Status(201, me_out(request, user))


def _access_record(request: HttpRequest, response: HttpResponse, user: User, *, kind: str, ip: str) -> None:
    """The network and device of a sign-up or sign-in (the integrity checks' sign-up velocity). The device is
    the ``X-Meadow-Device`` header the apps send, else the first-party device cookie. A client presenting
    neither is recorded by its User-Agent on its network (``services.access_record``) and is given the cookie
    (a random id, nothing else) for next time, so a browser signing up many accounts shows as one device."""
    device = services.device_id_of(request)
    if not device:
        response.set_cookie(
            services.DEVICE_COOKIE,
            secrets.token_urlsafe(16),
            max_age=2 * 365 * 86400,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    services.access_record(
        user=user, kind=kind, ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", ""), device_cookie=device
    )


def _send_email_verification(request: HttpRequest, user: User) -> None:
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    address.send_confirmation(request, signup=True)


class PhoneCodeIn(Schema):
    phone: Phone


class PhoneCodeOut(Schema):
    sent: bool
    expires_in: int


@auth_router.post("/phone/code", response=responses({202: PhoneCodeOut}), auth=None)
def phone_code(request: HttpRequest, payload: PhoneCodeIn):
    """Send a one-time code by SMS (expires, single-use, rate-limited per number and per IP)."""
    ttl = services.phone_code_request(phone=payload.phone, ip=client_ip(request))
    return Status(202, {"sent": True, "expires_in": ttl})


class TokenIn(Schema):
    login: str | None = Field(
        default=None, max_length=254, description="A handle, an e-mail address or a phone"
    )
    password: str | None = Field(default=None, max_length=256)
    phone: Phone | None = Field(default=None, description="Or: a phone number and its one-time code")
    code: str | None = Field(default=None, max_length=16)
    name: str = Field(default="", max_length=60, description="A label for the token, e.g. the device")


class TokenOut(Schema):
    token: str
    handle: str


# What signing in for a token means to apps above accounts (privacy cancels a scheduled account deletion),
# handed in by ``meadow/api.py`` when it builds the API, as the token check is.
_ON_TOKEN_SIGN_IN: list[Callable[..., Any]] = []


def token_sign_in_hooks_set(*hooks: Callable[..., Any]) -> None:
    """The functions ``POST /auth/token`` calls with ``user=`` after a successful sign-in."""
    _ON_TOKEN_SIGN_IN[:] = list(hooks)


@auth_router.post("/token", response=responses({200: TokenOut}), auth=None)
def token(request: HttpRequest, payload: TokenIn, response: HttpResponse):
    """A bearer token: ``{"login", "password"}`` or ``{"phone", "code"}``."""
    ip = client_ip(request)
    if payload.phone and payload.code:
        user, raw = services.token_issue_by_phone(
            phone=payload.phone, code=payload.code, ip=ip, name=payload.name
        )
    else:
        user, raw = services.token_issue(
            login=payload.login or "", password=payload.password or "", ip=ip, name=payload.name
        )
    _access_record(request, response, user, kind="login", ip=ip)
    for on_sign_in in _ON_TOKEN_SIGN_IN:  # privacy's: signing in cancels a scheduled account deletion
        on_sign_in(user=user)
    return {"token": raw, "handle": user.handle}


@auth_router.delete("/token", response=responses({204: None}), auth=token_or_session)
def token_delete(request: HttpRequest):
    """Revoke the bearer token this request carries."""
    token = getattr(request, "auth_token", None)
    if token is not None:
        services.token_revoke(token=token)
    return Status(204, None)


# --- me ---------------------------------------------------------------------------------------------------------
class MePatch(Schema):
    display_name: Annotated[SafeNonBlankText, Limits(max_length=DISPLAY_NAME_MAX)] | None = None
    handle: Handle | None = None
    bio: Annotated[Text, Limits(max_length=BIO_MAX)] | None = None
    location: Annotated[Text, Limits(max_length=LOCATION_MAX)] | None = None
    gender: Literal["", "female", "male", "other"] | None = None
    birthday: JSONDate | None = Field(
        default=None,
        description="From 1900-01-01 to today",
        # The range JSON Schema cannot state: the schema offers 1900–2019 birthdays; the service checks the range.
        json_schema_extra={"pattern": r"^(19[0-9]{2}|20[01][0-9])-"},
    )
    is_private: StrictBool | None = None
    message_policy: Literal["everyone", "following", "nobody"] | None = None
    language: Literal["", "zh-hans", "en", "ms"] | None = None


@me_router.get("", response=responses({200: MeOut}))
def me_get(request: HttpRequest):
    return me_out(request, request.user)


@me_router.patch("", response=responses({200: MeOut}))
def me_patch(request: HttpRequest, payload: MePatch):
    changes = payload.dict(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None or k == "birthday"}
    user = services.profile_update(user=request.user, **changes)
    return me_out(request, user)


@me_router.post("/avatar", response=responses({200: MeOut}), openapi_extra=image_upload_openapi("file"))
def me_avatar(request: HttpRequest, file: UploadedFile = File(...)):
    """Upload a profile picture (JPEG, PNG, WebP or HEIC; cropped square, EXIF removed)."""
    services.profile_set_image(user=request.user, kind="avatar", upload=file)
    request.user.refresh_from_db()
    return me_out(request, request.user)


@me_router.post("/background", response=responses({200: MeOut}), openapi_extra=image_upload_openapi("file"))
def me_background(request: HttpRequest, file: UploadedFile = File(...)):
    """Upload a background image (cropped 3:1, EXIF removed)."""
    services.profile_set_image(user=request.user, kind="background", upload=file)
    request.user.refresh_from_db()
    return me_out(request, request.user)


TokenId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # larger ids would overflow the database


class TokenInfoOut(Schema):
    id: int
    name: str = Field(description="The label given when the token was issued (e.g. the device); may be empty")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    expires_at: datetime
    current: bool = Field(description="True for the token this request carries")


class TokenPage(Schema):
    items: list[TokenInfoOut]
    next_cursor: str | None


def token_info_out(token, *, current_id: int | None) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
        "current": token.pk == current_id,
    }


@me_router.get("/tokens", response=responses({200: TokenPage}))
def me_tokens(request: HttpRequest, cursor: PageCursor = None, limit: PageLimit = None):
    """The signed-in account's API tokens that still work (the apps signed in), newest first. The secret is
    never shown again after it is issued."""
    current = getattr(request, "auth_token", None)
    return paginate_desc(
        selectors.tokens_live_for(user=request.user),
        cursor=cursor,
        limit=limit,
        shape=lambda token: token_info_out(token, current_id=current.pk if current else None),
    )


@me_router.delete("/tokens/{token_id}", response=responses({204: None}))
def me_token_delete(request: HttpRequest, token_id: TokenId):
    """Revoke one of the signed-in account's tokens (sign that app out). Another account's token is 404."""
    services.token_revoke_for_user(user=request.user, token_id=token_id)
    return Status(204, None)


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None


@me_router.get("/follow-requests", response=responses({200: UserPage}))
def me_follow_requests(request: HttpRequest, cursor: PageCursor = None, limit: PageLimit = None):
    """People asking to follow this private account."""
    return paginate_desc(
        selectors.follow_requests_for(user=request.user),
        cursor=cursor,
        limit=limit,
        shape=lambda link: user_out(request, link.follower),
    )


class Decision(Schema):
    status: str


@me_router.post("/follow-requests/{handle}/{decision}", response=responses({200: Decision}))
def me_follow_request_decide(request: HttpRequest, handle: str, decision: Literal["accept", "decline"]):
    requester = selectors.user_get_for_viewer(viewer=request.user, handle=handle)
    services.follow_request_decide(user=request.user, requester=requester, accept=decision == "accept")
    return {"status": "accepted" if decision == "accept" else "declined"}


# --- users ------------------------------------------------------------------------------------------------------
@users_router.get("/{handle}", response=responses({200: UserOut}), auth=optional_auth)
def user_get(request: HttpRequest, handle: str):
    viewer = _viewer(request)
    return user_out(request, selectors.user_get_for_viewer(viewer=viewer, handle=handle), viewer=viewer)


class FollowOut(Schema):
    follow: Literal["none", "following", "requested"]
    followers: int


@users_router.post("/{handle}/follow", response=responses({200: FollowOut}), auth=token_or_session)
def follow(request: HttpRequest, handle: str):
    """Follow (idempotent). On a private account this sends a follow request."""
    target = selectors.user_get_for_viewer(viewer=request.user, handle=handle)
    status = services.follow_create(follower=request.user, followee=target)
    target.refresh_from_db(fields=["followers_count"])
    return {"follow": status, "followers": target.followers_count}


@users_router.delete("/{handle}/follow", response=responses({200: FollowOut}), auth=token_or_session)
def unfollow(request: HttpRequest, handle: str):
    """Unfollow or withdraw a request (idempotent)."""
    target = selectors.user_get_for_viewer(viewer=request.user, handle=handle)
    services.follow_delete(follower=request.user, followee=target)
    target.refresh_from_db(fields=["followers_count"])
    return {"follow": "none", "followers": target.followers_count}


class BlockOut(Schema):
    blocked: bool


@users_router.post("/{handle}/block", response=responses({200: BlockOut}), auth=token_or_session)
def block(request: HttpRequest, handle: str):
    target = selectors.user_get_for_viewer(viewer=request.user, handle=handle)
    services.block_create(blocker=request.user, blocked=target)
    return {"blocked": True}


@users_router.delete("/{handle}/block", response=responses({200: BlockOut}), auth=token_or_session)
def unblock(request: HttpRequest, handle: str):
    target = selectors.user_get_for_viewer(viewer=request.user, handle=handle)
    services.block_delete(blocker=request.user, blocked=target)
    return {"blocked": False}


def _connections(
    request: HttpRequest, handle: str, which: str, cursor: str | None, limit: int | None
) -> dict:
    viewer = _viewer(request)
    user = selectors.user_get_for_viewer(viewer=viewer, handle=handle)
    if not selectors.can_see_connections(viewer=viewer, user=user):
        if viewer is None:
            raise NotFound(_("Not found."))
        raise PermissionDenied(_("This account is private."), code="private_account")
    if which == "followers":
        return paginate_desc(
            selectors.followers_of(user=user),
            cursor=cursor,
            limit=limit,
            shape=lambda link: user_out(request, link.follower),
        )
    return paginate_desc(
        selectors.following_of(user=user),
        cursor=cursor,
        limit=limit,
        shape=lambda link: user_out(request, link.followee),
    )


@users_router.get("/{handle}/followers", response=responses({200: UserPage}), auth=optional_auth)
def followers(request: HttpRequest, handle: str, cursor: PageCursor = None, limit: PageLimit = None):
    return _connections(request, handle, "followers", cursor, limit)


@users_router.get("/{handle}/following", response=responses({200: UserPage}), auth=optional_auth)
def following(request: HttpRequest, handle: str, cursor: PageCursor = None, limit: PageLimit = None):
    return _connections(request, handle, "following", cursor, limit)
