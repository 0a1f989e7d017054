"""The REST API at /api/v1/ (Django Ninja; OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs): the top of
the HTTP layer. It builds the API from the shared plumbing in ``meadow.core.http`` (auth, the error shape, the
parser and handlers) and adds every app's router (publishing's operations go on the notes router); it holds no
endpoint and no schema of its own."""

from __future__ import annotations

from meadow.accounts.api import auth_router, me_router, token_sign_in_hooks_set, users_router
from meadow.accounts.services import token_authenticate
from meadow.ads.api import discover_ads_insert, search_ads_insert
from meadow.ads.api import router as ads_router
from meadow.business.api import router as business_router
from meadow.core.http import api_build
from meadow.distribution.api import discover_hook_add
from meadow.distribution.api import router as feeds_router
from meadow.distribution.creator_api import router as creator_router
from meadow.enforcement.api import router as enforcement_router
from meadow.engagement.api import router as engagement_router
from meadow.integrity.api import router as integrity_router
from meadow.messaging.api import router as messaging_router
from meadow.moderation.api import router as moderation_router
from meadow.moderation.labels import moderation_for_reader
from meadow.notes.api import router as notes_router
from meadow.notifications.api import router as notifications_router
from meadow.orders.api import router as orders_router
from meadow.privacy.api import router as privacy_router
from meadow.privacy.services import account_deletion_cancel_on_login
from meadow.publishing.api import notes_routes_add
from meadow.search.api import router as search_router
from meadow.search.api import search_hook_add
from meadow.store.api import router as store_router

api = api_build(
    token_authenticator=token_authenticate,
    moderation_for_reader=moderation_for_reader,
    title="Meadow API",
    version="1",
    description="Notes, discovery, engagement, moderation and commerce. Errors: {error: {code, message, field}}.",
    urls_namespace="api",
    docs_url="/docs",
)
token_sign_in_hooks_set(account_deletion_cancel_on_login)  # signing in cancels a scheduled account deletion
discover_hook_add(discover_ads_insert)  # Spotlight ads take their slots in Discover (meadow.ads)
search_hook_add(search_ads_insert)  # and in a page of note results
notes_routes_add(notes_router)  # publish and edit (meadow.publishing) share the notes router's paths

# The order of the routers is the order of the operations in the OpenAPI document (docs/api/openapi.json).
api.add_router("/auth", auth_router)
api.add_router("/me", me_router)
api.add_router("/users", users_router)
api.add_router("/moderation", moderation_router)
api.add_router("/moderation", integrity_router)  # the review queue
api.add_router("", notes_router)
api.add_router("/search", search_router)
api.add_router("", enforcement_router)
api.add_router("", engagement_router)
api.add_router("", notifications_router)
api.add_router("/creator", creator_router)
api.add_router("", feeds_router)
api.add_router("", orders_router)
api.add_router("", business_router)
api.add_router("", store_router)
api.add_router("", privacy_router)
api.add_router("", messaging_router)
api.add_router("", ads_router)
