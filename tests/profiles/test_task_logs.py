"""A real Celery worker (Redis broker) logs a task's lines with the request id its message header carries, and
records the task's queue lag in prometheus_client's multi-process files (PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from celery.result import allow_join_result

REDIS_URL = os.environ.get("MEADOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.redis
@pytest.mark.skipif(
    not os.environ.get("MEADOW_TEST_REDIS"), reason="scale profile only: set MEADOW_TEST_REDIS"
)
def test_worker_task_lines_carry_the_request_id_and_its_lag_is_measured(tmp_path):
    from celery import Celery

    queue = f"meadow-test-logs-{uuid.uuid4().hex[:8]}"
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "meadow.settings",
            "MEADOW_DATA_DIR": str(tmp_path),
            "REDIS_URL": REDIS_URL,
            "MEADOW_TASKS_EAGER": "false",
            "MEADOW_LOG_FORMAT": "json",
            "MEADOW_LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "meadow",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = Celery("meadow-client", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
        result = client.send_task(
            "meadow.core.tasks.ping",
            kwargs={"token": "t"},
            queue=queue,
            headers={"meadow_request_id": "web-req-9"},
        )
        with allow_join_result():
            assert result.get(timeout=90)["token"] == "t"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    task_lines = [line for line in lines if line.get("logger") == "meadow.task"]
    assert [line["event"] for line in task_lines] == ["task started", "task finished"], output
    assert {line["request_id"] for line in task_lines} == {"web-req-9"}
    assert {line["task_id"] for line in task_lines} == {result.id}

    # the worker wrote its metrics to the shared folder; /metrics in multi-process mode adds them up like this
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    lags = registry.get_sample_value("meadow_task_lag_seconds_count", {"task": "meadow.core.tasks.ping"})
    assert lags == 1
    assert (
        0 <= registry.get_sample_value("meadow_task_lag_seconds_sum", {"task": "meadow.core.tasks.ping"}) < 60
    )
