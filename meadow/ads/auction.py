"""The ad auction, the click-through estimator and budget pacing: plain Python (no Django), unit-tested alone.

**Click-through estimate** (Beta smoothing). A campaign's predicted CTR is the posterior mean of a Beta prior
updated with its own impressions and clicks on Meadow::

    ctr = (clicks + k·m) / (impressions + k)

where ``m`` is the prior mean — Meadow's platform-wide CTR, itself smoothed toward ``PRIOR_CTR`` the same way — and
``k`` (``PRIOR_STRENGTH``, 100 impressions) how much evidence the prior is worth. A new campaign starts at the
platform's CTR and moves toward its own as it is shown.

**Generalised second-price auction.** Eligible candidates (bid at least the reserve) are ranked by
``score = bid × ctr`` (ties: the lower campaign id, i.e. the older campaign, first). The k-th ranked wins the k-th
slot of the page and pays, per click, the least it could have bid to keep its rank::

    price_k = score_{k+1} / ctr_k     (the reserve when nobody ranks below it)

floored at the reserve and capped at its own bid, rounded up to the sen and never above the bid.

**Pacing.** A campaign spends its daily budget evenly over the day: it may enter an auction only while
``spent_today / daily_budget ≤ elapsed_fraction_of_day + slack``; the slack (default 0.05) lets it start the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

PRIOR_CTR = 0.02
PRIOR_STRENGTH = 100.0
DEFAULT_RESERVE = Decimal("0.10")
CENT = Decimal("0.01")


def ctr_estimate(
    *, impressions: int, clicks: int, prior: float = PRIOR_CTR, strength: float = PRIOR_STRENGTH
) -> float:
    """The Beta-smoothed click-through rate (see the module's docstring); in (0, 1) for any counts."""
    if impressions < 0 or clicks < 0 or clicks > impressions:
        raise ValueError("need 0 <= clicks <= impressions")
    if not 0 < prior < 1 or strength <= 0:
        raise ValueError("the prior mean is in (0, 1) and its strength positive")
    return (clicks + strength * prior) / (impressions + strength)


def platform_ctr(*, impressions: int, clicks: int) -> float:
    """Meadow's own CTR over every campaign, smoothed toward ``PRIOR_CTR``: the prior of each campaign."""
    return ctr_estimate(impressions=impressions, clicks=clicks)


@dataclass(frozen=True, slots=True)
class Candidate:
    campaign: int
    bid: Decimal
    ctr: float

    @property
    def score(self) -> float:
        return float(self.bid) * self.ctr


@dataclass(frozen=True, slots=True)
class Win:
    campaign: int
    slot: int  # 0-based rank among the page's ad slots
    price: Decimal  # per click
    score: float


def auction(candidates: Sequence[Candidate], *, slots: int, reserve: Decimal = DEFAULT_RESERVE) -> list[Win]:
    """Run the generalised second-price auction for ``slots`` ad slots (see the module's docstring)."""
    if slots < 0:
        raise ValueError("slots must not be negative")
    eligible = [c for c in candidates if c.bid >= reserve and c.ctr > 0]
    ranked = sorted(eligible, key=lambda c: (-c.score, c.campaign))
    wins: list[Win] = []
    for rank, cand in enumerate(ranked[:slots]):
        if rank + 1 < len(ranked):
            following = ranked[rank + 1]
            raw = Decimal(repr(following.score / cand.ctr))
        else:
            raw = reserve
        price = max(raw, reserve).quantize(CENT, rounding=ROUND_CEILING)
        wins.append(Win(campaign=cand.campaign, slot=rank, price=min(price, cand.bid), score=cand.score))
    return wins


def pacing_allows(
    *, spent_today: Decimal, daily_budget: Decimal, elapsed_fraction: float, slack: float = 0.05
) -> bool:
    """Whether a campaign may enter an auction now: its day's spent fraction is not ahead of the day's elapsed
    fraction by more than ``slack``, and some budget is left."""
    if daily_budget <= 0 or spent_today >= daily_budget:
        return False
    spent_fraction = float(spent_today / daily_budget)
    return spent_fraction <= min(1.0, max(0.0, elapsed_fraction) + slack)
