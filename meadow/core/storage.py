"""Private storage: files that must never have a public URL (business licences, the collaborative-filtering
models, any other artefact that names users). The ``"private"`` entry of ``STORAGES``
(``MEADOW_PRIVATE_STORAGE_BACKEND``, default :class:`PrivateStorage` under ``MEADOW_PRIVATE_MEDIA_ROOT``); never
``default_storage``, whose files a web server or object store may serve to anyone under ``MEDIA_URL``."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages


class PrivateStorage(FileSystemStorage):
    """Files outside MEDIA_ROOT (``MEADOW_PRIVATE_MEDIA_ROOT``, read on every access): nothing in it has a public
    URL; views that check who is asking stream the files."""

    @property
    def base_location(self) -> str:
        return str(settings.MEADOW_PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def file_permissions_mode(self) -> int:
        return 0o600

    @property
    def directory_permissions_mode(self) -> int:
        return 0o700

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL; link to the view that serves them.")


def private_storage() -> Storage:
    """The configured private storage (``STORAGES["private"]``)."""
    return storages["private"]
