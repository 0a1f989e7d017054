"""Rate limits on sign-up, login and code requests, per account and per IP, in every profile.

A fixed window counter in the cache (local memory on the embedded default, Redis at scale, so limits hold
across processes). ``MEADOW_RATE_LIMITS`` is ``on`` (default), ``off``, or a multiplier such as ``10`` that
raises every limit for load tests.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from meadow.core.cache import CacheUnavailable
from meadow.core.errors import DomainError


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


# The limits, by scope. Each scope is counted per key (an IP address, a phone number, a login…).
RATES: dict[str, Rate] = {
    "signup:ip": Rate(20, 3600),
    # Failed password sign-ins (a success gives its attempt back: ``rate_limit_refund``). The tight limit is per
    # account *and* client address, so a stranger elsewhere cannot lock the owner out; the account-wide ceiling
    # is much higher and only slows a distributed guesser. SMS codes and password resets stay open throughout.
    "login:ip": Rate(30, 300),
    "login:account": Rate(10, 300),  # per account and client address
    "login:account:all": Rate(100, 3600),  # per account, from every address together
    "reconfirm:account": Rate(10, 300),  # a signed-in person re-entering their password (Delete my account)
    "code:ip": Rate(20, 3600),
    "code:phone": Rate(5, 3600),
    "code:phone:burst": Rate(1, 60),
    "code_verify:phone": Rate(10, 600),
    "moderation:account": Rate(120, 60),  # the composer checks as the creator types (debounced)
    "moderation:ip": Rate(300, 60),
    "report:account": Rate(30, 3600),
    # catching up on a conversation (``?after=`` at a messages socket's connect, a ``resume`` frame, the history
    # endpoints): a reconnecting page asks once; a loop re-reading history is refused
    "messages:resume:account": Rate(120, 60),
    "csp_report:ip": Rate(
        60, 60
    ),  # violation reports (a broken page sends a few per view): logs, not floods  # reports feed a human queue: enough for honest use, not for floods
}


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(_("Too many attempts. Please wait a little and try again."))
        self.retry_after = retry_after


def _multiplier() -> float | None:
    value = settings.MEADOW_RATE_LIMITS
    if value in {"off", "0", "false", "no"}:
        return None
    if value in {"on", "1", "true", "yes", ""}:
        return 1.0
    try:
        factor = float(value)
    except ValueError as exc:
        raise ValueError("MEADOW_RATE_LIMITS must be on, off or a number") from exc
    return factor if factor > 0 else None


def rate_limit_hit(*, scope: str, key: str) -> None:
    """Count one attempt for ``key`` in ``scope``; raise ``RateLimited`` once the window's limit is passed.

    The window starts at the key's first attempt (not at a clock boundary), so "1 per 60 s" really means 60 s
    between allowed attempts, and a burst cannot straddle two windows."""
    factor = _multiplier()
    if factor is None or not key:
        return
    rate = RATES[scope]
    limit = max(1, int(rate.limit * factor))
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    count_key, start_key = f"rl:{scope}:{digest}", f"rl:{scope}:{digest}:t"
    now = time.time()
    if cache.add(start_key, now, timeout=rate.period):
        cache.set(count_key, 0, timeout=rate.period)
    try:
        count = cache.incr(count_key)
    except CacheUnavailable:
        # Redis is down (restarting): fail open. Refusing everyone would lock every sign-in, sign-up and code
        # request out for the outage; the window an attacker gains is the outage's length (docs/operations.md).
        return
    except ValueError:  # the window expired between the two calls: this attempt opens a new one
        cache.set(start_key, now, timeout=rate.period)
        cache.set(count_key, 1, timeout=rate.period)
        count = 1
    if count > limit:
        started = cache.get(start_key) or now
        raise RateLimited(retry_after=max(1, int(rate.period - (now - started)) + 1))


def rate_limit_refund(*, scope: str, key: str) -> None:
    """Give back one attempt counted by :func:`rate_limit_hit` for ``key`` in ``scope`` (it turned out to be
    one that must not count, e.g. a successful sign-in). Counting first and giving back afterwards keeps the
    limit exact under concurrency, where checking first and counting afterwards would not."""
    if _multiplier() is None or not key:
        return
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    count_key = f"rl:{scope}:{digest}"
    try:
        if int(cache.get(count_key) or 0) > 0:
            cache.decr(count_key)
    except ValueError:  # the window expired meanwhile: nothing to give back
        pass


def _trusted_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = getattr(settings, "MEADOW_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
    networks = []
    for item in raw:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return networks


def _is_trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str:
    """The client's address: the rate limits and agreement records key on it, so a client must not choose it.

    ``REMOTE_ADDR`` unless ``MEADOW_TRUSTED_PROXY_HEADER`` (e.g. ``HTTP_X_FORWARDED_FOR``) is set *and* the
    request comes from one of ``MEADOW_TRUSTED_PROXIES`` (addresses or networks). Then the header is read from
    the right — each proxy appends the address it saw — skipping our own proxies; the first address that is
    not one of them is the client. Whatever a client writes itself sits to the left of that and is ignored.
    (Behind uvicorn ``--proxy-headers --forwarded-allow-ips=<proxy>``, uvicorn already did this and
    ``REMOTE_ADDR`` is the client: leave the header setting unset.)"""
    remote = request.META.get("REMOTE_ADDR", "")
    header = getattr(settings, "MEADOW_TRUSTED_PROXY_HEADER", "")
    if not header or not request.META.get(header):
        return remote
    networks = _trusted_networks()
    if not _is_trusted(remote, networks):
        return remote  # not from our proxy: the header is the client's own words
    for entry in reversed(str(request.META[header]).split(",")):
        address = entry.strip()
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return remote  # a garbled chain: trust nothing in it
        if not _is_trusted(address, networks):
            return address
    return remote
