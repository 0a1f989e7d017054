"""Accounts: people, their profiles, follows, blocks, one-time phone codes, API tokens and agreements.

Data and invariants only; every write goes through ``services.py``.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

HANDLE_MAX = 24
BIO_MAX = 100  # characters as a person counts them (grapheme clusters)
DISPLAY_NAME_MAX = 40
LOCATION_MAX = 60


def upload_avatar(instance: User, filename: str) -> str:
    return f"avatars/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.webp"


def upload_background(instance: User, filename: str) -> str:
    return f"backgrounds/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.webp"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, handle: str, password: str | None = None, **extra) -> User:
        user = self.model(handle=handle.lower(), **extra)
        if extra.get("email"):
            user.email = extra["email"].strip().lower()
        user.display_name = user.display_name or handle
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, handle: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(handle, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(handle=(username or "").lower())


class User(AbstractBaseUser, PermissionsMixin):
    """A Meadow account: a reader, a creator or (later) an enterprise."""

    class Gender(models.TextChoices):
        UNSPECIFIED = "", _("Prefer not to say")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class MessagePolicy(models.TextChoices):
        EVERYONE = "everyone", _("Everyone")
        FOLLOWING = "following", _("People I follow")
        NOBODY = "nobody", _("Nobody")

    handle = models.CharField(_("handle"), max_length=HANDLE_MAX, unique=True)
    display_name = models.CharField(_("name"), max_length=DISPLAY_NAME_MAX)
    email = models.EmailField(_("e-mail"), null=True, blank=True, unique=True)
    phone = models.CharField(_("phone number"), max_length=20, null=True, blank=True, unique=True)
    bio = models.TextField(_("bio"), blank=True, default="")
    avatar = models.ImageField(_("profile picture"), upload_to=upload_avatar, blank=True)
    background = models.ImageField(_("background image"), upload_to=upload_background, blank=True)
    accent_color = models.CharField(max_length=7, default="#e8a87c")
    location = models.CharField(_("location"), max_length=LOCATION_MAX, blank=True, default="")
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    is_private = models.BooleanField(_("private account"), default=False)
    message_policy = models.CharField(
        _("who may message me"), max_length=12, choices=MessagePolicy.choices, default=MessagePolicy.EVERYONE
    )
    language = models.CharField(_("language"), max_length=8, blank=True, default="")

    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    likes_saves_received_count = models.PositiveBigIntegerField(default=0)  # 获赞与收藏

    # Denormalised blue tick (蓝V): set and cleared only by meadow.business.services (approve / revoke).
    is_verified_enterprise = models.BooleanField(_("verified business"), default=False)

    is_staff = models.BooleanField(_("staff"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "handle"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=Q(handle=Lower("handle")), name="handle_lowercase"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"

    def get_username(self) -> str:
        return self.handle

    @property
    def initials(self) -> str:
        name = (self.display_name or self.handle).strip()
        return name[:1].upper()


class Follow(models.Model):
    """One account following another. On a private account a follow starts as a request (pending)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Following")
        PENDING = "pending", _("Requested")

    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_links")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_links")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_once"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follow_not_self"),
        ]
        indexes = [
            models.Index(fields=["followee", "status", "-id"]),
            models.Index(fields=["follower", "status", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.follower} → {self.followee} ({self.status})"


class Block(models.Model):
    """``blocker`` blocked ``blocked``: the blocked account cannot follow, message or comment on the blocker."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker} blocked {self.blocked}"


class PhoneCode(models.Model):
    """A one-time code sent by SMS: stored hashed, expires, single-use, limited attempts."""

    phone = models.CharField(max_length=20, db_index=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.phone[:-4]}····"


class ApiToken(models.Model):
    """A bearer token for mobile and third-party clients. Only its SHA-256 is stored.

    It works until ``expires_at`` (``MEADOW_API_TOKEN_DAYS`` after it was issued) unless revoked first: by its
    owner (one at a time, or by signing out the app), or all at once by a password change or reset.
    ``last_used_at`` is refreshed at most once a minute. ``password_stamp`` is the account's password stamp when
    the token was issued (``user_password_stamp``): a token whose stamp no longer matches is dead, so every
    password change revokes it, whichever way it happened (even ``meadow changepassword`` or the shell)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    name = models.CharField(max_length=60, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    password_stamp = models.CharField(max_length=16, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Agreement(models.Model):
    """A user's agreement to a legal document (user agreement, privacy policy): which version and when."""

    class Document(models.TextChoices):
        TERMS = "terms", _("User agreement")
        PRIVACY = "privacy", _("Privacy policy")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agreements")
    document = models.CharField(max_length=16, choices=Document.choices)
    version = models.CharField(max_length=32)
    agreed_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "document", "version"], name="agree_once")]

    def __str__(self) -> str:
        return f"{self.user} agreed to {self.document} {self.version}"


class AccessRecord(models.Model):
    """Where an account signed up or signed in from, for the integrity checks (sign-up velocity per network and
    device): the client's network — its /24 (IPv4) or /64 (IPv6) prefix, never the full address — and a device
    fingerprint, a hash of the User-Agent and the first-party device cookie (``agent`` is the hash of the
    User-Agent alone). Deleted with the account."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        LOGIN = "login", _("Sign-in")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_records")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    network = models.CharField(max_length=48, blank=True, default="")
    device = models.CharField(max_length=32, blank=True, default="")
    agent = models.CharField(max_length=32, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "at"]), models.Index(fields=["user", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user_id} from {self.network}"


class FollowEvent(models.Model):
    """The log of follows and unfollows (the ``Follow`` row only says who follows whom now): the integrity
    checks read it for follow/unfollow churn and lockstep follows."""

    class Kind(models.TextChoices):
        FOLLOW = "follow", _("Follow")
        UNFOLLOW = "unfollow", _("Unfollow")

    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["at"]), models.Index(fields=["follower", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.follower_id}→{self.followee_id}"
