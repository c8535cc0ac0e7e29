"""The partner network over HTTP: adding and keeping organisations, inviting people."""

from __future__ import annotations

from sqlalchemy import select

from referral_hub.delivery.mail import MemoryMailer
from referral_hub.delivery.notifications import send_due_notifications
from referral_hub.extensions import db
from tests.conftest import problem
from tests.orgs import BONTANG, OPERATOR, POLRES, PPU

WRITE = "directory:read directory:write"
LBH = {
    "code": "lbh-apik-ppu",
    "name": "LBH APIK Penajam",
    "type": "legal_aid",
    "region_code": "64.09",
    "services": ["legal_aid"],
    "contacts": [{"name": "Rina", "title": "Koordinator", "phone": "+62 812 1111 2222"}],
}


def invitation_link(app, email: str) -> str:
    with app.app_context():
        mailer = MemoryMailer()
        send_due_notifications(mailer=mailer)
        db.session.remove()
    (mail,) = [m for m in mailer.outbox if m["To"] == email]
    line = next(x for x in mail.get_content().splitlines() if "/invitations/" in x)
    return line[line.index("/invitations/") :].strip()


def test_a_uptd_adds_a_partner_and_keeps_it(client, hub):
    ppu = hub.headers(PPU, WRITE)
    made = client.post("/api/v1/organizations", json=LBH, headers=ppu)
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert body["code"] == LBH["code"]
    assert body["on_hub"] is False
    assert body["contacts"][0]["name"] == "Rina"
    assert body["maintained_in_hub_at"]
    again = client.post("/api/v1/organizations", json=LBH, headers=ppu)
    assert again.status_code == 409
    assert problem(again)["type"].endswith("organization-code-taken")
    changed = client.patch(
        f"/api/v1/organizations/{LBH['code']}",
        json={"services": [{"code": "legal_aid", "capacity_status": "limited"}]},
        headers=ppu,
    )
    assert changed.status_code == 200
    assert changed.get_json()["services"][0]["capacity_status"] == "limited"
    # An outsider neither changes it nor sees its focal points.
    bontang = hub.headers(BONTANG, WRITE)
    assert (
        client.patch(
            f"/api/v1/organizations/{LBH['code']}", json={"name": "X"}, headers=bontang
        ).status_code
        == 403
    )
    seen = client.get(f"/api/v1/organizations/{LBH['code']}", headers=bontang).get_json()
    assert seen["contacts"] == []
    listed = client.get("/api/v1/organizations?type=legal_aid", headers=ppu).get_json()
    assert any(o["code"] == LBH["code"] and o["on_hub"] is False for o in listed["items"])


def test_writing_needs_directory_write_and_an_adding_organisation(client, hub):
    read_only = hub.headers(PPU, "directory:read")
    assert client.post("/api/v1/organizations", json=LBH, headers=read_only).status_code == 403
    polres = hub.headers(POLRES, WRITE)
    refused = client.post("/api/v1/organizations", json=LBH, headers=polres)
    assert refused.status_code == 403
    bad = client.post(
        "/api/v1/organizations",
        json={**LBH, "region_code": "Kaltim"},
        headers=hub.headers(PPU, WRITE),
    )
    assert bad.status_code == 422
    assert "region_code" in problem(bad)["errors"]


def test_an_invited_admin_joins_and_then_answers_for_the_partner(app, client, hub):
    ppu = hub.headers(PPU, WRITE)
    assert client.post("/api/v1/organizations", json=LBH, headers=ppu).status_code == 201
    sent = client.post(
        f"/api/v1/organizations/{LBH['code']}/invitations",
        json={"email": "Ketua@LBH-apik.example", "role": "org_admin"},
        headers=ppu,
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    body = sent.get_json()
    assert set(body) >= {"id", "email", "role", "expires_at"}
    assert body["status"] == "open"
    assert "token" not in sent.get_data(as_text=True)
    link = invitation_link(app, "ketua@lbh-apik.example")
    listed = client.get(f"/api/v1/organizations/{LBH['code']}/invitations", headers=ppu)
    assert [i["id"] for i in listed.get_json()["items"]] == [body["id"]]
    # Another UPTD sees and revokes nothing of it.
    bontang = hub.headers(BONTANG, WRITE)
    assert (
        client.get(f"/api/v1/organizations/{LBH['code']}/invitations", headers=bontang).status_code
        == 403
    )
    assert (
        client.delete(
            f"/api/v1/organizations/{LBH['code']}/invitations/{body['id']}", headers=bontang
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/organizations/{PPU}/invitations",
            json={"email": "mole@x.example", "role": "org_admin"},
            headers=bontang,
        ).status_code
        == 403
    )

    from tests.invitation_support import accept

    browser = app.test_client()
    accepted = accept(browser, link, name="Ketua LBH")
    assert accepted.status_code == 302
    assert "/login/enrol" in accepted.headers["Location"]
    # The partner has its own admin now: the UPTD that added it no longer keeps it or
    # invites. It answers no referral until its admin brings in staff who do.
    seen = client.get(f"/api/v1/organizations/{LBH['code']}", headers=ppu).get_json()
    assert seen["on_hub"] is False
    assert (
        client.patch(
            f"/api/v1/organizations/{LBH['code']}", json={"name": "X"}, headers=ppu
        ).status_code
        == 403
    )
    late = client.post(
        f"/api/v1/organizations/{LBH['code']}/invitations",
        json={"email": "staff@lbh-apik.example", "role": "caseworker"},
        headers=ppu,
    )
    assert late.status_code == 409
    assert problem(late)["type"].endswith("partner-has-admin")
    # Revoking a used invitation is refused; the hub operator still sees it.
    operator = hub.headers(OPERATOR, WRITE)
    gone = client.delete(
        f"/api/v1/organizations/{LBH['code']}/invitations/{body['id']}", headers=operator
    )
    assert gone.status_code == 409
    with app.app_context():
        from referral_hub.accounts.models import User

        user = db.session.scalar(select(User).where(User.email == "ketua@lbh-apik.example"))
        assert user.role == "org_admin"
        assert user.organization.code == LBH["code"]
        db.session.remove()


def test_revoking_over_the_api(app, client, hub):
    polres = hub.headers(POLRES, WRITE)
    sent = client.post(
        f"/api/v1/organizations/{POLRES}/invitations",
        json={"email": "penyidik2@polres.example", "role": "caseworker"},
        headers=polres,
    ).get_json()
    revoked = client.delete(
        f"/api/v1/organizations/{POLRES}/invitations/{sent['id']}", headers=polres
    )
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"
    link = invitation_link(app, "penyidik2@polres.example")
    page = app.test_client().get(link)
    assert page.status_code == 410
    assert "dicabut" in page.get_data(as_text=True)
