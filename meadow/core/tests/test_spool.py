"""At-least-once dispatch (meadow.core.spool): tasks spooled during a broker outage are re-sent in order once the
broker is back, with an attempt count and the last error while it is not; ``meadow status`` shows the depth."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from kombu.exceptions import OperationalError as BrokerDown

from meadow.celery import app
from meadow.core.models import SpooledTask
from meadow.core.spool import spool_add, spool_depth, spool_resend

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch):
    """The broker boundary: records what is sent; ``down`` makes every send fail as a Redis outage does."""

    class Broker:
        down = False
        sent: list[tuple[str, list, dict, dict]] = []

        def send_task(self, name, args=None, kwargs=None, **options):
            if self.down:
                raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            self.sent.append((name, list(args or []), dict(kwargs or {}), options))

    fake = Broker()
    fake.sent = []
    monkeypatch.setattr(app, "send_task", fake.send_task)
    return fake


def test_spooled_tasks_are_resent_in_order_and_deleted(broker):
    spool_add(task="meadow.orders.tasks.sandbox_webhook_deliver", kwargs={"event": {"id": "evt_1"}},
              error=BrokerDown("down"))  # fmt: skip
    spool_add(task="meadow.core.tasks.ping", args=[1], kwargs={"token": "t"}, options={"countdown": 5})
    assert spool_resend() == {"sent": 2, "left": 0}
    assert broker.sent == [
        ("meadow.orders.tasks.sandbox_webhook_deliver", [], {"event": {"id": "evt_1"}}, {}),
        ("meadow.core.tasks.ping", [1], {"token": "t"}, {"countdown": 5}),
    ]
    assert not SpooledTask.objects.exists()


def test_while_the_broker_is_still_down_nothing_is_lost_and_the_attempt_is_counted(broker):
    first = spool_add(task="meadow.core.tasks.ping", kwargs={"token": "a"}, error=BrokerDown("down"))
    spool_add(task="meadow.core.tasks.ping", kwargs={"token": "b"}, error=BrokerDown("down"))
    broker.down = True
    assert spool_resend() == {"sent": 0, "left": 2}
    assert spool_resend() == {"sent": 0, "left": 2}
    row = SpooledTask.objects.get(pk=first)
    assert row.attempts == 3 and "Connection refused" in row.last_error  # the first send, then two re-sends
    assert SpooledTask.objects.exclude(pk=first).get().attempts == 1  # it stopped at the first failure
    broker.down = False
    assert spool_resend() == {"sent": 2, "left": 0}
    assert [kwargs["token"] for _, _, kwargs, _ in broker.sent] == ["a", "b"]


def test_the_periodic_job_and_status_show_the_spool(broker, settings):
    assert settings.CELERY_BEAT_SCHEDULE["core-spool-resend"]["task"] == "meadow.core.tasks.spool_resend"
    assert spool_depth()["depth"] == 0
    spool_add(task="meadow.core.tasks.ping", kwargs={"token": "a"}, error=BrokerDown("Connection refused"))
    depth = spool_depth()
    assert (
        depth["depth"] == 1
        and depth["oldest_seconds"] is not None
        and "Connection refused" in depth["last_error"]
    )
    out = io.StringIO()
    call_command("status", stdout=out)
    assert "Spool:   1 task(s) not yet queued" in out.getvalue()
    from meadow.core.tasks import spool_resend as task

    assert task.apply().get() == {"sent": 1, "left": 0}
    out = io.StringIO()
    call_command("status", stdout=out)
    assert "Spool:   empty" in out.getvalue()
