"""``python -m meadow.core.procfile start`` — honcho (``honcho start``) with a longer grace period on Ctrl-C.

honcho sends SIGTERM to every process of the Procfile and SIGKILLs what is still running 5 s after the first one
stopped. A Celery worker's warm shutdown (finish the running task, give unfinished messages back to the broker)
and beat's can take longer than that on a busy small machine, so `make run` gives them
``MEADOW_STOP_TIMEOUT`` seconds (default 20) before anything is killed."""

from __future__ import annotations

import os
import sys


def main() -> None:
    import honcho.manager
    from honcho.command import main as honcho_main

    honcho.manager.KILL_WAIT = int(os.environ.get("MEADOW_STOP_TIMEOUT", "20"))  # read on every loop
    sys.argv[0] = "honcho"
    honcho_main()


if __name__ == "__main__":
    main()
