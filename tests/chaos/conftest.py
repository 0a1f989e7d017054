"""The fault checks (issue #16, docs/operations.md "Faults") start private PostgreSQL and Redis servers, web and
worker processes, and restart or kill them: minutes of work, so they are not part of the normal suite. They
run with ``make chaos`` (MEADOW_CHAOS=1), which .ci/run calls after the two suites."""

import os

collect_ignore_glob = [] if os.environ.get("MEADOW_CHAOS") else ["test_*.py"]
