"""What distribution does when a lower app records a fact (``meadow.core.outbox``): the reader's interest profile
learns from engagement and follows. Each handler runs once per fact, in order, after the owner's commit.
Registered in ``DistributionConfig.ready``."""

from __future__ import annotations

from meadow.core.models import OutboxEvent
from meadow.distribution.services import interests_learn_event, interests_learn_follow
from meadow.engagement.models import EngagementEvent, Signal

# Impressions teach nothing; a deleted comment's events are bookkeeping of the note's score, not a reader's act.
NOT_LEARNED = frozenset({Signal.IMPRESSION, Signal.UNCOMMENT})


def engagement_wanted(event: EngagementEvent) -> bool:
    return event.user_id is not None and event.kind not in NOT_LEARNED


def interests_engagement(event: EngagementEvent) -> None:
    """One engagement event of a signed-in reader updates their interest profile."""
    interests_learn_event(user_id=event.user_id, note_id=event.note_id, kind=str(event.kind))


def interests_follow(event: OutboxEvent) -> None:
    """A follow teaches the followee's categories to the follower's interest profile."""
    interests_learn_follow(user_id=event.payload["follower_id"], followee_id=event.payload["followee_id"])


def following_note(event: OutboxEvent) -> None:
    """A note went out (fan out), was edited while published (fan out again: idempotent, or retract if it is
    no longer for followers) or deleted (retract) — in a task, off the request."""
    from meadow.core.tasks import enqueue
    from meadow.distribution.tasks import following_fan_out, following_retract
    from meadow.notes.events import NOTE_DELETED

    note_id = event.payload["note_id"]
    if event.topic == NOTE_DELETED:
        enqueue(following_retract, note_id=note_id)
    elif event.payload.get("published"):  # created published, or edited (a draft published) while out
        enqueue(following_fan_out, note_id=note_id)


def following_follow(event: OutboxEvent) -> None:
    """A follow was activated: the followee's notes join the follower's live Following feed (a task)."""
    from meadow.core.tasks import enqueue
    from meadow.distribution.tasks import following_merge

    enqueue(
        following_merge,
        follower_id=event.payload["follower_id"],
        followee_id=event.payload["followee_id"],
    )
