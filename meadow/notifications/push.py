"""Web Push (issue #23): a person opts in per kind (messages, replies, follows, order updates) and turns push on
in each browser; when a notification of an opted-in kind is created, a task encrypts a small payload — title and
body in the recipient's language, the URL to open — to each of their subscriptions (RFC 8291, aes128gcm) and
posts it to the browser's push service, signed with the instance's VAPID key (RFC 8292).

The VAPID key: ``MEADOW_VAPID_PRIVATE_KEY`` (the P-256 private key, PEM or base64url of the raw 32 bytes) when
set — what a deployment with several hosts uses, so every host signs with the same key; in production without
it, derived from ``SECRET_KEY`` (secret there, shared by the hosts); otherwise derived from the per-instance
secret created on first run under ``MEADOW_DATA_DIR`` (``meadow.core.secrets``), never from the published
development ``SECRET_KEY``. Changing the key invalidates every browser's subscription (browsers bind
a subscription to the key they were given).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.errors import ValidationFailed
from meadow.core.secrets import derived_secret
from meadow.notifications.models import Notification, PushPreferences, PushSubscription

logger = logging.getLogger(__name__)

Kind = Notification.Kind
PUSH_KINDS = ("messages", "replies", "follows", "orders")
# Which preference a notification kind is pushed under (a direct message is a system notice that names it).
PREFERENCE_OF: dict[str, str] = {
    Kind.COMMENT: "replies",
    Kind.REPLY: "replies",
    Kind.FOLLOW: "follows",
    Kind.ORDER: "orders",
}
MAX_SUBSCRIPTIONS = 20  # browsers per person; the oldest goes when a 21st subscribes
MAX_FAILURES = 10  # consecutive failed deliveries (other than 404/410) before a subscription is dropped
PUSH_TTL = 24 * 3600  # seconds the push service keeps a message for a browser that is offline
# What the API's schema states (the service checks the same): an http(s) URL of printable ASCII; the browser's
# P-256 public key (65 bytes, uncompressed: starts with 0x04, "B" in base64url) and 16-byte auth secret.
ENDPOINT_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$"
P256DH_PATTERN = r"^B[A-Za-z0-9_-]{86}=?$"
AUTH_PATTERN = r"^[A-Za-z0-9_-]{22}(==)?$"
ENDPOINT_MAX = 1024
CURVE_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


# --- the VAPID key --------------------------------------------------------------------------------------------
def _b64url_decode(value: str) -> bytes:
    value = value.strip()
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=4)
def _key_from(configured: str, fallback: bytes) -> ec.EllipticCurvePrivateKey:
    if configured:
        if "BEGIN" in configured:
            key = serialization.load_pem_private_key(configured.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError("MEADOW_VAPID_PRIVATE_KEY is not a P-256 key")
            return key
        return ec.derive_private_key(int.from_bytes(_b64url_decode(configured), "big"), ec.SECP256R1())
    # a scalar in [1, n-1] from the instance secret: stable across restarts and processes of this instance
    seed = hmac.new(fallback, b"meadow.push.vapid.key", hashlib.sha256).digest()
    return ec.derive_private_key(1 + int.from_bytes(seed, "big") % (CURVE_ORDER - 1), ec.SECP256R1())


def vapid_private_key() -> ec.EllipticCurvePrivateKey:
    configured = getattr(settings, "MEADOW_VAPID_PRIVATE_KEY", "")
    if configured:
        return _key_from(configured, b"")
    if getattr(settings, "PRODUCTION", False):  # secret there and the same on every host
        return _key_from(
            "", hmac.new(settings.SECRET_KEY.encode(), b"meadow.push.vapid", hashlib.sha256).digest()
        )
    return _key_from("", derived_secret("meadow.push.vapid"))


def vapid_public_key() -> str:
    """The application server key browsers subscribe with: the uncompressed P-256 point, base64url."""
    point = (
        vapid_private_key()
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point)


def vapid_subject() -> str:
    return getattr(settings, "MEADOW_VAPID_SUBJECT", "") or "mailto:push@meadow.invalid"


# --- subscriptions and preferences ----------------------------------------------------------------------------
def _endpoint_check(endpoint: str) -> str:
    endpoint = endpoint or ""
    allowed = {"https"} | ({"http"} if getattr(settings, "MEADOW_PUSH_ALLOW_HTTP", False) else set())
    if len(endpoint) > ENDPOINT_MAX or not re.match(ENDPOINT_PATTERN, endpoint):
        raise ValidationFailed(_("This is not a push service address."), field="endpoint")
    parts = urlsplit(endpoint)
    if parts.scheme not in allowed or not parts.hostname:
        raise ValidationFailed(_("This is not a push service address."), field="endpoint")
    if not getattr(settings, "MEADOW_PUSH_ALLOW_HTTP", False) and not _known_push_service(parts.hostname):
        # the server POSTs to this address: only browsers' push services, never an internal host (SSRF)
        raise ValidationFailed(_("This is not a push service address."), field="endpoint")
    return endpoint


def _known_push_service(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == known or host.endswith("." + known) for known in settings.MEADOW_PUSH_SERVICES)


def _key_check(value: str, *, field: str, size: int) -> str:
    if not re.match(P256DH_PATTERN if field == "p256dh" else AUTH_PATTERN, value or ""):
        raise ValidationFailed(_("This key is not valid."), field=field)
    try:
        raw = _b64url_decode(value or "")
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed(_("This key is not valid."), field=field) from exc
    if len(raw) != size:
        raise ValidationFailed(_("This key is not valid."), field=field)
    if field == "p256dh":
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError as exc:
            raise ValidationFailed(_("This key is not valid."), field=field) from exc
    return b64url(raw)


def push_subscription_save(
    *, user: User, endpoint: str, p256dh: str, auth: str
) -> tuple[PushSubscription, bool]:
    """Save this browser's subscription for ``user`` (a browser that subscribed for another account before now
    belongs to this one). Returns the subscription and whether it is new."""
    endpoint = _endpoint_check(endpoint)
    p256dh = _key_check(p256dh, field="p256dh", size=65)
    auth = _key_check(auth, field="auth", size=16)
    with transaction.atomic():
        found, created = PushSubscription.objects.update_or_create(
            endpoint=endpoint,
            defaults={"user": user, "p256dh": p256dh, "auth": auth, "failures": 0},
        )
        stale = list(
            PushSubscription.objects.filter(user=user)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[MAX_SUBSCRIPTIONS:]
        )
        if stale:
            PushSubscription.objects.filter(pk__in=stale).delete()
    return found, created


def push_subscription_delete(*, user: User, endpoint: str) -> bool:
    """Forget one of ``user``'s subscriptions (another account's endpoint is left alone: False)."""
    deleted, _rows = PushSubscription.objects.filter(user=user, endpoint=(endpoint or "").strip()).delete()
    return bool(deleted)


def push_preferences_get(*, user: User) -> PushPreferences:
    found = PushPreferences.objects.filter(user=user).first()
    return found if found is not None else PushPreferences(user=user)


def push_preferences_update(*, user: User, **changes: Any) -> PushPreferences:
    """Turn pushing of kinds on or off: ``messages``, ``replies``, ``follows``, ``orders`` (True = push)."""
    for name, value in changes.items():
        if name not in PUSH_KINDS:
            raise ValidationFailed(_("This setting does not exist."), field=name)
        if not isinstance(value, bool):
            raise ValidationFailed(_("This setting is on or off."), field=name)
    PushPreferences.objects.bulk_create([PushPreferences(user=user)], ignore_conflicts=True)
    if changes:
        PushPreferences.objects.filter(user=user).update(**changes)
    return PushPreferences.objects.get(user=user)


def push_kind_of(notification: Notification) -> str | None:
    """The push preference a notification falls under, or ``None`` when it is never pushed."""
    if notification.kind == Kind.SYSTEM and (notification.data or {}).get("message"):
        return "messages"
    return PREFERENCE_OF.get(notification.kind)


# --- the payload ----------------------------------------------------------------------------------------------
def _url_of(notification: Notification) -> str:
    url = str((notification.data or {}).get("url") or "")
    if url.startswith("/") and not url.startswith("//"):
        return url
    if notification.kind == Kind.FOLLOW and notification.actor is not None:
        return f"/@{notification.actor.handle}/"
    if notification.note_id:
        return f"/notes/{notification.note_id}/"
    return "/notifications/"


def push_payload(*, notification: Notification) -> dict[str, str]:
    """What the browser shows, in the recipient's language: ``title``, ``body``, ``url``, ``tag``, ``lang``."""
    from meadow.notifications.text import notification_summary

    recipient = notification.recipient
    language = recipient.language or settings.LANGUAGE_CODE
    kind = push_kind_of(notification)
    actor = notification.actor
    name = (actor.display_name or actor.handle) if actor is not None else ""
    with translation.override(language):
        if kind == "messages":
            title = name or _("Meadow")
            body = _("%(name)s sent you a message") % {"name": name} if name else notification.text
        elif kind == "orders":
            title = _("Order update")
            body = notification_summary(notification)
        else:
            title = _("Meadow")
            body = notification_summary(notification)
    return {
        "title": title[:120],
        "body": body[:240],
        "url": _url_of(notification),
        "tag": f"meadow-{kind}-{notification.pk}",
        "lang": language,
    }


