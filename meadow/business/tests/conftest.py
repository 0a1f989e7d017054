import pytest

from meadow.enforcement import services as enforcement
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    return tmp_path


@pytest.fixture
def moderator(db):
    user = UserFactory(is_staff=True)
    user.groups.add(enforcement.moderator_group_ensure())
    return user
