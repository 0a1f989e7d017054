"""Web Push end to end against a local push service (push_service.py): subscribe through the API, opt in per
kind, cause a notification through the public surface, and read what the "browser" decrypts."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import bearer_client
from meadow.notifications import push
from meadow.notifications.models import Notification, PushPreferences, PushSubscription
from meadow.notifications.services import notification_create
from meadow.notifications.tests.push_service import PushService
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the action queues after commit (the tasks, inline in the suite), as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def service(settings):
    settings.MEADOW_PUSH_ALLOW_HTTP = True  # the stand-in listens on plain http://127.0.0.1
    running = PushService(application_server_key=push.vapid_public_key()).start()
    yield running
    running.stop()


def subscribe(client, service: PushService, token: str) -> dict:
    browser = service.browser(token)
    response = client.post(
        "/api/v1/push/subscriptions",
        {
            "endpoint": service.endpoint(token),
            "keys": {"p256dh": browser.p256dh, "auth": push.b64url(browser.auth)},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def opt_in(client, **kinds: bool) -> dict:
    response = client.patch("/api/v1/me/push-settings", kinds, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_key_endpoint_gives_the_key_pushes_are_signed_with(user, service):
    client = bearer_client(user)
    key = client.get("/api/v1/push/key").json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # a point on P-256
    assert key == service.application_server_key  # the stand-in refuses any other signer
    assert push.vapid_public_key() == key  # stable across calls (derived from the instance secret)


def test_a_follow_is_pushed_in_the_recipients_language(service, committed):
    recipient = UserFactory(language="zh-hans")
    follower = UserFactory(display_name="Lily")
    client = bearer_client(recipient)
    subscribe(client, service, "phone")
    assert opt_in(client, follows=True) == {
        "messages": False,
        "replies": False,
        "follows": True,
        "orders": False,
    }

    with committed():
        response = bearer_client(follower).post(f"/api/v1/users/{recipient.handle}/follow")
    assert response.status_code == 200, response.content

    [payload] = service.delivered("phone")
    assert payload == {
        "title": "Meadow",
        "body": "Lily 开始关注你了",
        "url": f"/@{follower.handle}/",
        "tag": f"meadow-follows-{Notification.objects.get(recipient=recipient).pk}",
        "lang": "zh-hans",
    }
    claims = service.received[0].claims
    assert claims["aud"] == service.origin and claims["sub"].startswith("mailto:")
    subscription = PushSubscription.objects.get(user=recipient)
    assert subscription.last_success_at is not None and subscription.failures == 0


def test_nothing_is_pushed_for_a_kind_not_opted_in(service, committed):
    recipient = UserFactory(language="ms")
    client = bearer_client(recipient)
    subscribe(client, service, "laptop")
    opt_in(client, orders=True)  # orders only

    with committed():
        assert (
            bearer_client(UserFactory()).post(f"/api/v1/users/{recipient.handle}/follow").status_code == 200
        )
    assert (
        Notification.objects.filter(recipient=recipient, kind="follow").count() == 1
    )  # the bell still shows it
    assert service.received == []


def test_an_order_update_is_pushed_from_the_catalogue_in_malay_to_every_browser(service, committed):
    recipient = UserFactory(language="ms")
    client = bearer_client(recipient)
    subscribe(client, service, "phone")
    subscribe(client, service, "laptop")
    opt_in(client, orders=True)

    with committed():
        found = notification_create(
            recipient=recipient,
            kind="order",
            code="order.delivered",
            params={"id": 42},
            data={"order": 42, "url": "/orders/42/"},
        )

    assert found is not None
    for token in ("phone", "laptop"):
        [payload] = service.delivered(token)
        assert payload["title"] == "Kemas kini pesanan"
        assert payload["body"] == "Pesanan #42 telah diterima."
        assert payload["url"] == "/orders/42/"
        assert payload["lang"] == "ms"


def test_a_direct_message_is_pushed_in_the_recipients_language(service, committed):
    recipient = UserFactory(language="ms", message_policy="everyone")
    sender = UserFactory(display_name="Ah Meng")
    client = bearer_client(recipient)
    subscribe(client, service, "phone")
    opt_in(client, messages=True)

    talk = bearer_client(sender)
    conversation = talk.post(
        "/api/v1/conversations", {"with": recipient.handle}, content_type="application/json"
    )
    assert conversation.status_code == 201, conversation.content
    with committed():
        sent = talk.post(
            f"/api/v1/conversations/{conversation.json()['id']}/messages",
            {"text": "Hai, masih ada stok?", "client_id": "c1"},
            content_type="application/json",
        )
    assert sent.status_code == 201, sent.content

    [payload] = service.delivered("phone")
    assert payload["title"] == "Ah Meng"
    assert payload["body"] == "Ah Meng menghantar mesej kepada anda"
    assert payload["url"] == f"/messages/{conversation.json()['id']}/"


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_no_longer_knows_is_deleted(service, committed, status):
    recipient = UserFactory(language="en")
    client = bearer_client(recipient)
    subscribe(client, service, "gone")
    subscribe(client, service, "alive")
    opt_in(client, follows=True)
    service.script["gone"] = [status]

    with committed():
        assert (
            bearer_client(UserFactory()).post(f"/api/v1/users/{recipient.handle}/follow").status_code == 200
        )

    assert [r.status for r in service.received if r.token == "gone"] == [status]
    endpoints = set(PushSubscription.objects.filter(user=recipient).values_list("endpoint", flat=True))
    assert endpoints == {service.endpoint("alive")}
    assert len(service.delivered("alive")) == 1


def test_a_failure_inline_is_counted_and_the_follow_still_happens(service, committed):
    recipient = UserFactory(language="en")
    client = bearer_client(recipient)
    subscribe(client, service, "down")
    opt_in(client, follows=True)
    service.script["down"] = [500]

    with committed():
        response = bearer_client(UserFactory()).post(f"/api/v1/users/{recipient.handle}/follow")

    assert response.status_code == 200  # the follow happened; the request did not wait for retries
    assert [r.status for r in service.received] == [500]
    subscription = PushSubscription.objects.get(user=recipient)
    assert subscription.failures == 1 and subscription.last_success_at is None


def test_on_a_worker_a_failure_is_retried_with_backoff_and_then_delivered(service, user):
    """What a worker does: the task asks Celery for a retry with the backoff's countdown; the retry (run inline
    here, where Celery runs tasks eagerly) delivers once the push service is back."""
    from celery.exceptions import Retry

    from meadow.notifications.tasks import push_send

    client = bearer_client(user)
    subscription = subscribe(client, service, "flaky")
    service.script["flaky"] = [503]
    payload = {"title": "Meadow", "body": "hello", "url": "/", "tag": "t", "lang": "en"}

    kwargs = {"subscription_id": subscription["id"], "payload": payload}
    push_send.push_request(
        retries=2, is_eager=False, called_directly=False, id="push-test", args=[], kwargs=kwargs
    )
    try:
        with pytest.raises(Retry) as retry:
            push_send.run(**kwargs)
    finally:
        push_send.pop_request()

    assert retry.value.when == push.retry_countdown(2) == 120
    assert [r.status for r in service.received] == [503, 201]
    assert service.delivered("flaky") == [payload]
    stored = PushSubscription.objects.get(pk=subscription["id"])
    assert stored.failures == 0 and stored.last_success_at is not None


def test_a_worker_gives_up_after_max_retries(service, user):
    from meadow.notifications.tasks import push_send

    subscription = subscribe(bearer_client(user), service, "down")
    service.script["down"] = [500]
    push_send.push_request(
        retries=push_send.max_retries, is_eager=False, called_directly=False, id="push-last"
    )
    try:
        assert push_send.run(subscription_id=subscription["id"], payload={"title": "x"}) == "failed"
    finally:
        push_send.pop_request()
    assert PushSubscription.objects.get(pk=subscription["id"]).failures == 1


def test_a_subscription_failing_too_often_is_dropped(service, user):
    subscription = subscribe(bearer_client(user), service, "dead")
    PushSubscription.objects.filter(pk=subscription["id"]).update(failures=push.MAX_FAILURES - 1)
    service.script["dead"] = [500]
    with pytest.raises(push.PushRetry):
        push.push_deliver(subscription_id=subscription["id"], payload={"title": "x"})
    assert not PushSubscription.objects.filter(pk=subscription["id"]).exists()


def test_backoff_grows_and_is_capped():
    waits = [push.retry_countdown(n) for n in range(10)]
    assert waits[:4] == [30, 60, 120, 240]
    assert waits == sorted(waits) and waits[-1] == 3600


# --- the API's refusals ---------------------------------------------------------------------------------------
def test_subscribing_needs_a_signed_in_caller(anon, service):
    browser = service.browser("x")
    body = {
        "endpoint": service.endpoint("x"),
        "keys": {"p256dh": browser.p256dh, "auth": push.b64url(browser.auth)},
    }
    assert anon.post("/api/v1/push/subscriptions", body, content_type="application/json").status_code == 401
    assert anon.get("/api/v1/me/push-settings").status_code == 401
    assert PushSubscription.objects.count() == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"p256dh": "AAAA"}, "p256dh"),
        ({"p256dh": push.b64url(b"\x04" + b"\x01" * 64)}, "p256dh"),  # 65 bytes, not a point on the curve
        ({"auth": push.b64url(b"short")}, "auth"),
        ({"auth": "!!not base64!!"}, "auth"),
    ],
)
def test_a_bad_subscription_is_refused_with_the_field_named(user, service, change, field):
    browser = service.browser("bad")
    keys = {"p256dh": browser.p256dh, "auth": push.b64url(browser.auth)}
    endpoint = change.pop("endpoint", service.endpoint("bad"))
    keys.update(change)
    response = bearer_client(user).post(
        "/api/v1/push/subscriptions", {"endpoint": endpoint, "keys": keys}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert PushSubscription.objects.count() == 0


def test_plain_http_endpoints_are_refused_in_production_settings(user, settings):
    settings.MEADOW_PUSH_ALLOW_HTTP = False
    key = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    body = {
        "endpoint": "http://127.0.0.1:9/push/x",
        "keys": {"p256dh": push.b64url(key), "auth": push.b64url(b"0" * 16)},
    }
    response = bearer_client(user).post("/api/v1/push/subscriptions", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "endpoint"


def test_settings_refuse_a_non_boolean_and_keep_what_was_stored(user):
    client = bearer_client(user)
    opt_in(client, replies=True)
    response = client.patch("/api/v1/me/push-settings", {"replies": "no"}, content_type="application/json")
    assert response.status_code == 400
    assert PushPreferences.objects.get(user=user).replies is True


def test_subscribing_again_is_200_and_unsubscribing_only_removes_ones_own(user, other_user, service):
    mine = bearer_client(user)
    subscribe(mine, service, "mine")
    browser = service.browsers["mine"]
    again = mine.post(
        "/api/v1/push/subscriptions",
        {
            "endpoint": service.endpoint("mine"),
            "keys": {"p256dh": browser.p256dh, "auth": push.b64url(browser.auth)},
        },
        content_type="application/json",
    )
    assert again.status_code == 200

    theirs = bearer_client(other_user)
    response = theirs.delete(
        "/api/v1/push/subscriptions", {"endpoint": service.endpoint("mine")}, content_type="application/json"
    )
    assert response.status_code == 204
    assert PushSubscription.objects.filter(user=user).count() == 1  # another account cannot remove it

    assert (
        mine.delete(
            "/api/v1/push/subscriptions",
            {"endpoint": service.endpoint("mine")},
            content_type="application/json",
        ).status_code
        == 204
    )
    assert PushSubscription.objects.count() == 0


def test_a_configured_vapid_key_is_used(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    settings.MEADOW_VAPID_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    expected = push.b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    assert push.vapid_public_key() == expected
    settings.MEADOW_VAPID_PRIVATE_KEY = push.b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    assert push.vapid_public_key() == expected


def test_the_settings_page_stores_the_kinds(client, user):
    client.force_login(user)
    page = client.get("/settings/push/")
    assert page.status_code == 200
    assert (
        b'data-testid="push-kind-messages"' in page.content
        and push.vapid_public_key().encode() in page.content
    )
    response = client.post("/settings/push/", {"messages": "on", "orders": "on"})
    assert response.status_code == 302
    stored = PushPreferences.objects.get(user=user)
    assert (stored.messages, stored.replies, stored.follows, stored.orders) == (True, False, False, True)


def test_the_settings_page_needs_a_login(client):
    response = client.post("/settings/push/", {"messages": "on"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert PushPreferences.objects.count() == 0


def test_an_erased_account_leaves_no_push_subscription_behind(service, user):
    """Erasure keeps the (anonymised) account row, so nothing cascades: the browsers' endpoints and the
    opt-ins go with the account's other traces."""
    from meadow.privacy.services import account_erase

    client = bearer_client(user)
    subscribe(client, service, "phone")
    opt_in(client, messages=True)
    keep = UserFactory()
    subscribe(bearer_client(keep), service, "theirs")

    account_erase(user=user)

    assert not PushSubscription.objects.filter(user=user).exists()
    assert not PushPreferences.objects.filter(user=user).exists()
    assert PushSubscription.objects.filter(user=keep).count() == 1


