"""Background work and real-time on each profile: inline on the embedded default; a real Celery worker
through Redis and the Channels Redis layer at scale."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from celery.result import allow_join_result
from channels.layers import get_channel_layer

from meadow.core.tasks import ping

REDIS_URL = os.environ.get("MEADOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
needs_redis = pytest.mark.skipif(
    not os.environ.get("MEADOW_TEST_REDIS"), reason="scale profile only: set MEADOW_TEST_REDIS (.ci/run does)"
)


def test_tasks_run_inline_on_the_embedded_default(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Celery's "inside a task" flag is one global that every eager task sets and restores; eager tasks run by
    # other threads of this process (a browser test's live server) can leave it set, so say this is no task.
    with allow_join_result():
        answer = ping.delay(token="inline").get(timeout=5)
    assert answer["token"] == "inline" and answer["pid"] == os.getpid()


def test_channel_layer_round_trip():
    """The configured layer (in-memory, or Redis at scale) carries a group message to a channel."""
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("meadow-test", channel)
        await layer.group_send("meadow-test", {"type": "hello", "text": "你好"})
        message = await layer.receive(channel)
        await layer.group_discard("meadow-test", channel)
        return message

    # a thread of its own: another test's browser may own this thread's event loop
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, round_trip()).result(timeout=30) == {"type": "hello", "text": "你好"}


@pytest.fixture
def celery_worker_process(tmp_path):
    """A real `celery -A meadow worker` process on the Redis broker, in its own interpreter."""
    queue = f"meadow-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "meadow.settings",
            "MEADOW_DATA_DIR": str(tmp_path),
            "REDIS_URL": REDIS_URL,
            "MEADOW_TASKS_EAGER": "false",
        }
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "meadow",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc, queue
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@needs_redis
def test_a_task_really_runs_through_redis_on_a_worker(celery_worker_process):
    from celery import Celery

    proc, queue = celery_worker_process
    client = Celery("meadow-client", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
    token = uuid.uuid4().hex
    result = client.send_task("meadow.core.tasks.ping", kwargs={"token": token}, queue=queue)
    try:
        with allow_join_result():  # see test_tasks_run_inline_on_the_embedded_default
            answer = result.get(timeout=60)
    except Exception:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
        raise AssertionError(f"the worker did not answer; its output:\n{output}") from None
    assert answer["token"] == token
    assert answer["pid"] == proc.pid  # ran in the worker process, not inline here
    assert answer["pid"] != os.getpid()
