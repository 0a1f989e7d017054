"""Where Meadow may send a browser back to: every ``next``, ``return_url`` or Referer a request carries goes
through here before it becomes a redirect or a link.

Browsers forgive a lot that ``urllib`` does not: they drop tabs and newlines anywhere in a URL, read ``\\`` as
``/`` and ignore leading control characters and spaces, so ``"/\\t/evil.example"`` or ``"/\\\\evil.example"``
leave the site. So a target is refused outright when it holds any control character, any whitespace or a
backslash, has an empty or dot path segment (``/.//host``), or is percent-encoded to hide a slash or a scheme, and only then checked with Django's
``url_has_allowed_host_and_scheme`` against the site's own host.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote

from django.utils.http import url_has_allowed_host_and_scheme

from meadow.core.schema import END_OF_TEXT

MAX_LENGTH = 2000
# What a payment's ``return_url`` may be, as the API's schema states it: a path of this site whose segments are
# plain (letters, digits, ``_~-``, dots after the first character: never empty, ``.`` or ``..``, nothing
# percent-encoded), then an optional query and fragment of URL characters. ``local_path`` takes exactly these.
_SEGMENT = r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*"
_QUERY_CHARS = r"[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*"
RETURN_PATH_PATTERN = (
    rf"^/(?:{_SEGMENT}/)*(?:{_SEGMENT})?(?:\?{_QUERY_CHARS})?(?:#{_QUERY_CHARS})?{END_OF_TEXT}"
)
_RETURN_PATH = re.compile(RETURN_PATH_PATTERN)


def _bad_char(char: str) -> bool:
    return char == "\\" or char.isspace() or unicodedata.category(char)[0] in "CZ"


def _suspicious(url: str) -> bool:
    if len(url) > MAX_LENGTH or any(_bad_char(char) for char in url):
        return True
    # The part before the query, percent-decoded: "%2f%2fevil", "/%5cevil" or "%6aavascript:" must not turn
    # into a host or a scheme when something on the way decodes it once more.
    head = unquote(url.split("?", 1)[0].split("#", 1)[0])
    if any(_bad_char(char) for char in head) or head.startswith("//"):
        return True
    # Empty or dot segments ("/.//evil.example", "/a/..//evil"): no page of ours has them, and a browser or a
    # proxy that normalises the path may turn what is left into "//host".
    segments = head.split("/")[1:-1] if head.startswith("/") else []
    if any(segment in ("", ".", "..") for segment in segments):
        return True
    return head != url.split("?", 1)[0].split("#", 1)[0] and ":" in head.split("/", 1)[0]


def safe_redirect_target(
    url: str | None, *, allowed_hosts: Iterable[str] | None, require_https: bool = False
) -> str | None:
    """``url`` if it is safe to redirect to (this site only), else ``None``."""
    if not url or not isinstance(url, str) or _suspicious(url):
        return None
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts=set(allowed_hosts or ()), require_https=require_https
    ):
        return None
    return url


def local_path(url: str | None) -> str | None:
    """``url`` if it is a path on this site (``/…``, no host, no scheme), else ``None``: what a payment's
    ``return_url`` may be: one RETURN_PATH_PATTERN matches, that the normaliser also keeps."""
    if not isinstance(url, str) or not _RETURN_PATH.fullmatch(url):
        return None
    target = safe_redirect_target(url, allowed_hosts=())
    if target is None or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def next_url(request, default: str, *, names: Iterable[str] = ("next",)) -> str:
    """The request's ``next`` (POST, then GET) if it stays on this site, else ``default``."""
    for name in names:
        target = request.POST.get(name) or request.GET.get(name)
        if target:
            safe = safe_redirect_target(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            if safe is not None:
                return safe
            break
    return default
