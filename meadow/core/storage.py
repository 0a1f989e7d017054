"""Private storage: files that must never have a public URL (business licences, the collaborative-filtering
models, any other artefact that names users). The ``"private"`` entry of ``STORAGES``
(``MEADOW_PRIVATE_STORAGE_BACKEND``, default :class:`PrivateStorage` under ``MEADOW_PRIVATE_MEDIA_ROOT``); never
``default_storage``, whose files a web server or object store may serve to anyone under ``MEDIA_URL``."""

from __future__ import annotations

import contextlib
import errno
import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.translation import gettext_lazy as _

from meadow.core.errors import StorageFull


class _NoPartialFiles:
    """A file system storage that keeps nothing of a file it could not write completely: on a full disk
    (ENOSPC) or a reached quota (EDQUOT) the partly written file is removed and ``StorageFull`` (503, code
    ``storage_full``, a translated message) is raised, which the API and the forms show as such. Callers
    already delete the files they stored before a failure (``note_publish``) and write rows only after the
    files, so a failed upload leaves neither rows nor files."""

    def _save(self, name, content):
        path = self.path(name)  # type: ignore[attr-defined]
        existed = os.path.lexists(path)
        try:
            return super()._save(name, content)  # type: ignore[misc]
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            if not existed:
                with contextlib.suppress(OSError):
                    os.remove(path)
            raise StorageFull(
                _(
                    "The server has no room for this file right now. Nothing was saved; please try again later."
                ),
                field=None,
            ) from exc


class MediaStorage(_NoPartialFiles, FileSystemStorage):
    """The default storage (``MEADOW_MEDIA_ROOT``, served under ``MEDIA_URL``)."""


class PrivateStorage(_NoPartialFiles, FileSystemStorage):
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
