from django.conf import settings

# The left rail's (and the phone tab bar's) item for a path: the longest prefix wins; a page of no section
# (sign-up, log-in, publish, legal pages) highlights none, never Discover by default.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("/search", "search"),
    ("/store", "store"),
    ("/products/", "store"),
    ("/shops/", "store"),
    ("/cart", "store"),
    ("/checkout", "store"),
    ("/buy", "store"),
    ("/orders", "store"),
    ("/seller", "store"),
    ("/messages", "messages"),
    ("/notifications", "notifications"),
    ("/me/status", "status"),
    ("/me", "me"),
    ("/settings", "me"),
    ("/business", "me"),
    ("/publish", "publish"),
    ("/topics/", "home"),
    ("/notes/", "home"),
)


def nav_section_for(path: str) -> str:
    if path == "/":
        return "home"
    found = ""
    best = 0
    for prefix, name in SECTIONS:
        if path.startswith(prefix) and len(prefix) > best:
            found, best = name, len(prefix)
    return found


def shell(request):
    """What every page's shell needs: the navigation's current section and the languages."""
    path = request.path
    section = nav_section_for(path)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and path.startswith(f"/@{user.handle}"):
        section = "me"
    return {"nav_section": section, "meadow_languages": settings.LANGUAGES}
