"""Notification endpoints: the list (by bucket), unread counts, mark as read, mute settings; Web Push (the
VAPID key, this browser's subscription, and which kinds are pushed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictBool

from meadow.core.http import responses, token_or_session
from meadow.core.pagination import PageCursor, PageLimit
from meadow.core.schema import JSONId, Limits, Text
from meadow.notifications import push, selectors, services
from meadow.notifications.models import Notification
from meadow.notifications.text import notification_summary

router = Router(tags=["notifications"], auth=token_or_session)

BucketIn = Literal["comments", "likes", "followers", "system"]


class ActorOut(Schema):
    handle: str
    display_name: str
    avatar: str | None


class NotificationNoteOut(Schema):
    id: int
    title: str
    cover: str | None


class NotificationOut(Schema):
    id: int
    kind: str
    bucket: str
    actor: ActorOut | None
    others: int
    note: NotificationNoteOut | None
    comment: str | None
    text: str
    summary: str
    data: dict
    created_at: datetime
    updated_at: datetime
    read: bool


class UnreadOut(Schema):
    comments: int
    likes: int
    followers: int
    system: int
    total: int


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: UnreadOut


class ReadIn(Schema):
    bucket: BucketIn | None = None
    ids: list[JSONId] | None = Field(default=None, max_length=200)


class ReadOut(Schema):
    marked: int
    unread: UnreadOut


class SettingsOut(Schema):
    likes: bool
    comments: bool
    mentions: bool
    follows: bool
    comment_likes: bool


class SettingsPatch(Schema):
    likes: StrictBool | None = None
    comments: StrictBool | None = None
    mentions: StrictBool | None = None
    follows: StrictBool | None = None
    comment_likes: StrictBool | None = None


def _abs(request: HttpRequest, field) -> str | None:
    return request.build_absolute_uri(field.url) if field else None


def notification_out(request: HttpRequest, item: Notification) -> dict:
    note = item.note
    cover = None
    if note is not None:
        images = list(note.images.all())
        cover = _abs(request, images[0].thumb) if images and images[0].thumb else None
    return {
        "id": item.pk,
        "kind": item.kind,
        "bucket": item.bucket,
        "actor": {
            "handle": item.actor.handle,
            "display_name": item.actor.display_name,
            "avatar": _abs(request, item.actor.avatar),
        }
        if item.actor
        else None,
        "others": max(0, item.actor_count - 1),
        "note": {"id": note.pk, "title": note.title, "cover": cover} if note is not None else None,
        "comment": item.comment.body if item.comment else None,
        "text": notification_summary(item) if item.code else item.text,
        "summary": notification_summary(item),
        "data": item.data or {},
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "read": item.read_at is not None,
    }


def _settings_out(found) -> dict:
    return {name: getattr(found, name) for name in services.SETTING_FIELDS}


@router.get("/notifications", response=responses({200: NotificationPage}))
def notifications(
    request: HttpRequest, bucket: BucketIn | None = None, cursor: PageCursor = None, limit: PageLimit = None
):
    """Your notifications, newest activity first; ``bucket`` picks comments and @mentions, likes and saves, new
    followers or system notices. Likes and saves of one note are grouped ("Lily and 12 others")."""
    page = selectors.notifications_for_user(user=request.user, bucket=bucket, cursor=cursor, limit=limit)
    return {
        "items": [notification_out(request, n) for n in page["items"]],
        "next_cursor": page["next_cursor"],
        "unread": selectors.notifications_unread_counts(user_id=request.user.pk),
    }


@router.post("/notifications/read", response=responses({200: ReadOut}))
def notifications_read(request: HttpRequest, payload: ReadIn):
    """Mark as read: everything, one ``bucket``, or the given ``ids``."""
    marked = services.notifications_mark_read(user=request.user, bucket=payload.bucket, ids=payload.ids)
    return {"marked": marked, "unread": selectors.notifications_unread_counts(user_id=request.user.pk)}


@router.get("/me/notification-settings", response=responses({200: SettingsOut}))
def settings_get(request: HttpRequest):
    return _settings_out(services.notification_settings_get(user=request.user))


@router.patch("/me/notification-settings", response=responses({200: SettingsOut}))
def settings_patch(request: HttpRequest, payload: SettingsPatch):
    """Mute (false) or unmute (true) kinds of notifications. System notices cannot be muted."""
    changes = payload.dict(exclude_none=True)
    return _settings_out(services.notification_settings_update(user=request.user, **changes))


# --- Web Push -------------------------------------------------------------------------------------------------
class PushKeyOut(Schema):
    public_key: str = Field(description="The VAPID application server key (base64url P-256 point).")


class PushKeysIn(Schema):
    p256dh: Annotated[str, Limits(pattern=push.P256DH_PATTERN)] = Field(
        description="The browser's P-256 public key, uncompressed, base64url (must be a point on the curve)."
    )
    auth: Annotated[str, Limits(pattern=push.AUTH_PATTERN)] = Field(description="16 bytes, base64url.")


class PushSubscriptionIn(Schema):
    """What ``PushSubscription.toJSON()`` gives in the browser (an ``https`` endpoint)."""

    endpoint: Annotated[str, Limits(pattern=push.ENDPOINT_PATTERN)] = Field(max_length=push.ENDPOINT_MAX)
    keys: PushKeysIn


class PushSubscriptionOut(Schema):
    id: int
    endpoint: str
    created_at: datetime


class PushEndpointIn(Schema):
    endpoint: Text = Field(max_length=push.ENDPOINT_MAX)


class PushSettingsOut(Schema):
    messages: bool
    replies: bool
    follows: bool
    orders: bool


class PushSettingsPatch(Schema):
    messages: StrictBool | None = None
    replies: StrictBool | None = None
    follows: StrictBool | None = None
    orders: StrictBool | None = None


@router.get("/push/key", response=responses({200: PushKeyOut}))
def push_key(request: HttpRequest):
    """The key to give ``pushManager.subscribe({applicationServerKey})``."""
    return {"public_key": push.vapid_public_key()}


@router.post("/push/subscriptions", response=responses({200: PushSubscriptionOut, 201: PushSubscriptionOut}))
def push_subscribe(request: HttpRequest, payload: PushSubscriptionIn):
    """Save this browser's push subscription (201; 200 when it was saved before). What is pushed is chosen in
    ``/me/push-settings``."""
    found, created = push.push_subscription_save(
        user=request.user, endpoint=payload.endpoint, p256dh=payload.keys.p256dh, auth=payload.keys.auth
    )
    body = {"id": found.pk, "endpoint": found.endpoint, "created_at": found.created_at}
    return Status(201 if created else 200, body)


@router.delete("/push/subscriptions", response=responses({204: None}))
def push_unsubscribe(request: HttpRequest, payload: PushEndpointIn):
    """Forget this browser's subscription (204 also when there was none: the result is the same)."""
    push.push_subscription_delete(user=request.user, endpoint=payload.endpoint)
    return Status(204, None)


def _push_settings_out(found) -> dict:
    return {name: getattr(found, name) for name in push.PUSH_KINDS}


@router.get("/me/push-settings", response=responses({200: PushSettingsOut}))
def push_settings_get(request: HttpRequest):
    return _push_settings_out(push.push_preferences_get(user=request.user))


@router.patch("/me/push-settings", response=responses({200: PushSettingsOut}))
def push_settings_patch(request: HttpRequest, payload: PushSettingsPatch):
    """Which kinds are pushed to your browsers: messages, replies (comments and replies), follows, orders."""
    return _push_settings_out(
        push.push_preferences_update(user=request.user, **payload.dict(exclude_none=True))
    )
