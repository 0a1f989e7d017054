from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from meadow.accounts import views as accounts
from meadow.api import api
from meadow.core import csp, health
from meadow.core import views as core_views
from meadow.distribution import creator_views as creator
from meadow.distribution import views as distribution
from meadow.enforcement import views as enforcement
from meadow.engagement import views as engagement
from meadow.messaging import views as messaging
from meadow.notes import views as notes
from meadow.notifications import views as notifications
from meadow.publishing import views as publishing
from meadow.web import account_pages, pwa
from meadow.web import views as web

HANDLE = "<str:handle>"

web_patterns = [
    path("", web.home, name="home"),
    path("search/", web.search, name="search"),
    path("store/", web.store, name="store"),
    path("messages/", messaging.inbox, name="messages"),
    path("messages/<int:conversation_id>/", messaging.conversation, name="conversation"),
    path("messages/<int:conversation_id>/send/", messaging.send, name="conversation_send"),
    path("messages/<int:conversation_id>/accept/", messaging.accept, name="conversation_accept"),
    path("messages/<int:conversation_id>/delete/", messaging.delete, name="conversation_delete"),
    path("messages/<int:conversation_id>/block/", messaging.block, name="conversation_block"),
    path("messages/<int:conversation_id>/mute/", messaging.mute, name="conversation_mute"),
    path("messages/groups/new/", messaging.group_new, name="group_new"),
    path("messages/<int:conversation_id>/members/", messaging.group_add, name="group_add"),
    path("messages/<int:conversation_id>/rename/", messaging.group_rename, name="group_rename"),
    path(
        f"messages/<int:conversation_id>/members/{HANDLE}/remove/",
        messaging.group_remove,
        name="group_remove",
    ),
    path("messages/<int:conversation_id>/leave/", messaging.group_leave, name="group_leave"),
    path(f"@{HANDLE}/message/", messaging.open_with, name="message_open"),
    path("messages/quick-replies/", messaging.quick_reply_add, name="quick_reply_add"),
    path(
        "messages/quick-replies/<int:reply_id>/delete/",
        messaging.quick_reply_remove,
        name="quick_reply_remove",
    ),
    path("messages/business/", messaging.business_inbox, name="business_inbox"),
    path("messages/business/away/", messaging.away_save, name="away_save"),
    path("messages/business/team/", messaging.team_invite, name="team_invite"),
    path(f"messages/business/team/{HANDLE}/remove/", messaging.team_remove, name="team_remove"),
    path(f"messages/teams/{HANDLE}/respond/", messaging.team_respond, name="team_respond"),
    path(f"messages/teams/{HANDLE}/", messaging.team_inbox, name="team_inbox"),
    path(
        f"messages/teams/{HANDLE}/<int:conversation_id>/",
        messaging.team_conversation,
        name="team_conversation",
    ),
    path(f"messages/teams/{HANDLE}/<int:conversation_id>/send/", messaging.team_send, name="team_send"),
    path(f"messages/teams/{HANDLE}/<int:conversation_id>/assign/", messaging.team_assign, name="team_assign"),
    path("messages/ask/", messaging.ask, name="ask"),
    path("messages/<int:conversation_id>/report/", messaging.report, name="conversation_report"),
    path(
        "moderation/conversations/<int:conversation_id>/",
        messaging.moderator_conversation,
        name="moderator_conversation",
    ),
    path("me/creator/messages/", messaging.response_times, name="creator_messages"),
    path("terms/", web.legal, {"document": "terms"}, name="terms"),
    path("privacy/", web.legal, {"document": "privacy"}, name="privacy"),
    path("signup/", accounts.signup, name="signup"),
    path("login/", account_pages.login_view, name="login"),
    path("login/code/", account_pages.login_code, name="login_code"),
    path("logout/", accounts.logout_view, name="logout"),
    path("me/", accounts.me, name="me"),
    path("me/edit/", accounts.profile_edit, name="profile_edit"),
    path("me/requests/", accounts.follow_requests, name="follow_requests"),
    path("me/status/", enforcement.account_status, name="account_status"),
    path("welcome/", distribution.onboarding_interests, name="onboarding_interests"),
    path("notes/<int:note_id>/why/", distribution.note_why, name="note_why"),
    path("me/creator/", creator.creator_home, name="creator"),
    path("me/creator/stats.csv", creator.creator_account_csv, name="creator_csv"),
    path("me/creator/notes/<int:note_id>/", creator.creator_note, name="creator_note"),
    path("me/creator/notes/<int:note_id>/stats.csv", creator.creator_note_csv, name="creator_note_csv"),
    path("me/status/appeal/<int:violation_id>/", enforcement.appeal, name="appeal"),
    path("settings/", accounts.privacy, name="settings"),
    path("settings/apps/<int:token_id>/sign-out/", accounts.token_revoke, name="token_revoke"),
    path(f"@{HANDLE}/", account_pages.profile, name="profile"),
    path(f"@{HANDLE}/followers/", accounts.connections, {"which": "followers"}, name="followers"),
    path(f"@{HANDLE}/following/", accounts.connections, {"which": "following"}, name="following"),
    path(f"@{HANDLE}/follow/", accounts.follow_toggle, name="follow"),
    path(f"@{HANDLE}/block/", accounts.block_toggle, name="block"),
    path("publish/", publishing.compose, name="compose"),
    path("notes/<int:note_id>/", publishing.note_detail, name="note"),
    path("notes/<int:note_id>/delete/", notes.note_delete, name="note_delete"),
    path("notes/<int:note_id>/publish/", publishing.note_publish_draft, name="note_publish"),
    path("topics/<str:name>/", notes.hashtag_page, name="hashtag"),
    path("notes/<int:note_id>/do/<slug:action>/", engagement.note_action, name="note_action"),
    path("notes/<int:note_id>/boards/", engagement.board_picker, name="board_picker"),
    path("notes/<int:note_id>/comments/", engagement.note_comments, name="note_comments"),
    path("notes/<int:note_id>/card.png", engagement.note_share_card, name="note_share_card"),
    path("comments/<int:comment_id>/replies/", engagement.comment_replies, name="comment_replies"),
    path("comments/<int:comment_id>/<slug:action>/", engagement.comment_action, name="comment_action"),
    path("boards/<int:board_id>/", engagement.board_page, name="board"),
    path(f"@{HANDLE}/saved/", engagement.profile_saved, name="profile_saved"),
    path("notifications/", notifications.notifications_page, name="notifications"),
    path("settings/push/", notifications.push_settings_page, name="push_settings"),
    # The installable web app (meadow/web/pwa.py): the worker at the root, so that its scope is the whole site.
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("offline/", pwa.offline, name="offline"),
]

from meadow.orders.urls import web_patterns as orders_web_patterns  # noqa: E402

web_patterns += orders_web_patterns

from meadow.business.urls import web_patterns as business_web_patterns  # noqa: E402
from meadow.store.urls import web_patterns as store_web_patterns  # noqa: E402

web_patterns += business_web_patterns + store_web_patterns

from meadow.privacy.urls import web_patterns as privacy_web_patterns  # noqa: E402

web_patterns += privacy_web_patterns

# A database outage a middleware raised answers 503 too (meadow.core.outage); anything else is Django's 500.
handler500 = "meadow.core.outage.server_error"
# An unknown /api/ path answers the API's JSON error shape, not an HTML page.
handler404 = "meadow.core.views.not_found"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include((web_patterns, "web"))),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path(csp.REPORT_PATH.lstrip("/"), csp.report, name="csp_report"),
    # The admin's own sign-in page, wrapped so that it does what every sign-in door does (before admin.site.urls).
    path("admin/login/", account_pages.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("metrics", core_views.metrics, name="metrics"),
]

if settings.MEADOW_SERVE_MEDIA:
    # The embedded default serves uploads itself; at scale a CDN or object store serves MEDIA_URL.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]
