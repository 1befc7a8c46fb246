"""Content-addressed blob storage behind the StorageDriver protocol."""

from moorage.storage.base import BlobWriteResult, StorageDriver

__all__ = ["BlobWriteResult", "StorageDriver"]