# --- delivery -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PushResult:
    status: str  # "sent", "gone" (404/410: deleted), "failed" (retry), "missing" (no such subscription)
    code: int | None = None


class PushRetry(Exception):
    """A delivery that may work later (a 5xx, 429, a timeout): the task retries it with backoff."""


def retry_countdown(retries: int) -> int:
    """Seconds before retry number ``retries + 1``: 30 s, 1, 2, 4, 8 … minutes, at most an hour."""
    return min(3600, 30 * 2**retries)


def push_deliver(*, subscription_id: int, payload: dict[str, str]) -> PushResult:
    """Encrypt ``payload`` to one subscription and post it to its push service. 201/202 → ``sent``; 404/410 → the
    browser dropped it: ``gone`` and deleted; any other answer or a network error raises ``PushRetry`` after
    counting the failure (a subscription failing ``MAX_FAILURES`` times in a row is deleted)."""
    from py_vapid import Vapid02
    from pywebpush import WebPushException, webpush

    subscription = PushSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return PushResult("missing")
    vapid = Vapid02(private_key=vapid_private_key())
    try:
        response = webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=vapid,
            vapid_claims={"sub": vapid_subject()},
            content_encoding="aes128gcm",
            ttl=PUSH_TTL,
            timeout=10,
        )
        code = getattr(response, "status_code", None)
        error: Exception | None = None
    except WebPushException as exc:
        code = getattr(exc.response, "status_code", None)
        error = exc
    except Exception as exc:  # the network: a refused connection, a timeout, a TLS error
        code = None
        error = exc
    if error is None and code is not None and 200 <= code < 300:
        PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=timezone.now(), failures=0)
        return PushResult("sent", code)
    if code in (404, 410):
        PushSubscription.objects.filter(pk=subscription.pk).delete()
        return PushResult("gone", code)
    PushSubscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
    PushSubscription.objects.filter(pk=subscription.pk, failures__gte=MAX_FAILURES).delete()
    logger.warning("push to subscription %s failed (%s): %s", subscription.pk, code, error)
    raise PushRetry(f"push service answered {code}" if code else f"push failed: {error}")


def push_targets(*, notification_id: int) -> tuple[dict[str, str], list[int]] | None:
    """For a new notification: the payload and the subscriptions to push it to, or ``None`` when the kind is
    never pushed, the recipient did not opt in to it, or has no subscription."""
    notification = (
        Notification.objects.select_related("recipient", "actor").filter(pk=notification_id).first()
    )
    if notification is None:
        return None
    kind = push_kind_of(notification)
    if kind is None:
        return None
    opted_in = PushPreferences.objects.filter(user_id=notification.recipient_id, **{kind: True}).exists()
    if not opted_in:
        return None
    subscriptions = list(
        PushSubscription.objects.filter(user_id=notification.recipient_id).values_list("pk", flat=True)
    )
    if not subscriptions:
        return None
    return push_payload(notification=notification), subscriptions
