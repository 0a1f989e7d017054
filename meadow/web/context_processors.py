from django.conf import settings


def shell(request):
    """What every page's shell needs: the navigation's current section and the languages."""
    path = request.path
    section = "home"
    for name, prefix in (
        ("search", "/search"),
        ("store", "/store"),
        ("messages", "/messages"),
        ("me", "/me"),
    ):
        if path.startswith(prefix):
            section = name
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and path.startswith(f"/@{user.handle}"):
        section = "me"
    return {"nav_section": section, "meadow_languages": settings.LANGUAGES}
