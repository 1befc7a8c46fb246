"""Content-addressed blob storage behind the StorageDriver protocol."""

from moorage.storage.base import StorageDriver, UploadState

__all__ = ["StorageDriver", "UploadState"]
