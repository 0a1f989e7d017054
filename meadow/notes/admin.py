from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from meadow.notes.models import (
    Hashtag,
    HashtagCategory,
    InterestCategory,
    Note,
    NoteCategory,
    NoteHashtag,
    NoteImage,
    NoteVideo,
)


class NoteImageInline(admin.TabularInline):
    model = NoteImage
    extra = 0
    fields = ("position", "thumb", "width", "height", "color", "blurhash")
    readonly_fields = fields
    can_delete = False


class NoteHashtagInline(admin.TabularInline):
    model = NoteHashtag
    extra = 0
    raw_id_fields = ("hashtag",)


class NoteCategoryInline(admin.TabularInline):
    model = NoteCategory
    extra = 0


class NoteVideoInline(admin.StackedInline):
    model = NoteVideo
    extra = 0
    readonly_fields = ("source", "file", "duration", "width", "height", "has_uploaded_cover")
    can_delete = False


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "author", "kind", "status", "visibility", "media_state", "created_at")
    list_filter = ("status", "visibility", "kind", "content_type", "media_state")
    search_fields = ("title", "body", "author__handle")
    raw_id_fields = ("author",)
    date_hierarchy = "created_at"
    readonly_fields = ("like_count", "save_count", "comment_count", "share_count", "created_at", "updated_at")
    inlines = [NoteImageInline, NoteVideoInline, NoteHashtagInline, NoteCategoryInline]


class HashtagCategoryInline(admin.TabularInline):
    model = HashtagCategory
    extra = 1
    verbose_name = _("category")


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    list_display = ("display_name", "name", "use_count", "created_at")
    search_fields = ("name", "display_name")
    readonly_fields = ("use_count", "created_at")
    inlines = [HashtagCategoryInline]


@admin.register(InterestCategory)
class InterestCategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_en", "name_zh", "name_ms", "is_active", "position")
    list_editable = ("is_active", "position")
    search_fields = ("slug", "name_en", "name_zh", "name_ms")
