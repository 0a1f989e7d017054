"""ASGI entry point: HTTP through Django, WebSockets through Channels (real-time features register their
consumers in ``meadow.routing``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
django_asgi_app = get_asgi_application()

from meadow.core.running import instance_lock_hold  # noqa: E402

instance_lock_hold(role="web")  # `meadow restore` refuses while this process runs

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from meadow.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