@pytest.mark.parametrize(
    "endpoint, accepted",
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True),
        ("https://updates.push.services.mozilla.com/wpush/v2/abc", True),
        ("https://web.push.apple.com/abc", True),
        ("https://169.254.169.254/latest/meta-data/", False),  # cloud metadata
        ("https://127.0.0.1:5432/", False),
        ("https://localhost/push", False),
        ("https://fcm.googleapis.com.attacker.example/push", False),
        ("https://evilfcm.googleapis.com.example/push", False),
    ],
)
def test_only_browsers_push_services_may_be_subscribed(user, settings, endpoint, accepted):
    """The server POSTs to a subscription's endpoint: an internal address would make it a proxy (SSRF)."""
    settings.MEADOW_PUSH_ALLOW_HTTP = False
    key = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    body = {"endpoint": endpoint, "keys": {"p256dh": push.b64url(key), "auth": push.b64url(b"0" * 16)}}
    response = bearer_client(user).post("/api/v1/push/subscriptions", body, content_type="application/json")
    if accepted:
        assert response.status_code in (200, 201), response.content
        assert PushSubscription.objects.filter(endpoint=endpoint).exists()
    else:
        assert response.status_code == 400 and response.json()["error"]["field"] == "endpoint"
        assert not PushSubscription.objects.filter(endpoint=endpoint).exists()
