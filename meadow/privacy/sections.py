"""The export sections of the apps that exist today ("Download my data"): what each app holds about the
account, as JSON-ready records plus the stored files that go with them.

A new app registers its own section in its ``AppConfig.ready`` (``meadow.core.privacy.register_export_section``);
messages, for example, would add ``messages`` with the account's conversations and the messages it sent.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Q

from meadow.core.privacy import ExportFile, ExportSection, register_export_section


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _person(user) -> dict[str, str]:
    return {"handle": user.handle, "display_name": user.display_name}


def profile_section(user) -> ExportSection:
    from meadow.accounts.models import Agreement

    files: list[ExportFile] = []
    record: dict[str, Any] = {
        "handle": user.handle,
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "bio": user.bio,
        "location": user.location,
        "gender": user.gender,
        "birthday": _iso(user.birthday),
        "is_private": user.is_private,
        "message_policy": user.message_policy,
        "language": user.language,
        "date_joined": _iso(user.date_joined),
        "last_login": _iso(user.last_login),
        "followers_count": user.followers_count,
        "following_count": user.following_count,
        "agreements": [
            {"document": a.document, "version": a.version, "agreed_at": _iso(a.agreed_at)}
            for a in Agreement.objects.filter(user=user).order_by("id")
        ],
    }
    for kind in ("avatar", "background"):
        field = getattr(user, kind)
        record[kind] = None
        if field and field.name:
            path = f"profile/{kind}.webp"
            files.append(ExportFile(path=path, storage=field.storage, name=field.name))
            record[kind] = f"media/{path}"
    return ExportSection(records=record, files=files)


def notes_section(user) -> ExportSection:
    from meadow.notes.models import Note

    records: list[dict[str, Any]] = []
    files: list[ExportFile] = []
    notes = (
        Note.objects.filter(author=user)
        .exclude(status=Note.Status.REMOVED)
        .prefetch_related("images", "hashtags")
        .select_related("video")
        .order_by("id")
    )
    for note in notes:
        media: list[str] = []
        for image in note.images.all():
            if image.detail.name:
                path = f"notes/{note.pk}/image-{image.position + 1}.webp"
                files.append(ExportFile(path=path, storage=default_storage, name=image.detail.name))
                media.append(f"media/{path}")
        video = getattr(note, "video", None)
        if video is not None and (video.file.name or video.source.name):
            name = video.file.name or video.source.name
            ext = name.rsplit(".", 1)[-1] if "." in name else "mp4"
            path = f"notes/{note.pk}/video.{ext}"
            files.append(ExportFile(path=path, storage=default_storage, name=name))
            media.append(f"media/{path}")
        records.append(
            {
                "id": note.pk,
                "kind": note.kind,
                "title": note.title,
                "body": note.body,
                "hashtags": [h.display_name for h in note.hashtags.all()],
                "visibility": note.visibility,
                "status": note.status,
                "location": note.location_name,
                "created_at": _iso(note.created_at),
                "published_at": _iso(note.published_at),
                "counts": {
                    "likes": note.like_count,
                    "saves": note.save_count,
                    "comments": note.comment_count,
                    "shares": note.share_count,
                },
                "media": media,
            }
        )
    return ExportSection(records=records, files=files)


def comments_section(user) -> ExportSection:
    from meadow.engagement.models import Comment

    rows = Comment.objects.filter(author=user).order_by("id")
    return ExportSection(
        records=[
            {
                "id": c.pk,
                "note": c.note_id,
                "parent": c.parent_id,
                "body": c.body,
                "created_at": _iso(c.created_at),
            }
            for c in rows
        ]
    )


def likes_section(user) -> ExportSection:
    from meadow.engagement.models import CommentLike, Like

    notes = [
        {"note": like.note_id, "created_at": _iso(like.created_at)} for like in Like.objects.filter(user=user)
    ]
    comments = [
        {"comment": like.comment_id, "created_at": _iso(like.created_at)}
        for like in CommentLike.objects.filter(user=user)
    ]
    return ExportSection(
        records=[{"type": "note", **r} for r in notes] + [{"type": "comment", **r} for r in comments]
    )


def saves_section(user) -> ExportSection:
    from meadow.engagement.models import Save

    return ExportSection(
        records=[
            {"note": s.note_id, "board": s.board_id, "created_at": _iso(s.created_at)}
            for s in Save.objects.filter(user=user).order_by("id")
        ]
    )


def boards_section(user) -> ExportSection:
    from meadow.engagement.models import Board

    return ExportSection(
        records=[
            {
                "id": b.pk,
                "name": b.name,
                "is_private": b.is_private,
                "is_default": b.is_default,
                "created_at": _iso(b.created_at),
            }
            for b in Board.objects.filter(owner=user).order_by("id")
        ]
    )


def follows_section(user) -> ExportSection:
    from meadow.accounts.models import Follow

    links = (
        Follow.objects.filter(Q(follower=user) | Q(followee=user))
        .select_related("follower", "followee")
        .order_by("id")
    )
    records = []
    for link in links:
        outgoing = link.follower_id == user.pk
        records.append(
            {
                "direction": "following" if outgoing else "follower",
                "account": _person(link.followee if outgoing else link.follower),
                "status": link.status,
                "created_at": _iso(link.created_at),
            }
        )
    return ExportSection(records=records)


def orders_section(user) -> ExportSection:
    """The account's orders as a buyer (a seller's shop orders are the shop's records, not the person's)."""
    from meadow.orders.models import Order

    orders = Order.objects.filter(buyer=user).select_related("shop").prefetch_related("lines").order_by("id")
    return ExportSection(
        records=[
            {
                "id": o.pk,
                "shop": o.shop.name,
                "status": o.status,
                "currency": o.currency,
                "subtotal": str(o.subtotal),
                "shipping_fee": str(o.shipping_fee),
                "total": str(o.total),
                "shipping_address": o.shipping_address,
                "created_at": _iso(o.created_at),
                "paid_at": _iso(o.paid_at),
                "lines": [
                    {
                        "product": line.product_title,
                        "sku": line.sku_name,
                        "unit_price": str(line.unit_price),
                        "quantity": line.quantity,
                        "line_total": str(line.line_total),
                    }
                    for line in o.lines.all()
                ],
            }
            for o in orders
        ]
    )


def addresses_section(user) -> ExportSection:
    from meadow.orders.models import Address

    return ExportSection(
        records=[
            {**a.snapshot(), "is_default": a.is_default}
            for a in Address.objects.filter(user=user, is_archived=False).order_by("id")
        ]
    )


def register() -> None:
    register_export_section("profile", profile_section)
    register_export_section("notes", notes_section)
    register_export_section("comments", comments_section)
    register_export_section("likes", likes_section)
    register_export_section("saves", saves_section)
    register_export_section("boards", boards_section)
    register_export_section("follows", follows_section)
    register_export_section("orders", orders_section)
    register_export_section("addresses", addresses_section)
