from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "meadow.distribution"
    label = "distribution"
    verbose_name = _("Distribution")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.accounts.services import FOLLOW_ACTIVATED, FOLLOW_CREATED
        from meadow.core.outbox import register_consumer, register_log_consumer
        from meadow.distribution import reactions
        from meadow.engagement.models import EngagementEvent
        from meadow.notes.events import NOTE_CREATED, NOTE_DELETED, NOTE_UPDATED

        register_consumer(
            "distribution.interests_follow", topics=[FOLLOW_CREATED], handle=reactions.interests_follow
        )
        register_log_consumer(
            "distribution.interests_engagement",
            log=EngagementEvent.objects.all(),
            wants=reactions.engagement_wanted,
            handle=reactions.interests_engagement,
        )
        register_consumer("distribution.pool_enter", topics=[NOTE_CREATED, NOTE_UPDATED], handle=_pool_enter)
        # Following is filled on write (distribution/following.py): a note going out, edited or deleted,
        # and a follow activated, queue the fan-out.
        register_consumer(
            "distribution.following_notes",
            topics=[NOTE_CREATED, NOTE_UPDATED, NOTE_DELETED],
            handle=reactions.following_note,
        )
        register_consumer(
            "distribution.following_follows", topics=[FOLLOW_ACTIVATED], handle=reactions.following_follow
        )

        from meadow.distribution.services import pools_recheck_held
        from meadow.integrity.services import hold_hooks_set

        # integrity sits below distribution: a note promoted on signals it holds is judged again (and demoted)
        hold_hooks_set(pools_recheck_held)


def _pool_enter(event) -> None:
    """A note that goes out (published at once, or a draft published) enters traffic pool 1."""
    from meadow.core.tasks import enqueue
    from meadow.distribution.tasks import pool_enter
    from meadow.notes.events import note_went_public

    if note_went_public(event.topic, event.payload):
        enqueue(pool_enter, note_id=event.payload["note_id"])
