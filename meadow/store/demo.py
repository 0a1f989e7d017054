"""Demo data for the store (``meadow demo``): a few verified businesses with shops, products with images and
variants, and product tags on some of the demo notes, so the 种草 → product loop is there to click through."""

from __future__ import annotations

import io
import random
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from meadow.accounts.models import User
from meadow.business.models import VerificationApplication
from meadow.notes.models import Note
from meadow.store.models import NoteProductTag, Product, ProductImage, Shop, Sku

SHOPS = [
    {
        "company": "Kedai Batik Mei Sdn Bhd",
        "name": "Kedai Batik Mei",
        "category": "fashion",
        "description": "Hand-printed batik from Kelantan, made in small batches.",
        "products": [
            (
                "Batik tote bag",
                "Cotton canvas, hand-printed. Fits a laptop.",
                ["Indigo", "Terracotta"],
                ["One size"],
                "39.90",
            ),
            ("Batik silk scarf", "Pure silk, 90 × 90 cm.", ["Blue", "Green", "Red"], ["90 cm"], "89.00"),
            ("Batik shirt", "Breathable cotton, relaxed fit.", ["Indigo"], ["S", "M", "L", "XL"], "129.00"),
        ],
    },
    {
        "company": "Kopi & Kaya Trading",
        "name": "Kopi & Kaya",
        "category": "food",
        "description": "Small-batch kaya and Ipoh white coffee, roasted weekly.",
        "products": [
            (
                "Pandan kaya jam 300 g",
                "Made with fresh coconut milk and pandan.",
                ["Pandan", "Nyonya"],
                ["300 g"],
                "14.50",
            ),
            (
                "Ipoh white coffee beans",
                "Medium roast with margarine, the Ipoh way.",
                ["Whole bean", "Ground"],
                ["250 g", "500 g"],
                "32.00",
            ),
        ],
    },
    {
        "company": "Glow Lab Beauty Sdn Bhd",
        "name": "Glow Lab",
        "category": "beauty",
        "description": "Skincare formulated for humid weather.",
        "products": [
            ("Light gel moisturiser", "Oil-free, for humid days.", ["50 ml"], ["Standard"], "59.00"),
            (
                "Sunscreen SPF50 PA++++",
                "No white cast, no sticky feel.",
                ["40 ml", "80 ml"],
                ["Standard"],
                "45.00",
            ),
        ],
    },
]
PDF = b"%PDF-1.4\n% Meadow demo licence\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _picture(rng: random.Random) -> tuple[bytes, int, int, str]:
    size = 800
    base = tuple(rng.randint(150, 240) for _ in range(3))
    img = Image.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 6)):
        x, y, r = rng.randint(0, size), rng.randint(0, size), rng.randint(60, 260)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randint(20, 230) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, "WEBP", quality=80)
    return out.getvalue(), size, size, "#{:02x}{:02x}{:02x}".format(*base)


def seed_store(*, rng: random.Random, owners: list[User], note_count: int = 40) -> int:
    """Make ``owners`` (up to three) verified businesses with a shop and products, and tag products in some
    public notes by others. Returns the number of products created. Idempotent per owner (skips shops that
    exist)."""
    created = 0
    now = timezone.now()
    products: list[tuple[Product, str]] = []  # with the shop's category
    for owner, spec in zip(owners, SHOPS, strict=False):
        if Shop.objects.filter(owner=owner).exists():
            continue
        with transaction.atomic():
            application = VerificationApplication(
                user=owner, company_name=spec["company"], registration_number=f"2024{rng.randint(10**7, 10**8 - 1)}",
                category=spec["category"], contact_name=owner.display_name, contact_phone="+60312345678",
                whatsapp=f"+6012{rng.randint(1000000, 9999999)}", status=VerificationApplication.Status.APPROVED,
                reason="", reviewed_at=now, licence_content_type="application/pdf",
            )  # fmt: skip
            application.licence.save("licence.pdf", ContentFile(PDF), save=False)
            application.save()
            User.objects.filter(pk=owner.pk).update(is_verified_enterprise=True)
            shop = Shop.objects.create(
                owner=owner,
                name=spec["name"],
                description=spec["description"],
                shipping_policy="Ships within 2 working days from Kuala Lumpur. Free shipping over RM 100.",
                returns_policy="Returns within 7 days of delivery if unused.",
            )
            for title, description, colours, sizes, price in spec["products"]:
                product = Product.objects.create(
                    shop=shop, title=title, description=description, status=Product.Status.ON_SALE
                )
                position = 0
                for colour in colours:
                    for size in sizes:
                        Sku.objects.create(
                            product=product,
                            name=f"{colour} / {size}",
                            attributes={"colour": colour, "size": size},
                            price=Decimal(price) + Decimal(position * 2),
                            stock=rng.choice([0, 3, 8, 20, 50]),
                            position=position,
                        )
                        position += 1
                for i in range(rng.randint(1, 3)):
                    data, w, h, color = _picture(rng)
                    image = ProductImage(product=product, position=i, width=w, height=h, color=color)
                    image.image.save("product.webp", ContentFile(data), save=False)
                    image.save()
                products.append((product, spec["category"]))
                created += 1
    if products:
        _tag_products(rng=rng, products=products, owner_ids=[o.pk for o in owners], note_count=note_count)
        for product, _category in products:
            Product.objects.filter(pk=product.pk).update(tag_clicks=rng.randint(0, 400))
    return created


def _tag_products(
    *, rng: random.Random, products: list[tuple[Product, str]], owner_ids: list[int], note_count: int
) -> None:
    """Tag each product in notes of its shop's own topic (coffee beans under food notes, a scarf under fashion
    notes): "see what people say" under a product shows notes about such things. Notes that name a word of the
    product's title come first. About ``note_count`` notes in all, spread over the products."""
    public = Note.objects.filter(status=Note.Status.PUBLISHED, visibility=Note.Visibility.PUBLIC).exclude(
        author_id__in=owner_ids
    )
    per_product = max(1, note_count // max(1, len(products)))
    for product, category in products:
        notes = list(public.filter(category_links__category__slug=category).distinct().order_by("-id")[:500])
        words = [w.lower() for w in product.title.split() if len(w) > 3]
        naming = [n for n in notes if any(w in f"{n.title} {n.body}".lower() for w in words)]
        others = [n for n in notes if n not in naming]
        chosen = naming[:per_product] + rng.sample(
            others, k=min(len(others), max(0, per_product - len(naming)))
        )
        for note in chosen:
            position = NoteProductTag.objects.filter(note=note).count()
            NoteProductTag.objects.get_or_create(note=note, product=product, defaults={"position": position})
