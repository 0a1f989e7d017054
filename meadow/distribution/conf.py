"""Distribution settings as engine configs (read on every call, so ``override_settings`` works in tests)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from meadow.distribution.engine.interests import InterestConfig
from meadow.distribution.engine.pools import PoolConfig, scaled_ladder

ACTIVE_READERS_CACHE_SECONDS = 3600


def pool_config() -> PoolConfig:
    return PoolConfig(
        ladder=tuple((int(a), int(b)) for a, b in settings.MEADOW_POOL_LADDER),
        window_hours=settings.MEADOW_POOL_WINDOW_HOURS,
        min_ctr=settings.MEADOW_POOL_MIN_CTR,
        min_interaction_rate=settings.MEADOW_POOL_MIN_INTERACTION_RATE,
        min_completion_rate=settings.MEADOW_POOL_MIN_COMPLETION_RATE,
        min_score_per_impression=settings.MEADOW_POOL_MIN_SCORE_PER_IMPRESSION,
        max_holds=settings.MEADOW_POOL_MAX_HOLDS,
        top_share=settings.MEADOW_POOL_TOP_SHARE,
    )


def interest_config() -> InterestConfig:
    return InterestConfig(
        half_life_days=settings.MEADOW_INTEREST_HALF_LIFE_DAYS,
        picked_weight=settings.MEADOW_INTEREST_PICKED_WEIGHT,
        follow_signal=float(settings.MEADOW_SIGNAL_WEIGHTS.get("follow", 8)) / 2,
    )


def active_readers() -> int:
    """Accounts that joined or logged in within ``MEADOW_POOL_ACTIVE_DAYS`` (cached for an hour)."""
    key = "distribution:active-readers"
    found = cache.get(key)
    if found is None:
        from meadow.accounts.models import User

        since = timezone.now() - timedelta(days=settings.MEADOW_POOL_ACTIVE_DAYS)
        found = User.objects.filter(is_active=True).filter(
            Q(last_login__gte=since) | Q(date_joined__gte=since)
        )
        found = found.count()
        cache.set(key, found, ACTIVE_READERS_CACHE_SECONDS)
    return int(found)


def pool_sizes() -> tuple[tuple[int, int], ...]:
    """The pool ladder scaled to this deployment's active readers."""
    return scaled_ladder(active_readers=active_readers(), config=pool_config())
