"""Agreement documents: PDFs only (by their bytes), size limit, byte-identical download."""

from __future__ import annotations

import hashlib
import io

import pytest

from tests.agreements_support import BALIKPAPAN, BONTANG, OPERATOR, PPU, Tokens, as_json, content
from tests.conftest import problem

URL = "/api/v1/agreements"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    + bytes(range(256))  # binary content must survive untouched
)


@pytest.fixture
def tokens(hub) -> Tokens:
    return Tokens(hub)


@pytest.fixture
def agreement_id(client, tokens) -> str:
    response = client.post(URL, json=as_json(content()), headers=tokens(PPU))
    assert response.status_code == 201
    return response.get_json()["id"]


def _upload(client, headers, agreement_id, data, filename="pks.pdf", mimetype="application/pdf"):
    return client.post(
        f"{URL}/{agreement_id}/documents",
        data={"file": (io.BytesIO(data), filename, mimetype)},
        content_type="multipart/form-data",
        headers=headers,
    )


def _documents(client, tokens, agreement_id):
    return client.get(f"{URL}/{agreement_id}", headers=tokens(PPU)).get_json()["documents"]


def test_uploaded_pdf_comes_back_byte_identical_and_every_download_is_audited(
    client, tokens, agreement_id
):
    response = _upload(client, tokens(PPU), agreement_id, PDF, filename="../../PKS 2026 final.pdf")
    assert response.status_code == 201, response.get_data(as_text=True)
    document = response.get_json()
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["size"] == len(PDF)
    assert document["filename"] == "PKS_2026_final.pdf"
    assert response.headers["Location"].endswith(f"/documents/{document['id']}")

    for org in (PPU, BALIKPAPAN, OPERATOR):
        download = client.get(
            f"{URL}/{agreement_id}/documents/{document['id']}",
            headers=tokens(org, "agreements:read"),
        )
        assert download.status_code == 200, org
        assert download.get_data() == PDF
        assert download.mimetype == "application/pdf"
        assert download.headers["Content-Disposition"] == (
            'attachment; filename="PKS_2026_final.pdf"'
        )
        assert hashlib.sha256(download.get_data()).hexdigest() == document["sha256"]

    history = client.get(f"{URL}/{agreement_id}/history", headers=tokens(BALIKPAPAN)).get_json()
    actions = [e["action"] for e in history["items"]]
    assert actions.count("agreement.document_uploaded") == 1
    assert actions.count("agreement.document_downloaded") == 3
    assert _documents(client, tokens, agreement_id) == [
        {**document, "uploaded_at": document["uploaded_at"]}
    ]


def test_the_bytes_decide_not_the_name_or_declared_type(client, tokens, agreement_id):
    disguised = b"MZ\x90\x00 this is a Windows program, not a PDF"
    response = _upload(client, tokens(PPU), agreement_id, disguised, "pks.pdf")
    assert response.status_code == 422
    body = problem(response)
    assert body["type"].endswith("/document-not-pdf")
    assert "file" in body["errors"]
    # A real PDF with an odd name and declared type is still a PDF.
    response = _upload(
        client, tokens(PPU), agreement_id, PDF, "scan.bin", "application/octet-stream"
    )
    assert response.status_code == 201
    assert response.get_json()["filename"] == "scan.bin.pdf"
    assert len(_documents(client, tokens, agreement_id)) == 1


def test_empty_missing_or_oversized_files_are_refused_and_nothing_stored(
    client, tokens, agreement_id, app, monkeypatch
):
    response = _upload(client, tokens(PPU), agreement_id, b"")
    assert response.status_code == 422
    assert "file" in problem(response)["errors"]
    response = client.post(
        f"{URL}/{agreement_id}/documents",
        data={"other": (io.BytesIO(PDF), "pks.pdf")},
        content_type="multipart/form-data",
        headers=tokens(PPU),
    )
    assert response.status_code == 422
    problem(response)

    monkeypatch.setitem(app.config, "HUB_DOCUMENT_MAX_BYTES", 1024)
    just_over = PDF + b"0" * (1025 - len(PDF))
    response = _upload(client, tokens(PPU), agreement_id, just_over)
    assert response.status_code == 413
    assert "file" in problem(response)["errors"]
    assert _upload(client, tokens(PPU), agreement_id, just_over[:1024]).status_code == 201
    assert len(_documents(client, tokens, agreement_id)) == 1


def test_the_default_limit_is_20_megabytes(client, tokens, agreement_id):
    limit = 20 * 1024 * 1024
    data = PDF + b"\0" * (limit + 1 - len(PDF))
    # Encoded by hand: the test client would spool a body this size to a file it never closes.
    boundary = "hub-test-boundary-7d1f"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        f"{URL}/{agreement_id}/documents",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=tokens(PPU),
    )
    assert response.status_code == 413
    assert "file" in problem(response)["errors"]
    assert _documents(client, tokens, agreement_id) == []


def test_uploads_must_be_multipart(client, tokens, agreement_id):
    response = client.post(
        f"{URL}/{agreement_id}/documents",
        data=PDF,
        content_type="application/pdf",
        headers=tokens(PPU),
    )
    assert response.status_code == 415
    problem(response)


def test_parties_and_paper_recorders_upload_only_parties_and_auditors_download(
    client, tokens, agreement_id
):
    response = _upload(client, tokens(BONTANG), agreement_id, PDF)
    assert response.status_code == 404
    # The draft awaits signatures the hub operator may record on paper: it keeps the scan
    # (once all have signed it attaches nothing: test_agreements_paper_signatures).
    response = _upload(client, tokens(OPERATOR), agreement_id, PDF)
    assert response.status_code == 201
    document = _upload(client, tokens(BALIKPAPAN), agreement_id, PDF).get_json()
    url = f"{URL}/{agreement_id}/documents/{document['id']}"
    response = client.get(url, headers=tokens(BONTANG))
    assert response.status_code == 404
    assert PDF not in response.get_data()
    assert client.get(f"{url}x", headers=tokens(PPU)).status_code == 404
    history = client.get(f"{URL}/{agreement_id}/history", headers=tokens(PPU)).get_json()
    assert [e["action"] for e in history["items"]].count("agreement.document_downloaded") == 0
