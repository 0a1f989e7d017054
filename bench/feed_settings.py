"""Settings for bench/feed.py's server: the project's settings with CONN_MAX_AGE = 0. Django's ASGI handler runs
each request's sync code in a fresh thread-sensitive context, so persistent connections (CONN_MAX_AGE = 60 in
meadow/settings.py) pile up one per request thread until PostgreSQL refuses clients ("too many clients")."""

from meadow.settings import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
