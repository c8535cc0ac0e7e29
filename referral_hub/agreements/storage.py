"""Where agreement documents' bytes live: a small interface and a local-folder store."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from flask import current_app

_KEY = re.compile(r"^[0-9a-f]{64}$")


class DocumentNotFound(LookupError):
    """The store holds nothing under this key."""


@runtime_checkable
class DocumentStore(Protocol):
    """Keeps bytes under a key it chooses; gives them back unchanged."""

    def put(self, data: bytes) -> str:
        """Store the bytes; return the key to fetch them with."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under key; DocumentNotFound if there are none."""
        ...


class LocalFolderStore:
    """Content-addressed files under a folder: the key is the SHA-256 of the bytes.

    The same document uploaded twice is stored once. A file is written to a temporary
    name and renamed into place, so a reader never sees half a file, even if the process
    dies mid-write; a file left by a transaction that rolled back is harmless (nothing
    points at it, and an identical upload later reuses it).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise DocumentNotFound(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        """Store the bytes (once per content); return their SHA-256 as the key."""
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists() and path.stat().st_size == len(data):
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        """The bytes stored under key."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise DocumentNotFound(key) from None


#: app.extensions key under which an app may install another DocumentStore.
EXTENSION_KEY = "hub_document_store"


def document_store() -> DocumentStore:
    """The app's document store: the installed one, else instance/documents/."""
    store = current_app.extensions.get(EXTENSION_KEY)
    if store is None:
        store = LocalFolderStore(Path(current_app.instance_path) / "documents")
        current_app.extensions[EXTENSION_KEY] = store
    return store
