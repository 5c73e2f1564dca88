"""Audio storage: ``base`` is the interface, ``s3`` and ``local`` the backends, ``factory``
opens the configured one for the app's lifespan."""

from app.providers.storage.base import Storage, content_type_for_key, extension_for

__all__ = ["Storage", "content_type_for_key", "extension_for"]
