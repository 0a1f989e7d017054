from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from meadow.accounts.models import Agreement, ApiToken, Block, Follow, User
from meadow.core.ratelimit import RateLimited


class RevokingAdminPasswordChangeForm(AdminPasswordChangeForm):
    """Staff setting someone's password (or making it unusable) revokes that account's API tokens too, as a
    change or reset by the person does; their sessions end by Django's session hash."""

    def save(self, commit=True):
        from meadow.accounts.services import tokens_revoke_all

        with transaction.atomic():
            user = super().save(commit=commit)
            if commit:
                tokens_revoke_all(user=user)
        return user


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    change_password_form = RevokingAdminPasswordChangeForm
    ordering = ("-id",)
    list_display = (
        "handle",
        "display_name",
        "email",
        "phone",
        "followers_count",
        "is_private",
        "is_active",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", "is_private")
    search_fields = ("handle", "display_name", "email", "phone")
    readonly_fields = (
        "followers_count",
        "following_count",
        "likes_saves_received_count",
        "date_joined",
        "last_login",
    )
    fieldsets = (
        (None, {"fields": ("handle", "password")}),
        (
            _("Profile"),
            {"fields": ("display_name", "bio", "avatar", "background", "location", "gender", "birthday")},
        ),
        (_("Contact"), {"fields": ("email", "phone")}),
        (_("Privacy"), {"fields": ("is_private", "message_policy", "language")}),
        (_("Counts"), {"fields": ("followers_count", "following_count", "likes_saves_received_count")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("handle", "password1", "password2")}),)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followee", "status", "created_at")
    raw_id_fields = ("follower", "followee")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    raw_id_fields = ("blocker", "blocked")


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ("user", "document", "version", "agreed_at")
    raw_id_fields = ("user",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "prefix", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
    raw_id_fields = ("user",)
    readonly_fields = ("key_hash", "prefix")


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login goes through ``LoginBackend`` too, which counts the attempt against the account; past
    the limit the form says so (instead of a server error)."""

    def clean(self):
        try:
            return super().clean()
        except RateLimited as exc:
            raise forms.ValidationError(str(exc.message), code="rate_limited") from exc


admin.site.login_form = ThrottledAdminAuthenticationForm
