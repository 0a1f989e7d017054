"""A lived-in account for the privacy tests: notes with real images (the media pipeline), hashtags, likes and
saves both ways, comments and replies, follows both ways, a board, an address and an order as a buyer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from meadow.accounts.models import User
from meadow.notes.models import Note
from meadow.orders.models import Order
from tests.factories import UserFactory


@dataclass
class World:
    owner: User
    friend: User
    seller: User
    own_notes: list[Note]
    friend_note: Note
    order: Order


@pytest.fixture
def world(db, private_media, django_capture_on_commit_callbacks) -> World:
    from meadow.accounts.services import follow_create
    from meadow.engagement import services as engagement
    from meadow.notes.services import note_publish
    from meadow.notes.tests.factories import jpeg
    from meadow.orders.services import address_create, order_place
    from meadow.orders.tests.factories import ADDRESS, make_sku

    owner = UserFactory(handle="siti_bakes", display_name="Siti Kuihraya", bio="Kuih maker in Ipoh")
    friend = UserFactory(handle="friend_ah", display_name="Ah Friend")
    with django_capture_on_commit_callbacks(execute=True):
        own = [
            note_publish(
                author=owner, title="Kuih lapis pelangi", body="Resipi #kuihraya", images=[jpeg(), jpeg()]
            ),
            note_publish(author=owner, title="Onde onde", body="Manis #kuihraya", images=[jpeg()]),
        ]
        friend_note = note_publish(
            author=friend, title="Kopi pagi", body="Ipoh white coffee", images=[jpeg()]
        )
        engagement.note_like(user=friend, note=own[0])
        engagement.note_save(user=friend, note=own[0])
        engagement.note_like(user=owner, note=friend_note)
        engagement.note_save(user=owner, note=friend_note)
        board = engagement.board_create(owner=owner, name="Breakfast")
        engagement.note_save(user=owner, note=own[1], board=board)
        comment = engagement.comment_create(author=owner, note=friend_note, body="Sedapnya!")
        engagement.comment_create(author=friend, note=friend_note, body="Terima kasih", parent=comment)
        engagement.comment_like(user=friend, comment=comment)
        engagement.comment_create(author=friend, note=own[0], body="Cantik")
        follow_create(follower=owner, followee=friend)
        follow_create(follower=friend, followee=owner)
        sku = make_sku(price="9.90", stock=5)
        address_create(user=owner, data=ADDRESS, make_default=True)
        checkout = order_place(buyer=owner, items=[{"sku": sku.pk, "quantity": 1}], address=ADDRESS)
    order = Order.objects.get(checkout=checkout)
    return World(
        owner=User.objects.get(pk=owner.pk),
        friend=User.objects.get(pk=friend.pk),
        seller=sku.product.shop.owner,
        own_notes=own,
        friend_note=friend_note,
        order=order,
    )
