"""System notices are stored as codes and parameters and written in the *reader's* language when read (issue #23,
finding 5): an order notice written while the account read English reads 中文 after switching; a violation
notice names the rule as the account status page does, never by its internal id; a fresh notice says "just now";
rows stored as text before codes are read back by the data migration. And the centre opens on the tab that has
unread items (finding 6)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import translation

from meadow.enforcement import services as enforcement
from meadow.enforcement.models import Source
from meadow.notifications.models import Notification
from meadow.notifications.services import notification_create
from meadow.notifications.text import notification_summary
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _page(client, user, lang: str, query: str = "") -> str:
    client.force_login(user)
    client.cookies["meadow_language"] = lang
    response = client.get(f"/notifications/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_an_order_notice_is_stored_as_a_code_and_read_in_the_readers_language(client):
    buyer = UserFactory(language="en")
    notification_create(recipient=buyer, kind="order", code="order.paid", params={"id": 2}, data={"order": 2})
    row = Notification.objects.get(recipient=buyer)
    assert (row.code, row.params, row.text) == ("order.paid", {"id": 2}, "")  # no English stored
    assert "订单 #2 已付款。" in _page(client, buyer, "zh-hans", "?bucket=system")
    assert "Pesanan #2 telah dibayar." in _page(client, buyer, "ms", "?bucket=system")
    assert "Order #2 is paid." in _page(client, buyer, "en", "?bucket=system")


def test_an_unknown_code_is_refused():
    from meadow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        notification_create(recipient=UserFactory(), kind="system", code="no.such.notice")


def _violation(account):
    return enforcement.violation_record(
        account=account,
        type="content",
        category="redirect",
        rule="redirect:微信",
        severity="high",
        source=Source.SYSTEM,
        evidence={
            "text": "加我微信",
            "field": "note",
            "hits": [
                {
                    "category": "redirect",
                    "start": 2,
                    "end": 4,
                    "match": "微信",
                    "rule": "redirect:微信",
                    "severity": "high",
                    "suggestion": "Remove it: contact details and links to other platforms are not allowed",
                }
            ],
        },
    )


def test_a_violation_notice_names_the_rule_as_the_status_page_does_in_each_language(
    client, django_capture_on_commit_callbacks
):
    account = UserFactory(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        _violation(account)  # the notice is told after the commit (the outbox)
    row = Notification.objects.get(recipient=account, bucket="system")
    assert row.code == "enforcement.violation_recorded" and row.text == ""
    for lang, category, advice in (
        ("en", "Redirect off the platform", "Remove it"),
        ("zh-hans", "导流到站外", "请删除"),
        ("ms", "Mengalih ke luar platform", "Buang"),
    ):
        page = _page(client, account, lang, "?bucket=system")
        assert category in page and advice in page and "“微信”" in page, lang
        assert "redirect:" not in page, lang  # no internal rule id
        if lang != "en":
            assert "A rule was broken" not in page and "Consequence" not in page, lang


def test_a_fresh_notice_says_just_now_not_zero_minutes(client):
    reader = UserFactory()
    notification_create(recipient=reader, kind="follow", actor=UserFactory())
    for lang, words in (("en", "just now"), ("zh-hans", "刚刚"), ("ms", "baru sahaja")):
        page = _page(client, reader, lang, "?bucket=followers")
        assert words in page and "0\xa0minutes" not in page and "0 minutes" not in page, lang


def test_the_data_migration_reads_old_text_notices_back_as_codes():
    reader = UserFactory()
    old = [
        Notification.objects.create(
            recipient=reader, kind="order", bucket="system", text="Order #7 is paid."
        ),
        Notification.objects.create(
            recipient=reader,
            kind="order",
            bucket="system",
            text="订单 #8 已通过 Pos Laju 发货，物流单号：MY1。",
        ),
        Notification.objects.create(
            recipient=reader, kind="system", bucket="system", text="Something unknown."
        ),
    ]
    migration = importlib.import_module("meadow.notifications.migrations.0004_notices_as_codes")
    migration.forwards(apps, None)
    paid, shipped, unknown = (Notification.objects.get(pk=n.pk) for n in old)
    assert (paid.code, paid.params, paid.text) == ("order.paid", {"id": 7}, "")
    assert shipped.code == "order.shipped"
    assert shipped.params == {"id": 8, "carrier": "Pos Laju", "tracking": "MY1"}
    assert (unknown.code, unknown.text) == ("", "Something unknown.")
    with translation.override("ms"):
        assert notification_summary(paid) == "Pesanan #7 telah dibayar."


def test_the_centre_opens_on_the_tab_with_unread_items(client):
    reader = UserFactory()
    notification_create(recipient=reader, kind="order", code="order.paid", params={"id": 3})
    page = _page(client, reader, "en")
    assert 'class="notif-bucket active" href="?bucket=system"' in page
    assert "Order #3 is paid." in page
    assert not Notification.objects.filter(recipient=reader, read_at__isnull=True).exists()  # read by opening
    # nothing unread: Comments, as before
    assert 'class="notif-bucket active" href="?bucket=comments"' in _page(client, reader, "en")
    # unread likes and system notices: the first tab in order that has any
    notification_create(recipient=reader, kind="like", actor=UserFactory(), note=None)
    notification_create(recipient=reader, kind="order", code="order.paid", params={"id": 4})
    assert 'class="notif-bucket active" href="?bucket=likes"' in _page(client, reader, "en")
