"""A task for the worker-kill check, loaded only by that check's worker (``celery worker -I tests.chaos.probe``).

It behaves like Meadow's tasks must: idempotent. Each run appends a line to ``<token>.runs``; its effect —
creating ``<token>.done`` exclusively — happens at most once whatever the number of runs, and a run that finds
the effect already there records a duplicate in ``<token>.dup``."""

import os
import time

from celery import shared_task


@shared_task(name="tests.chaos.probe.probe", acks_late=True)
def probe(token: str, seconds: float, folder: str) -> str:
    with open(os.path.join(folder, f"{token}.runs"), "a") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    try:
        fd = os.open(os.path.join(folder, f"{token}.done"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        with open(os.path.join(folder, f"{token}.dup"), "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return "duplicate"
    os.close(fd)
    return "done"
