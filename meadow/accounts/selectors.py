"""Reads about accounts: lookups, visibility, follow lists."""

from __future__ import annotations

import hashlib
import unicodedata

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from meadow.accounts.models import ApiToken, Block, Follow, User
from meadow.accounts.validation import normalize_phone_or_none


def login_normalize(*, login: str) -> str:
    """One spelling of a login: compatibility forms folded (full-width letters and digits become ASCII),
    outer space trimmed. Case and the leading @ are left to the lookup (handles and e-mails ignore case)."""
    return unicodedata.normalize("NFKC", login or "").strip()


def user_password_stamp(*, user: User) -> str:
    """A short digest of ``user``'s current password hash: it changes whenever the password changes, however
    that happens (the web, a reset, the admin, ``meadow changepassword``, ``set_unusable_password``). API tokens
    carry the stamp of their day and stop working when it no longer matches; sign-in limits key on it."""
    return hashlib.sha256(f"meadow-password-stamp:{user.password}".encode()).hexdigest()[:16]


def login_identity(*, login: str) -> str:
    """What a login attempt is counted against: the account it names (``user:<id>``) whichever way it is
    spelled (``@Handle``, ``HANDLE``, the e-mail in any case, the phone as ``+6012…``, ``012-…``, ``(012) …`` or
    in full-width digits), or, for a login no account answers to, its normalised form (a phone in E.164, an
    e-mail or handle in lower case without the @)."""
    user = user_find_by_login(login=login)
    if user is not None:
        return f"user:{user.pk}"
    login = login_normalize(login=login)
    if "@" in login[1:]:
        return "email:" + login.casefold()
    phone = normalize_phone_or_none(login, strict=False)
    if phone:
        return "phone:" + phone
    return "handle:" + login.lstrip("@").casefold()


def user_find_by_login(*, login: str) -> User | None:
    """The account a login names: a handle (with or without @), an e-mail address or a phone number."""
    login = login_normalize(login=login)
    if not login or "\x00" in login:
        return None
    if "@" in login[1:]:
        return User.objects.filter(email__iexact=login).first()
    phone = normalize_phone_or_none(login, strict=False)
    if phone:
        found = User.objects.filter(phone=phone).first()
        if found:
            return found
    return User.objects.filter(handle=login.lstrip("@").lower()).first()


def is_blocked_between(*, a: User, b: User) -> bool:
    """True if either account blocked the other."""
    if not (a and b and a.is_authenticated and b.is_authenticated):
        return False
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def has_blocked(*, blocker: User, blocked: User) -> bool:
    return Block.objects.filter(blocker=blocker, blocked=blocked).exists()


def user_get_for_viewer(*, viewer: User | None, handle: str) -> User:
    """The profile ``handle`` as ``viewer`` may see it; 404 if missing, inactive, or if it blocked the viewer."""
    # No handle contains NUL, and PostgreSQL refuses NUL in a query (that was a 500, not a 404).
    if "\x00" in (handle or ""):
        raise Http404
    user = User.objects.filter(handle=(handle or "").lstrip("@").lower(), is_active=True).first()
    if user is None:
        raise Http404
    if viewer is not None and viewer.is_authenticated and has_blocked(blocker=user, blocked=viewer):
        raise Http404
    return user


def follow_status(*, follower: User | None, followee: User) -> str:
    """``none``, ``following``, ``requested`` or ``self``."""
    if follower is None or not follower.is_authenticated:
        return "none"
    if follower.pk == followee.pk:
        return "self"
    status = (
        Follow.objects.filter(follower=follower, followee=followee).values_list("status", flat=True).first()
    )
    if status == Follow.Status.ACTIVE:
        return "following"
    return "requested" if status == Follow.Status.PENDING else "none"


def can_see_connections(*, viewer: User | None, user: User) -> bool:
    """A private account's follower and following lists are for itself and its approved followers."""
    if not user.is_private:
        return True
    if viewer is None or not viewer.is_authenticated:
        return False
    return viewer.pk == user.pk or follow_status(follower=viewer, followee=user) == "following"


def followers_of(*, user: User) -> QuerySet[Follow]:
    return (
        Follow.objects.filter(followee=user, status=Follow.Status.ACTIVE)
        .select_related("follower")
        .order_by("-id")
    )


def following_of(*, user: User) -> QuerySet[Follow]:
    return (
        Follow.objects.filter(follower=user, status=Follow.Status.ACTIVE)
        .select_related("followee")
        .order_by("-id")
    )


def follow_requests_for(*, user: User) -> QuerySet[Follow]:
    return (
        Follow.objects.filter(followee=user, status=Follow.Status.PENDING)
        .select_related("follower")
        .order_by("-id")
    )


def users_search(*, query: str, viewer: User | None = None) -> QuerySet[User]:
    """People whose handle or name contains ``query`` (the full search engine replaces this for notes)."""
    query = (query or "").strip().lstrip("@")
    qs = User.objects.filter(is_active=True)
    if query:
        qs = qs.filter(Q(handle__icontains=query) | Q(display_name__icontains=query))
    if viewer is not None and viewer.is_authenticated:
        qs = qs.exclude(blocks_made__blocked=viewer)
    return qs.order_by("-followers_count", "id")


def users_suggested(*, viewer: User | None, limit: int = 8) -> list[User]:
    """Creators to follow: the most followed active accounts the viewer does not follow yet."""
    qs = User.objects.filter(is_active=True, is_staff=False)
    if viewer is not None and viewer.is_authenticated:
        qs = (
            qs.exclude(pk=viewer.pk)
            .exclude(follower_links__follower=viewer)
            .exclude(blocks_made__blocked=viewer)
        )
    return list(qs.order_by("-followers_count", "-id")[:limit])


def tokens_live_for(*, user: User) -> QuerySet[ApiToken]:
    """``user``'s API tokens that still work (not revoked, not expired, issued under the current password),
    newest first."""
    return ApiToken.objects.filter(
        user=user,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
        password_stamp=user_password_stamp(user=user),
    ).order_by("-id")
