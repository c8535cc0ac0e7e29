"""The partner network's rules: who adds and keeps organisations, who invites whom, how an
invitation's link lives and dies, and how partners.yaml reconciles with the hub."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from referral_hub.accounts import invitations as inv
from referral_hub.accounts.models import Invitation, User
from referral_hub.actors import Actor
from referral_hub.audit.models import AuditEntry
from referral_hub.directory import operations as directory
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem
from tests.agreements_support import build
from tests.orgs import BALIKPAPAN, BONTANG, OPERATOR, POLRES, PPU

PASSWORD = "a long enough password"


def admin(code: str, role: str = "org_admin") -> Actor:
    org = find_organization(code)
    return Actor(
        organization_id=org.id,
        user_id=None,
        role=role,
        kind="user",
        label=f"{role}@{code}",
        organization_type=org.type,
    )


def new_partner(by: str = PPU, code: str = "lbh-ppu", **extra):
    return directory.create_organization(
        admin(by),
        code=code,
        name="LBH Penajam",
        type="legal_aid",
        region_code="64.09",
        services=["legal_aid"],
        contacts=[{"name": "Rina", "title": "Koordinator", "phone": "+62 812 0000 1111"}],
        **extra,
    )


def actions() -> list[str]:
    db.session.commit()  # entries are chained at commit (the test's savepoint)
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def refused(status: int, slug: str | None = None):
    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(Problem)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            assert self.info.value.status == status, self.info.value.detail
            if slug:
                assert self.info.value.slug == slug
            return handled

    return _Check()


# --- adding and keeping organisations ---------------------------------------------------


def test_a_uptd_admin_adds_a_partner_kept_in_the_hub(app_ctx):
    org = new_partner()
    db.session.commit()
    assert org.added_by_id == find_organization(PPU).id
    assert org.maintained_in_hub_at is not None
    assert [s.service_code for s in org.services] == ["legal_aid"]
    assert org.contacts == [{"name": "Rina", "title": "Koordinator", "phone": "+62 812 0000 1111"}]
    assert "organization.created" in actions()


@pytest.mark.parametrize(
    ("code", "role"),
    [(POLRES, "org_admin"), (PPU, "supervisor"), (PPU, "caseworker"), (OPERATOR, "auditor")],
)
def test_only_admins_of_the_operator_or_a_uptd_add_partners(app_ctx, code, role):
    with refused(403, "organization-not-maintainable"):
        directory.create_organization(
            admin(code, role), code="lbh-x", name="LBH X", type="legal_aid"
        )


def test_the_hub_operator_adds_and_a_uptd_cannot_add_a_hub_operator(app_ctx):
    assert directory.create_organization(
        admin(OPERATOR), code="dp3a-diy", name="DP3AP DIY", type="hub_operator"
    )
    with refused(422):
        directory.create_organization(admin(PPU), code="fake-op", name="X", type="hub_operator")


def test_bad_entries_are_refused_field_by_field(app_ctx):
    with refused(422) as info:
        directory.create_organization(
            admin(PPU),
            code="Bad Code",
            name="",
            type="pirates",
            region_code="Kaltim",
            services=["no_such_service"],
            contacts=[{"name": "Rina"}],
        )
    assert set(info.value.errors) == {"code", "name", "type", "region_code", "services", "contacts"}
    with refused(409, "organization-code-taken"):
        directory.create_organization(admin(PPU), code=BALIKPAPAN, name="X", type="legal_aid")


def test_who_keeps_an_entry(app_ctx):
    org = new_partner()
    db.session.flush()
    # Its adder while it has nobody on the hub; the hub operator; never an outsider.
    assert directory.may_maintain(admin(PPU), org)
    assert directory.may_maintain(admin(OPERATOR), org)
    assert not directory.may_maintain(admin(BONTANG), org)
    assert not directory.may_maintain(admin(PPU, "supervisor"), org)
    with refused(403, "organization-not-maintainable"):
        directory.update_organization(admin(BALIKPAPAN), org.code, name="Renamed")
    # Every organisation's admin keeps its own entry, the adder never another UPTD's.
    assert directory.may_maintain(admin(POLRES), find_organization(POLRES))
    assert not directory.may_maintain(admin(PPU), find_organization(POLRES))
    # Staff of the partner on the hub change nothing: the UPTD keeps the entry until the
    # partner has an admin of its own, who keeps it from then on.
    db.session.add(
        User(
            organization_id=org.id,
            email="y@lbh.example",
            name="Y",
            role="caseworker",
            password_hash="x",
        )
    )
    db.session.flush()
    assert directory.may_maintain(admin(PPU), org)
    db.session.add(
        User(
            organization_id=org.id,
            email="z@lbh.example",
            name="Z",
            role="org_admin",
            password_hash="x",
        )
    )
    db.session.flush()
    assert not directory.may_maintain(admin(PPU), org)
    assert directory.may_maintain(admin(OPERATOR), org)


def test_a_partner_keeps_its_services_capacity_and_focal_points(app_ctx):
    polres = find_organization(POLRES)
    offered = [s.service_code for s in polres.services]
    directory.update_organization(
        admin(POLRES),
        POLRES,
        capacity={offered[0]: "limited"},
        contacts=[{"name": "Iptu Sari", "title": "Kanit PPA", "email": "ppa@polres.example"}],
    )
    db.session.commit()
    assert {s.service_code: s.capacity_status for s in polres.services}[offered[0]] == "limited"
    assert polres.contacts[0]["name"] == "Iptu Sari"
    assert polres.maintained_in_hub_at is not None
    with refused(422) as info:
        directory.update_organization(admin(POLRES), POLRES, capacity={"health_care": "limited"})
    assert "capacity" in info.value.errors
    assert actions().count("organization.updated") == 1


def test_an_unchanged_save_writes_nothing(app_ctx):
    polres = find_organization(POLRES)
    directory.update_organization(admin(POLRES), POLRES, name=polres.name)
    assert polres.maintained_in_hub_at is None
    assert "organization.updated" not in actions()


def test_focal_points_show_to_parties_of_an_agreement_only(app_ctx):
    balikpapan = find_organization(BALIKPAPAN)
    assert directory.contacts_visible(admin(BALIKPAPAN), balikpapan)
    assert directory.contacts_visible(admin(OPERATOR), balikpapan)
    assert not directory.contacts_visible(admin(PPU), balikpapan)
    build("draft", number="NET/1")
    assert directory.contacts_visible(admin(PPU), balikpapan)
    assert not directory.contacts_visible(admin(BONTANG), balikpapan)


# --- partners.yaml and the hub ----------------------------------------------------------


def test_load_partners_keeps_what_the_hub_maintains(app, app_ctx):
    path = app.config["HUB_PARTNERS_FILE"]
    polres = find_organization(POLRES)
    directory.update_organization(
        admin(POLRES), POLRES, name="Polres PPU (Unit PPA)", services=["law_enforcement"]
    )
    added = new_partner()
    db.session.flush()
    changes = directory.load_partners(Actor.system("test"), path)
    assert f"={POLRES}" in changes["kept"]
    assert changes["organizations"] == []
    assert polres.name == "Polres PPU (Unit PPA)"
    assert [s.service_code for s in polres.services] == ["law_enforcement"]
    assert find_organization(added.code) is not None  # only in the hub: never removed
    # An entry nobody changed in the hub still follows the file.
    kejari = find_organization("kejari-ppu")
    kejari.name = "changed behind the hub's back"
    db.session.flush()
    changes = directory.load_partners(Actor.system("test"), path)
    assert "~kejari-ppu" in changes["organizations"]
    assert kejari.name != "changed behind the hub's back"


def test_the_file_creates_organisations_the_hub_lacks(app, app_ctx, tmp_path):
    source = Path(app.config["HUB_PARTNERS_FILE"]).read_text(encoding="utf-8")
    extra = (
        "\n  - code: lbh-samarinda\n    name: LBH Samarinda\n    type: legal_aid\n"
        '    region_code: "64.72"\n    services: [legal_aid]\n'
    )
    path = tmp_path / "partners.yaml"
    path.write_text(source.rstrip("\n") + extra, encoding="utf-8")
    changes = directory.load_partners(Actor.system("test"), path)
    assert "+lbh-samarinda" in changes["organizations"]
    assert find_organization("lbh-samarinda").maintained_in_hub_at is None


# --- invitations: who may invite whom ---------------------------------------------------


def test_who_may_invite_whom(app_ctx):
    lbh = new_partner()
    db.session.flush()
    polres, balikpapan = find_organization(POLRES), find_organization(BALIKPAPAN)
    assert inv.may_invite(admin(OPERATOR), polres)  # the hub operator: anyone
    assert inv.may_invite(admin(POLRES), polres)  # its own admin
    assert inv.may_invite(admin(PPU), lbh)  # the UPTD that added it
    assert not inv.may_invite(admin(BONTANG), lbh)  # a stranger to it
    assert not inv.may_invite(admin(PPU), balikpapan)  # no agreement yet
    build("draft", number="NET/2")
    assert inv.may_invite(admin(PPU), balikpapan)  # drafting one counts
    assert not inv.may_invite(admin(PPU, "supervisor"), lbh)
    assert not inv.may_invite(admin(POLRES), find_organization(PPU))  # a partner is no UPTD
    assert not inv.may_invite(admin(PPU), find_organization(OPERATOR))


def test_inviting_into_another_organisation_is_refused(app_ctx):
    with refused(403, "invitation-not-allowed"):
        inv.create_invitation(admin(BONTANG), PPU, email="a@x.example", role="org_admin")
    with refused(403, "invitation-not-allowed"):
        inv.create_invitation(admin(POLRES), PPU, email="a@x.example", role="caseworker")


def test_a_uptd_invites_the_first_admin_only(app_ctx):
    lbh = new_partner()
    inv.create_invitation(admin(PPU), lbh.code, email="first@lbh.example", role="org_admin")
    db.session.add(
        User(
            organization_id=lbh.id,
            email="boss@lbh.example",
            name="B",
            role="org_admin",
            password_hash="x",
        )
    )
    db.session.flush()
    with refused(409, "partner-has-admin"):
        inv.create_invitation(admin(PPU), lbh.code, email="staff@lbh.example", role="caseworker")
    # ... but the partner's own admin and the hub operator still may.
    assert inv.create_invitation(admin(OPERATOR), lbh.code, email="s@lbh.example", role="auditor")
    lbh_admin = Actor(
        organization_id=lbh.id, role="org_admin", kind="user", organization_type="legal_aid"
    )
    assert inv.create_invitation(lbh_admin, lbh.code, email="t@lbh.example", role="caseworker")


def test_an_invitation_is_checked_and_keeps_only_a_hash(app_ctx):
    with refused(422) as info:
        inv.create_invitation(admin(POLRES), POLRES, email="not an address", role="boss")
    assert set(info.value.errors) == {"email", "role"}
    invitation, token = inv.create_invitation(
        admin(POLRES), POLRES, email=" New.Person@Polres.example ", role="caseworker"
    )
    assert invitation.email == "new.person@polres.example"
    assert invitation.token_hash == inv.hash_token(token) != token
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=7)
    stored = db.session.execute(select(Invitation.__table__)).mappings().all()
    assert not any(token in str(value) for row in stored for value in row.values())
    with refused(422) as info:
        hub_user = db.session.scalar(select(User).where(User.organization_id.is_not(None)))
        if hub_user is None:
            db.session.add(User(organization_id=find_organization(POLRES).id,
                                email="taken@polres.example", name="T", role="caseworker",
                                password_hash="x"))  # fmt: skip
            db.session.flush()
            hub_user = db.session.scalar(select(User))
        inv.create_invitation(admin(POLRES), POLRES, email=hub_user.email, role="caseworker")
    assert "email" in info.value.errors


def test_a_new_invitation_replaces_the_open_one(app_ctx):
    _first, first_token = inv.create_invitation(
        admin(POLRES), POLRES, email="p@polres.example", role="caseworker"
    )
    _, token = inv.create_invitation(
        admin(POLRES), POLRES, email="p@polres.example", role="supervisor"
    )
    with refused(410, "invitation-revoked"):
        inv.open_invitation(first_token)
    assert inv.open_invitation(token).role == "supervisor"


# --- invitations: the link ---------------------------------------------------------------


def test_accepting_makes_the_account_once(app_ctx):
    _, token = inv.create_invitation(admin(PPU), PPU, email="new@ppu.example", role="caseworker")
    with refused(422) as info:
        inv.accept_invitation(token, name="", password="short")
    assert set(info.value.errors) == {"name", "password"}
    user = inv.accept_invitation(token, name="Nur", password=PASSWORD)
    assert (user.email, user.role, user.organization_id) == (
        "new@ppu.example",
        "caseworker",
        find_organization(PPU).id,
    )
    with refused(410, "invitation-used"):
        inv.accept_invitation(token, name="Again", password=PASSWORD)
    trail = actions()
    for action in ("invitation.created", "user.created", "invitation.accepted",
                   "invitation.refused"):  # fmt: skip
        assert action in trail


def test_an_expired_link_is_refused(app_ctx):
    _, token = inv.create_invitation(admin(PPU), PPU, email="late@ppu.example", role="caseworker")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)
    with time_machine.travel(later), refused(410, "invitation-expired"):
        inv.accept_invitation(token, name="Late", password=PASSWORD)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=6, hours=23)):
        assert inv.accept_invitation(token, name="Nearly late", password=PASSWORD)


def test_a_revoked_link_is_refused_and_a_guessed_one_is_unknown(app_ctx):
    invitation, token = inv.create_invitation(
        admin(PPU), PPU, email="gone@ppu.example", role="supervisor"
    )
    with refused(403, "invitation-not-allowed"):
        inv.revoke_invitation(admin(BONTANG), PPU, invitation.id)
    inv.revoke_invitation(admin(PPU), PPU, invitation.id)
    with refused(410, "invitation-revoked"):
        inv.accept_invitation(token, name="Gone", password=PASSWORD)
    with refused(409, "invitation-not-open"):
        inv.revoke_invitation(admin(PPU), PPU, invitation.id)
    for guess in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 43, "", "a" * 500):
        with refused(404, "invitation-unknown"):
            inv.accept_invitation(guess, name="Guess", password=PASSWORD)
    assert "invitation.revoked" in actions()


def test_the_invitation_mail_holds_the_link_until_sent_only(app_ctx):
    from referral_hub.delivery.mail import MemoryMailer
    from referral_hub.delivery.models import Notification
    from referral_hub.delivery.notifications import send_due_notifications

    _, token = inv.create_invitation(
        admin(POLRES), POLRES, email="m@polres.example", role="auditor"
    )
    db.session.commit()
    note = db.session.scalar(select(Notification).where(Notification.kind == "invitation"))
    assert token not in str(note.context)
    assert "m@polres.example" not in str(note.context)
    mailer = MemoryMailer()
    send_due_notifications(mailer=mailer)
    (mail,) = [m for m in mailer.outbox if m["To"] == "m@polres.example"]
    body = mail.get_content()
    assert f"/invitations/{token}" in body
    assert "autentikator" in body  # an auditor sets up a second factor
    db.session.expire_all()
    note = db.session.get(Notification, note.id)
    assert note.status == "sent"
    assert "link_sealed" not in note.context
    assert "recipient_sealed" not in note.context
