"""``meadow status``: what runs — processes, queue depth, the last run of each periodic job, the last error.
The same data as the staff page (admin → Background jobs); ``--json`` for scripts and monitoring."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from meadow.core.jobs import system_status


def _seconds(value: float | None) -> str:
    if value is None:
        return "never"
    if value < 120:
        return f"{value:.0f}s ago"
    if value < 7200:
        return f"{value / 60:.0f}m ago"
    return f"{value / 3600:.1f}h ago"


class Command(BaseCommand):
    help = "Show the background processes, queue depth, each periodic job's last run and the last error."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print the status as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        status = system_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, default=str))
            return
        out = self.stdout.write
        processes = status["processes"]
        out(
            f"Broker:  {status['broker']}"
            + ("  (MEADOW_TASKS_EAGER: tasks run inline)" if status["eager"] else "")
        )
        queue = status["queue"]
        if queue["depth"] is not None:
            out(f"Queue:   {queue['queue']}: {queue['depth']} waiting")
        elif queue["error"]:
            out(f"Queue:   {queue['queue']}: unreachable ({queue['error']})")
        spool = status["spool"]
        if spool["depth"]:
            out(
                f"Spool:   {spool['depth']} task(s) not yet queued (broker was down), oldest "
                f"{_seconds(spool['oldest_seconds'])}; last error: {spool['last_error'] or '-'}"
            )
        elif spool["depth"] == 0:
            out("Spool:   empty")
        out(f"Web:     this process {processes['web']['host']}:{processes['web']['pid']}")
        workers = processes["workers"] or []
        if workers:
            for w in workers:
                out(f"Worker:  {w['worker']} (last task {_seconds(w['seconds_ago'])})")
        else:
            out("Worker:  none seen recently")
        alive = "alive" if processes["beat_alive"] else "NOT SEEN"
        out(f"Beat:    {alive} (last heartbeat {_seconds(processes['last_heartbeat_seconds_ago'])})")
        out("")
        header = (
            f"{'job':32} {'every':>8} {'last run':>10} {'took':>8} {'outcome':8} {'runs':>6} {'fails':>5}"
        )
        out(header)
        out("-" * len(header))
        for job in status["jobs"]:
            took = "" if job["duration_ms"] is None else f"{job['duration_ms']}ms"
            out(
                f"{job['name']:32} {job['every_seconds']:>7.0f}s {_seconds(job['seconds_ago']):>10} {took:>8} "
                f"{job['outcome'] or '-':8} {job['runs']:>6} {job['failures']:>5}"
            )
        last = status["last_error"]
        out("")
        out(
            "Last error: none"
            if last is None
            else f"Last error: {last['task']} at {last['at']:%Y-%m-%d %H:%M:%S}Z"
        )
        if last is not None:
            out(f"  {last['error']}")
