"""The per-instance secret (atomic creation, 0600, agreed by processes starting together), the sandbox webhook
secret built on it, and the deployment checks."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import os
import stat
from io import StringIO

import pytest
from django.core.management import call_command

from meadow.core import secrets
from meadow.orders.gateway import webhook_secret

DEV_KEY = "django-insecure-meadow-development-key-never-use-in-production"


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    secrets.reset_cache()
    yield
    secrets.reset_cache()


def _read_in_child(directory: str, start, out) -> None:
    start.wait(10)
    secrets.reset_cache()
    out.put(secrets.instance_secret(directory=directory))


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    folder = tmp_path / "together"
    context = multiprocessing.get_context("fork")
    start, out = context.Event(), context.Queue()
    children = [context.Process(target=_read_in_child, args=(str(folder), start, out)) for _ in range(6)]
    for child in children:
        child.start()
    start.set()
    values = {out.get(timeout=30) for _ in children}
    for child in children:
        child.join(10)
    assert len(values) == 1 and len(next(iter(values))) == 64
    assert [p.name for p in folder.iterdir()] == [secrets.FILENAME]  # no temporary file left behind
    assert stat.S_IMODE(os.stat(folder / secrets.FILENAME).st_mode) == 0o600
    assert secrets.instance_secret(directory=folder) in values  # this process reads the same file


def test_the_sandbox_webhook_secret_is_per_instance_outside_production(settings):
    settings.SECRET_KEY = DEV_KEY
    settings.MEADOW_SANDBOX_WEBHOOK_SECRET = ""
    published = hmac.new(DEV_KEY.encode(), b"meadow.sandbox.webhook", hashlib.sha256).hexdigest().encode()
    first = webhook_secret()
    assert first != published and DEV_KEY.encode() not in first
    assert (settings.DATA_DIR / secrets.FILENAME).is_file()
    assert webhook_secret() == first  # stable while the file is there
    secrets.reset_cache()
    assert webhook_secret() == first  # and across restarts
    settings.DATA_DIR = settings.DATA_DIR.parent / "another-instance"
    secrets.reset_cache()
    assert webhook_secret() != first  # another instance, another secret


def test_an_explicit_webhook_secret_wins(settings):
    settings.MEADOW_SANDBOX_WEBHOOK_SECRET = "shared-by-web-and-workers"
    assert webhook_secret() == b"shared-by-web-and-workers"
    assert not (settings.DATA_DIR / secrets.FILENAME).exists()


def _deploy_check_ids() -> str:
    out, err = StringIO(), StringIO()
    try:
        call_command("check", "--deploy", stdout=out, stderr=err)
    except Exception as exc:  # SystemCheckError when an error-level check fails
        return str(exc) + out.getvalue() + err.getvalue()
    return out.getvalue() + err.getvalue()


def test_check_deploy_warns_about_the_sandbox_gateway(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEADOW_PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEADOW_PAYMENT_GATEWAY = "meadow.orders.gateway.SandboxGateway"
    assert "meadow.W001" in _deploy_check_ids()
    settings.MEADOW_PAYMENT_GATEWAY = "example.gateways.RealProvider"
    assert "meadow.W001" not in _deploy_check_ids()


def test_check_refuses_private_files_under_the_public_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEADOW_PRIVATE_MEDIA_ROOT = tmp_path / "media" / "private"
    assert "meadow.E001" in _deploy_check_ids()
    settings.MEADOW_PRIVATE_MEDIA_ROOT = tmp_path / "private"
    assert "meadow.E001" not in _deploy_check_ids()
