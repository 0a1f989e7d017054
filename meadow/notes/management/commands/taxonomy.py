"""``meadow taxonomy --load``: (re)load the shipped interest categories and categorise uncategorised hashtags;
``meadow taxonomy`` lists the categories."""

from django.core.management.base import BaseCommand

from meadow.notes.models import InterestCategory
from meadow.notes.services import taxonomy_load


class Command(BaseCommand):
    help = "Load or list the interest taxonomy (categories for hashtags and notes)."

    def add_arguments(self, parser):
        parser.add_argument("--load", action="store_true", help="Load meadow/notes/data/taxonomy.json")
        parser.add_argument("--path", help="Another taxonomy file in the same format")

    def handle(self, *args, load=False, path=None, **options):
        if load:
            count = taxonomy_load(path=path)
            self.stdout.write(self.style.SUCCESS(f"Loaded {count} categories."))
        for category in InterestCategory.objects.all():
            self.stdout.write(
                f"{category.slug:15} {category.name_en} / {category.name_zh} / {category.name_ms}"
                f"  ({len(category.keywords)} keywords, {category.hashtags.count()} hashtags)"
            )
