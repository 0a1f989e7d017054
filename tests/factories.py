"""factory_boy factories (no JSON fixtures)."""

import factory

from meadow.accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    handle = factory.Sequence(lambda n: f"user{n:05d}")
    display_name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.handle}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
