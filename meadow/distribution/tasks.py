"""Distribution background work (inline on the embedded default, Celery at scale). Every task is idempotent or
safe to repeat: pool entry is once per note, an evaluation re-checks that the note is due under a row lock."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="meadow.distribution.tasks.pool_enter")
def pool_enter(note_id: int) -> bool:
    """A note was published: put it in pool 1 (or record why it cannot be)."""
    from meadow.distribution.services import pool_enter as enter

    return enter(note_id=note_id) is not None


@shared_task(name="meadow.distribution.tasks.pools_evaluate_due")
def pools_evaluate_due() -> dict[str, int]:
    """Periodic (beat, every minute) and when impressions make notes due: evaluate one batch of due notes."""
    from meadow.distribution.services import pools_evaluate_due as run

    return run()


@shared_task(name="meadow.distribution.tasks.interests_learn")
def interests_learn(user_id: int, note_id: int, kind: str) -> bool:
    """One engagement event updates its reader's interest profile."""
    from meadow.distribution.services import interests_learn_event

    return interests_learn_event(user_id=user_id, note_id=note_id, kind=kind) is not None


@shared_task(name="meadow.distribution.tasks.interests_follow")
def interests_follow(user_id: int, followee_id: int) -> bool:
    """A follow teaches the followee's categories."""
    from meadow.distribution.services import interests_learn_follow

    return interests_learn_follow(user_id=user_id, followee_id=followee_id) is not None


@shared_task(name="meadow.distribution.tasks.cf_model_retrain")
def cf_model_retrain() -> dict[str, object]:
    """Periodic (beat, MEADOW_CF_RETRAIN_SECONDS): retrain Discover's collaborative-filtering model from the
    engagement events and make it current (see meadow.distribution.cf_store). Safe to repeat."""
    from meadow.distribution.cf_store import cf_model_train

    return cf_model_train()


@shared_task(name="meadow.distribution.tasks.following_fan_out")
def following_fan_out(note_id: int) -> int:
    """A note went out or was edited: into (or out of) its author's active followers' Following feeds."""
    from meadow.distribution.following import following_fan_out as fan_out

    return fan_out(note_id=note_id)


@shared_task(name="meadow.distribution.tasks.following_retract")
def following_retract(note_id: int) -> int:
    """A note was deleted: out of the Following feeds."""
    from meadow.distribution.following import following_retract as retract

    return retract(note_id=note_id)


@shared_task(name="meadow.distribution.tasks.following_merge")
def following_merge(follower_id: int, followee_id: int) -> int:
    """A follow was activated: the followee's newest notes join the follower's live Following feed."""
    from meadow.distribution.following import following_merge as merge

    return merge(follower_id=follower_id, followee_id=followee_id)
