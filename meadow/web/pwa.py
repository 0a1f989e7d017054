"""The installable web app: the manifest, the service worker and the offline page (issue #23).

* ``/manifest.webmanifest?lang=<code>`` — name, icons (192/512, "any" and "maskable"), start URL, standalone
  display and colours; name and description in the language asked for (the page links the manifest with its own
  language, because browsers fetch manifests without cookies).
* ``/sw.js`` — the service worker, served from the site root so that its scope is the whole site. It precaches
  the shell (CSS, JS, icons and the offline page in every language), answers navigations network-first with the
  offline page as the fallback, and caches nothing else: no API answer and no page's HTML is ever stored. Its
  cache name carries a version derived from what it precaches, so a deploy replaces the cache and ``activate``
  deletes the old ones. It also shows Web Push notifications and opens their URL when clicked.
* ``/offline/`` — the page shown when a navigation fails; it has no user data, so it may be cached.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

THEME_COLOUR = "#e8774a"
BACKGROUND_COLOUR = "#ffffff"
ICONS = [
    ("meadow/icons/icon-192.png", "192x192", "any"),
    ("meadow/icons/icon-512.png", "512x512", "any"),
    ("meadow/icons/maskable-192.png", "192x192", "maskable"),
    ("meadow/icons/maskable-512.png", "512x512", "maskable"),
]
# The shell every page needs (precached); pages add their own scripts, fetched from the network as usual.
SHELL_STATIC = [
    "meadow/meadow.css",
    "meadow/search.css",
    "meadow/htmx.min.js",
    "meadow/meadow.js",
    "meadow/search.js",
    "meadow/logo.svg",
    "meadow/icons/icon-192.png",
    "meadow/icons/maskable-192.png",
    "meadow/icons/apple-touch-icon.png",
]
START_URL = "/?source=pwa"


def _language(request: HttpRequest) -> str:
    """The ``lang`` asked for when it is one of ours, else the request's language."""
    asked = request.GET.get("lang", "")
    known = {code for code, _name in settings.LANGUAGES}
    return asked if asked in known else (translation.get_language() or settings.LANGUAGE_CODE)


@require_GET
@cache_control(public=True, max_age=3600)
def manifest(request: HttpRequest) -> HttpResponse:
    language = _language(request)
    with translation.override(language):
        body = {
            "id": "/",
            "name": _("Meadow — notes, discovery and shops"),
            "short_name": _("Meadow"),
            "description": _("Share notes, discover what people love and shop from verified sellers."),
            "lang": language,
            "dir": "ltr",
            "start_url": START_URL,
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "theme_color": THEME_COLOUR,
            "background_color": BACKGROUND_COLOUR,
            "categories": ["social", "shopping", "lifestyle"],
            "icons": [
                {"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
                for path, sizes, purpose in ICONS
            ],
        }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    response["Vary"] = "Accept-Language, Cookie"
    return response


def offline_urls() -> list[str]:
    """The offline page in every language (the worker picks the one of the last page it saw)."""
    base = reverse("web:offline")
    return [f"{base}?lang={code}" for code, _name in settings.LANGUAGES]


@lru_cache(maxsize=4)
def _version(static_urls: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in ("web/pwa/sw.js", "web/pwa/offline.html"):
        origin = get_template(name).origin.name
        digest.update(Path(origin).read_bytes())
    digest.update("\n".join(static_urls).encode())
    return digest.hexdigest()[:16]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    static_urls = tuple(static(path) for path in SHELL_STATIC)
    precache = [*static_urls, *offline_urls()]
    body = render_to_string(
        "web/pwa/sw.js",
        {
            "version": _version(static_urls),
            "precache": json.dumps(precache),
            "offline": json.dumps(reverse("web:offline")),
            "languages": json.dumps([code for code, _name in settings.LANGUAGES]),
            "default_language": json.dumps(settings.LANGUAGE_CODE),
            "icon": json.dumps(static("meadow/icons/icon-192.png")),
            "badge": json.dumps(static("meadow/icons/maskable-192.png")),
        },
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # The browser checks for a new worker on every navigation; never let a cache keep an old one.
    response["Cache-Control"] = "no-cache, max-age=0"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def offline(request: HttpRequest) -> HttpResponse:
    language = _language(request)
    with translation.override(language):
        body = render_to_string("web/pwa/offline.html", {"LANG": language})
    response = HttpResponse(body)
    response["Content-Language"] = language
    return response
