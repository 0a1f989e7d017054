"""/metrics is never public (loopback or an allow-list, or a bearer token), and Meadow's own counters move when
the action happens: notes published, moderation verdicts, feed latency, pool evaluations, orders, payments."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- access ---------------------------------------------------------------------------------------------------
def _client(user=None, **extra) -> Client:
    client = Client(**extra)
    if user is not None:
        client.force_login(user)
    return client


PUBLIC = {"REMOTE_ADDR": "203.0.113.5"}


@pytest.mark.parametrize("who", ["anonymous", "other user", "owner", "staff"])
def test_metrics_are_refused_from_a_public_address_whoever_asks(who):
    user = {
        "anonymous": None,
        "other user": UserFactory(),
        "owner": UserFactory(),
        "staff": UserFactory(is_staff=True, is_superuser=True),
    }[who]
    before = value("meadow_notes_published_total")
    response = _client(user, **PUBLIC).get("/metrics")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and error["message"] and error["field"] is None
    assert b"meadow_" not in response.content
    assert value("meadow_notes_published_total") == before  # nothing changed


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_metrics_are_served_to_loopback(who):
    user = UserFactory(is_staff=True) if who == "staff" else None
    response = _client(user).get("/metrics")  # the test client's address is 127.0.0.1
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for name in (
        "meadow_notes_published_total",
        "meadow_orders_placed_total",
        "meadow_feed_seconds",
        "django_http_requests_total_by_method_total",
    ):
        assert name in body


def test_metrics_refusal_is_translated():
    response = _client(**PUBLIC).get("/metrics", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 403
    assert response.json()["error"]["message"] != "Metrics are only available to the monitoring system."


def test_the_bearer_token_opens_metrics_from_anywhere(settings):
    settings.MEADOW_METRICS_TOKEN = "s3cret-token-for-prometheus"
    assert (
        _client(**PUBLIC).get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus").status_code
        == 200
    )
    assert _client(**PUBLIC).get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert _client(**PUBLIC).get("/metrics").status_code == 403


def test_the_allow_list_takes_networks(settings):
    settings.MEADOW_METRICS_ALLOW = "10.0.0.0/8, 192.0.2.7"
    assert _client(REMOTE_ADDR="10.20.30.40").get("/metrics").status_code == 200
    assert _client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
    assert _client(REMOTE_ADDR="192.0.2.8").get("/metrics").status_code == 403
    assert _client().get("/metrics").status_code == 403  # loopback is no longer listed


def test_through_an_undeclared_proxy_loopback_is_not_enough():
    """A proxy on the same host makes every visitor look like 127.0.0.1: a forwarded request needs the token."""
    response = _client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.status_code == 403


def test_metrics_only_answers_get():
    assert _client().post("/metrics").status_code == 405


# --- counters -------------------------------------------------------------------------------------------------
def test_moderation_verdicts_are_counted_by_verdict_and_category():
    from meadow.moderation.services import moderation_check

    clean = value("meadow_moderation_verdicts_total", verdict="pass", category="none")
    redirect = value("meadow_moderation_verdicts_total", verdict="block", category="redirect")
    moderation_check(text="今天的天气很好 lovely weather", field="note")
    result = moderation_check(text="超好吃！加我 V 信：lily_kl88 拿菜单", field="note")
    assert result.verdict == "block"
    assert value("meadow_moderation_verdicts_total", verdict="pass", category="none") == clean + 1
    assert value("meadow_moderation_verdicts_total", verdict="block", category="redirect") == redirect + 1


def test_feed_latency_is_observed_for_discover_and_following(api_for, user):
    discover = value("meadow_feed_seconds_count", feed="discover")
    following = value("meadow_feed_seconds_count", feed="following")
    client = api_for(user)
    assert client.get("/api/v1/feed/discover").status_code == 200
    assert client.get("/api/v1/feed/following").status_code == 200
    assert value("meadow_feed_seconds_count", feed="discover") == discover + 1
    assert value("meadow_feed_seconds_count", feed="following") == following + 1
    assert value("meadow_feed_seconds_sum", feed="discover") > 0


def test_an_inline_task_observes_no_lag():
    from meadow.core.tasks import ping

    before = value("meadow_task_lag_seconds_count", task="meadow.core.tasks.ping")
    ping.apply(kwargs={"token": "t"}, headers={"meadow_published_at": 1.0})
    assert value("meadow_task_lag_seconds_count", task="meadow.core.tasks.ping") == before


def test_behind_a_same_host_proxy_without_forwarded_headers_only_the_token_opens(settings):
    """A proxy on the same host that forwards without X-Forwarded-For makes every visitor 127.0.0.1: once a proxy
    is configured (MEADOW_BEHIND_PROXY, on by default in production, or MEADOW_TRUSTED_PROXY_HEADER), the
    address allow-list no longer counts and only the token opens /metrics."""
    settings.MEADOW_METRICS_TOKEN = "s3cret-token-for-prometheus"
    settings.MEADOW_BEHIND_PROXY = True
    assert _client().get("/metrics").status_code == 403  # loopback peer, no forwarding headers
    ok = _client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus")
    assert ok.status_code == 200

    settings.MEADOW_BEHIND_PROXY = False
    settings.MEADOW_TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    assert _client().get("/metrics").status_code == 403
    # a trusted proxy relaying an allow-listed address does not open it either: the header is the proxy's word
    assert _client().get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403

    settings.MEADOW_TRUSTED_PROXY_HEADER = ""
    assert _client().get("/metrics").status_code == 200  # no proxy configured: the direct loopback peer


def _behind_proxy_in(env: dict[str, str]) -> bool:
    import os
    import subprocess
    import sys
    import tempfile

    base = {k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DJANGO_"))}
    base["MEADOW_DATA_DIR"] = tempfile.mkdtemp(prefix="meadow-metrics-")
    out = subprocess.run(
        [sys.executable, "-c", "from meadow import settings as s; print(s.MEADOW_BEHIND_PROXY)"],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout.strip() == "True"


def test_production_assumes_a_proxy_unless_told_otherwise():
    production = {
        "MEADOW_ENV": "production",
        "SECRET_KEY": "k3Jx9-Qw2Lr8Vt5Zp0Nb7Hc4Md1Fs6Ga3Ye9Ui2Oo5Pa8Sd1Fg4Hj7Kl0Zx3Cv6Bn9Mq",
        "ALLOWED_HOSTS": "meadow.example",
    }
    assert _behind_proxy_in(production) is True
    assert _behind_proxy_in({**production, "MEADOW_BEHIND_PROXY": "0"}) is False
    assert _behind_proxy_in({"MEADOW_ENV": "development"}) is False
