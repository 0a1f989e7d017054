import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
application = get_wsgi_application()

from meadow.core.running import instance_lock_hold  # noqa: E402

instance_lock_hold(role="web")  # `meadow restore` refuses while this process runs
