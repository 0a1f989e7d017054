"""Migrations. ``PERMISSIONS_FOR_MODERATORS`` is what the ``moderator`` group holds (used by migration 0002 and
``services.moderator_group_ensure``)."""

PERMISSIONS_FOR_MODERATORS = [
    ("enforcement", "moderate"),
    *[("enforcement", f"{a}_{m}") for m in ("reviewitem", "appeal") for a in ("view", "change")],
    *[("enforcement", f"view_{m}") for m in ("violation", "sanction", "decision")],
    ("enforcement", "change_sanction"),
    *[("moderation", f"{a}_lexiconentry") for a in ("view", "add", "change", "delete")],
    ("notes", "view_note"),
    ("accounts", "view_user"),
]
