"""Private files (claim evidence) through Django's storage API.

``STORAGES["private"]`` is local disk under ``PRIVATE_MEDIA_ROOT`` by default, or an
S3-compatible bucket (django-storages) when ``PRIVATE_STORAGE_S3_BUCKET`` is set, so
several web hosts share the files. Nothing in it has a public URL: files go out only
through views that check who is asking, streamed by the application.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.functional import cached_property

PRIVATE_STORAGE_ALIAS = "private"


class PrivateFileSystemStorage(FileSystemStorage):
    """Local disk under ``settings.PRIVATE_MEDIA_ROOT`` (followed when it changes), with no
    URL at all."""

    @cached_property
    def base_location(self):
        # _location: the constructor's argument (FileSystemStorage sets it; not in the stubs)
        location = self._location  # type: ignore[attr-defined]
        return self._value_or_setting(location, settings.PRIVATE_MEDIA_ROOT)

    @cached_property
    def base_url(self):
        return None

    def url(self, name):
        raise ValueError("Private files have no URL: serve them through a checked view.")

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)


def private_storage() -> Storage:
    return storages[PRIVATE_STORAGE_ALIAS]
