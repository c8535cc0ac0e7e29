"""The document store interface: the local-folder store and the test double pass the same tests."""

from __future__ import annotations

import hashlib

import pytest

from referral_hub.agreements.storage import (
    EXTENSION_KEY,
    DocumentNotFound,
    DocumentStore,
    LocalFolderStore,
    document_store,
)


class MemoryStore:
    """A test double of DocumentStore: bytes in a dict."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        self.blobs[key] = bytes(data)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.blobs[key]
        except KeyError:
            raise DocumentNotFound(key) from None


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> DocumentStore:
    return LocalFolderStore(tmp_path / "documents") if request.param == "local" else MemoryStore()


def test_it_is_a_document_store(store):
    assert isinstance(store, DocumentStore)


def test_bytes_come_back_unchanged(store):
    data = b"%PDF-1.4\n" + bytes(range(256)) * 64
    key = store.put(data)
    assert store.get(key) == data


def test_the_same_content_gets_the_same_key_and_other_content_another(store):
    assert store.put(b"%PDF-1 a") == store.put(b"%PDF-1 a")
    assert store.put(b"%PDF-1 a") != store.put(b"%PDF-1 b")


@pytest.mark.parametrize("key", ["0" * 64, "../../etc/passwd", "", "A" * 64])
def test_unknown_or_malformed_keys_are_not_found(store, key):
    with pytest.raises(DocumentNotFound):
        store.get(key)


def test_local_store_writes_whole_files_under_its_folder(tmp_path):
    store = LocalFolderStore(tmp_path / "documents")
    key = store.put(b"%PDF-1.7 hello")
    files = [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [key]
    assert files[0].read_bytes() == b"%PDF-1.7 hello"


def test_the_app_uses_an_installed_store_else_its_instance_folder(app, monkeypatch):
    with app.app_context():
        monkeypatch.delitem(app.extensions, EXTENSION_KEY, raising=False)
        default = document_store()
        assert isinstance(default, LocalFolderStore)
        assert str(default.root).startswith(app.instance_path)
        double = MemoryStore()
        monkeypatch.setitem(app.extensions, EXTENSION_KEY, double)
        assert document_store() is double
