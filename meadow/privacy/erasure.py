"""The erasure steps of the apps that exist today ("Delete my account", after the grace period).

Each step is idempotent and goes through the owning app's services wherever a counter moves (unlike, unsave,
unfollow, delete a note or a comment), so every count another person sees is corrected. Decisions, written
down in docs/architecture.md ("Privacy"):

- notes are deleted (soft: removed, text blanked) and their media files purged; search forgets them and
  hashtag counts drop;
- comments are removed as if the account deleted each one itself (XiaoHongShu removes a cancelled account's
  comments): replies under them go too, exactly as when anyone deletes a comment;
- likes, saves, boards, follows (both ways), blocks, "not interested" and read/follow-from-note rows go;
  engagement *events* stay (they carry no text and keep every note's signal score the sum of its events);
- orders are kept for the merchant's legal records with the buyer's name, phone and street blanked;
- the account row stays (foreign keys of kept records stay valid), deactivated and anonymised as
  ``deleted-<id>``, its password unusable, its API tokens revoked and its sessions ended.

A new app registers its own step in its ``AppConfig.ready`` (``meadow.core.privacy.register_erasure_step``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from meadow.core.privacy import register_erasure_step

DELETED_NAME = "Deleted account"


def erase_notes(user) -> int:
    from meadow.notes.models import Note
    from meadow.notes.services import image_uploads_discard, note_delete

    changed = image_uploads_discard(author=user)  # images kept from refused publishes
    for note in Note.objects.filter(author=user).exclude(status=Note.Status.REMOVED).order_by("id"):
        note_delete(note=note, user=user)  # hashtag counts, search removal and the media purge (queued)
        changed += 1
    changed += (
        Note.objects.filter(author=user)
        .filter(~Q(title="") | ~Q(body="") | ~Q(location_name="") | Q(latitude__isnull=False))
        .update(title="", body="", location_name="", latitude=None, longitude=None)
    )
    return changed


def erase_engagement(user) -> int:
    from meadow.engagement import services as engagement
    from meadow.engagement.models import (
        Board,
        Comment,
        CommentLike,
        Completion,
        Like,
        NoteFollow,
        NotInterested,
        Save,
        Share,
    )

    changed = 0
    for like in Like.objects.filter(user=user).select_related("note").order_by("id"):
        changed += engagement.note_unlike(user=user, note=like.note)
    for save in Save.objects.filter(user=user).select_related("note").order_by("id"):
        changed += engagement.note_unsave(user=user, note=save.note)
    # Other people's saves of the account's (now removed) notes: out of their boards, board counts corrected,
    # without an "unsave" event that would teach their interest profiles something they did not do.
    for save in Save.objects.filter(note__author=user).order_by("id"):
        if Save.objects.filter(pk=save.pk).delete()[0]:
            Board.objects.filter(pk=save.board_id).update(note_count=F("note_count") - 1)
            changed += 1
    for comment_like in CommentLike.objects.filter(user=user).select_related("comment").order_by("id"):
        changed += engagement.comment_unlike(user=user, comment=comment_like.comment)
    # Top-level comments first: deleting one takes its replies with it (comment_delete counts them).
    for comment in Comment.objects.filter(author=user).select_related("note").order_by("parent_id", "id"):
        changed += engagement.comment_delete(user=user, comment=comment)
    for model in (Completion, NoteFollow, NotInterested):
        changed += model.objects.filter(user=user).delete()[0]
    changed += Share.objects.filter(sharer=user).delete()[0]
    changed += Board.objects.filter(owner=user).delete()[0]
    return changed


def erase_follows(user) -> int:
    from meadow.accounts.models import Block, Follow, FollowEvent
    from meadow.accounts.services import follow_delete

    changed = 0
    for link in Follow.objects.filter(Q(follower=user) | Q(followee=user)).select_related(
        "follower", "followee"
    ):
        follow_delete(follower=link.follower, followee=link.followee)  # both counters move
        changed += 1
    changed += Block.objects.filter(Q(blocker=user) | Q(blocked=user)).delete()[0]
    # the follow log (integrity checks) goes too, with the unfollows the loop above just wrote
    changed += FollowEvent.objects.filter(Q(follower=user) | Q(followee=user)).delete()[0]
    return changed


def erase_orders(user) -> int:
    """Orders stay (the merchant's legal records); the buyer's name, phone and street are blanked. The
    address book, the cart and the idempotency records go."""
    from meadow.orders.models import Address, CartItem, IdempotencyRecord, Order

    changed = 0
    with transaction.atomic():
        for order in Order.objects.select_for_update().filter(buyer=user).order_by("id"):
            address = dict(order.shipping_address or {})
            blanked = {**address, "recipient_name": DELETED_NAME, "phone": "", "line1": "", "line2": ""}
            if blanked != address:
                Order.objects.filter(pk=order.pk).update(shipping_address=blanked)
                changed += 1
    changed += Address.objects.filter(user=user).delete()[0]
    changed += CartItem.objects.filter(user=user).delete()[0]
    changed += IdempotencyRecord.objects.filter(user=user).delete()[0]
    return changed


def erase_traces(user) -> int:
    """Search history, notifications (and the browsers they were pushed to), the interest profile."""
    from meadow.distribution.models import InterestProfile
    from meadow.notifications.models import (
        Notification,
        NotificationSettings,
        PushPreferences,
        PushSubscription,
    )
    from meadow.search.models import RecentSearch, SearchLog
    from meadow.search.services import searcher_key

    changed = RecentSearch.objects.filter(user=user).delete()[0]
    changed += SearchLog.objects.filter(searcher=searcher_key(user=user)).delete()[0]
    changed += Notification.objects.filter(Q(recipient=user) | Q(actor=user)).delete()[0]
    changed += NotificationSettings.objects.filter(user=user).delete()[0]
    changed += PushSubscription.objects.filter(user=user).delete()[0]
    changed += PushPreferences.objects.filter(user=user).delete()[0]
    changed += InterestProfile.objects.filter(user=user).delete()[0]
    return changed


def erase_account(user) -> int:
    """Last: the row itself, deactivated and anonymised; tokens revoked, sessions ended, sign-in links gone."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    from meadow.accounts.models import AccessRecord, Agreement, ApiToken, User

    changed = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    changed += EmailAddress.objects.filter(user=user).delete()[0]
    changed += SocialAccount.objects.filter(user=user).delete()[0]
    changed += Agreement.objects.filter(user=user, ip__isnull=False).update(ip=None)
    changed += AccessRecord.objects.filter(user=user).delete()[0]  # sign-up/sign-in networks and devices
    files = [(f.storage, f.name) for f in (user.avatar, user.background) if f and f.name]
    handle = f"deleted-{user.pk}"
    anonymous = {
        "handle": handle,
        "display_name": DELETED_NAME,
        "email": None,
        "phone": None,
        "bio": "",
        "avatar": "",
        "background": "",
        "location": "",
        "gender": "",
        "birthday": None,
        "is_private": True,
        "is_active": False,
        "is_staff": False,
        "is_superuser": False,
        "is_verified_enterprise": False,
    }
    current = {name: getattr(user, name) for name in anonymous}
    current["avatar"], current["background"] = user.avatar.name or "", user.background.name or ""
    if current != anonymous or user.has_usable_password():
        user.set_unusable_password()  # a new hash: every session of the account fails its check at once
        User.objects.filter(pk=user.pk).update(password=user.password, **anonymous)
        changed += 1
    for storage, name in files:
        transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))
    return changed


def _erase_exports(user) -> int:
    from meadow.privacy.jobs import erase_exports

    return erase_exports(user)


def register() -> None:
    register_erasure_step("notes", erase_notes, order=10)
    register_erasure_step("engagement", erase_engagement, order=20)
    register_erasure_step("follows", erase_follows, order=30)
    register_erasure_step("orders", erase_orders, order=40)
    register_erasure_step("traces", erase_traces, order=50)
    register_erasure_step("exports", _erase_exports, order=900)
    register_erasure_step("account", erase_account, order=1000)
