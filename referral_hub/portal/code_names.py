"""Names of the domain's codes in the portal's languages: statuses, categories, services ...

The API speaks codes (`psychological_counseling`, `on-hold`); people read names. Every page
shows a code through `label(kind, code)`, so one table holds each name and an unknown code is
shown as it came (never hidden, never a crash).
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

LABELS: dict[str, dict[str, Any]] = {
    "status": {
        "draft": _l("Menunggu persetujuan supervisor"),
        "requested": _l("Menunggu jawaban"),
        "accepted": _l("Diterima"),
        "rejected": _l("Ditolak"),
        "cancelled": _l("Dibatalkan"),
        "in-progress": _l("Sedang berjalan"),
        "on-hold": _l("Ditunda"),
        "completed": _l("Selesai"),
        "failed": _l("Gagal"),
        "entered-in-error": _l("Salah input"),
    },
    "urgency": {
        "routine": _l("Biasa"),
        "urgent": _l("Segera"),
        "emergency": _l("Darurat"),
    },
    "category": {
        "demographics": _l("Demografi"),
        "identity": _l("Identitas"),
        "contact": _l("Kontak"),
        "guardian": _l("Orang tua / wali"),
        "case_summary": _l("Ringkasan kasus"),
        "health": _l("Kesehatan"),
        "legal": _l("Hukum"),
        "perpetrator": _l("Terduga pelaku"),
    },
    "category_help": {
        "demographics": _l("kelompok umur, jenis kelamin, disabilitas, wilayah domisili"),
        "identity": _l("nama lengkap, NIK, tanggal lahir"),
        "contact": _l("nomor telepon, alamat"),
        "guardian": _l("nama, hubungan dan telepon orang tua atau wali"),
        "case_summary": _l("jenis kekerasan, tempat kejadian, kronologi"),
        "health": _l("catatan medis dan psikologis"),
        "legal": _l("nomor laporan polisi, nomor perkara"),
        "perpetrator": _l("hubungan dengan terduga pelaku dan keterangannya"),
    },
    "violence": {
        "physical": _l("Fisik"),
        "psychological": _l("Psikis"),
        "sexual": _l("Seksual"),
        "exploitation": _l("Eksploitasi"),
        "trafficking": _l("Perdagangan orang"),
        "neglect": _l("Penelantaran"),
        "other": _l("Lainnya"),
    },
    "place": {
        "household": _l("Rumah tangga"),
        "school": _l("Sekolah"),
        "workplace": _l("Tempat kerja"),
        "public_place": _l("Tempat umum"),
        "online": _l("Daring (online)"),
        "other": _l("Lainnya"),
    },
    "legal_basis": {
        "consent": _l("Persetujuan klien"),
        "legal_obligation": _l("Kewajiban hukum"),
        "vital_interest": _l("Kepentingan vital"),
    },
    "outcome": {
        "service_delivered": _l("Layanan diberikan"),
        "partially_delivered": _l("Layanan diberikan sebagian"),
        "client_declined": _l("Klien menolak"),
        "unable_to_contact": _l("Klien tidak dapat dihubungi"),
        "not_eligible": _l("Tidak memenuhi syarat"),
        "no_capacity": _l("Tidak ada kapasitas"),
        "referred_elsewhere": _l("Dirujuk ke tempat lain"),
    },
    #: Why the hub itself cancelled a referral (its `status_reason`, also the timeline's
    #: note); a reason a person typed is not in the table and shows as typed.
    "status_reason": {
        "agreement_ended": _l(
            "Perjanjian yang menjadi dasar rujukan ini berakhir (diakhiri, ditangguhkan atau"
            " kedaluwarsa) sebelum rujukan diterima, sehingga rujukan dibatalkan oleh hub."
            " Bila klien masih membutuhkan layanan ini, pengirim dapat mengirim rujukan baru"
            " kepada mitra yang perjanjiannya berlaku."
        ),
        "consent_withdrawn": _l(
            "Persetujuan klien yang menjadi dasar rujukan ini dicabut, sehingga rujukan"
            " dibatalkan oleh hub. Penerima menghentikan pemrosesan data klien untuk rujukan"
            " ini."
        ),
    },
    "approval": {
        "pending": _l("Menunggu persetujuan supervisor"),
        "approved": _l("Disetujui supervisor"),
        "declined": _l("Persetujuan ditolak supervisor"),
    },
    "action": {
        "approval_requested": _l("Diajukan untuk persetujuan supervisor (belum dikirim)"),
        "override_approved": _l("Disetujui supervisor dan dikirim"),
        "override_declined": _l("Persetujuan ditolak supervisor"),
        "requested": _l("Rujukan dikirim"),
        "accept": _l("Diterima"),
        "reject": _l("Ditolak"),
        "start": _l("Layanan dimulai"),
        "hold": _l("Ditunda"),
        "resume": _l("Dilanjutkan"),
        "complete": _l("Selesai"),
        "fail": _l("Gagal"),
        "cancel": _l("Dibatalkan"),
        "enter-in-error": _l("Ditandai salah input"),
        "appointment_scheduled": _l("Jadwal sesi dibuat"),
        "appointment_attended": _l("Sesi dihadiri"),
        "appointment_no_show": _l("Klien tidak hadir"),
        "appointment_cancelled": _l("Sesi dibatalkan"),
        "appointment_scheduled_again": _l("Jadwal sesi diubah"),
    },
    "appointment_status": {
        "scheduled": _l("Terjadwal"),
        "attended": _l("Dihadiri"),
        "no_show": _l("Tidak hadir"),
        "cancelled": _l("Dibatalkan"),
    },
    "mode": {
        "in_person": _l("Tatap muka"),
        "video": _l("Video"),
        "phone": _l("Telepon"),
    },
    "case_status": {"open": _l("Terbuka"), "closed": _l("Ditutup")},
    "risk": {"low": _l("Rendah"), "medium": _l("Sedang"), "high": _l("Tinggi")},
    "intake_status": {
        "received": _l("Diterima unit"),
        "triaged": _l("Sudah dinilai"),
        "accepted": _l("Ditangani"),
        "declined": _l("Tidak ditangani"),
        "forwarded": _l("Diteruskan ke unit lain"),
    },
    "intake_channel": {
        "patbm": _l("PATBM"),
        "poscinta": _l("Poscinta"),
        "puspaga": _l("Puspaga"),
        "app": _l("Aplikasi"),
        "hotline": _l("Telepon / hotline"),
        "walk_in": _l("Datang langsung"),
        "outreach": _l("Penjangkauan"),
        "other": _l("Lainnya"),
    },
    "intake_step": {
        "received": _l("Aduan masuk"),
        "triaged": _l("Risiko dinilai"),
        "forwarded": _l("Diteruskan"),
        "accepted": _l("Diterima, kasus dibuka"),
        "declined": _l("Ditolak"),
        "overdue": _l("Melewati batas waktu"),
    },
    "close_reason": {
        "goals_met": _l("Tujuan tercapai"),
        "transferred": _l("Dialihkan ke unit lain"),
        "client_withdrew": _l("Klien mengundurkan diri"),
        "unreachable": _l("Klien tidak dapat dihubungi"),
        "other": _l("Lainnya"),
    },
    "relationship": {
        "spouse": _l("Suami/istri"),
        "partner_friend": _l("Pacar/teman"),
        "parent": _l("Orang tua"),
        "family": _l("Keluarga/saudara"),
        "neighbour": _l("Tetangga"),
        "employer": _l("Majikan"),
        "coworker": _l("Rekan kerja"),
        "teacher": _l("Guru"),
        "stranger": _l("Orang tidak dikenal"),
        "other": _l("Lainnya"),
    },
    "plan_status": {
        "planned": _l("Direncanakan"),
        "in_progress": _l("Berjalan"),
        "done": _l("Selesai"),
        "cancelled": _l("Dibatalkan"),
    },
    "timeline": {
        "case_opened": _l("Kasus dibuka"),
        "case_closed": _l("Kasus ditutup"),
        "intake": _l("Aduan"),
        "consent_recorded": _l("Persetujuan dicatat"),
        "consent_withdrawn": _l("Persetujuan dicabut"),
        "plan_item": _l("Rencana layanan"),
        "referral": _l("Rujukan"),
        "appointment": _l("Jadwal sesi"),
        "note": _l("Catatan"),
        "disclosure": _l("Akses data klien"),
    },
    "sex": {"female": _l("Perempuan"), "male": _l("Laki-laki")},
    "disability": {
        "physical": _l("Fisik"),
        "intellectual": _l("Intelektual"),
        "mental": _l("Mental"),
        "sensory": _l("Sensorik"),
    },
    "giver": {
        "client": _l("Klien sendiri"),
        "parent": _l("Orang tua"),
        "guardian": _l("Wali"),
    },
    "method": {
        "written": _l("Formulir tertulis bertanda tangan"),
        "recorded": _l("Lisan, direkam"),
        "electronic": _l("Elektronik"),
    },
    "consent_status": {
        "active": _l("Berlaku"),
        "expired": _l("Kedaluwarsa"),
        "withdrawn": _l("Dicabut"),
    },
    "disclosure": {"read": _l("Dibaca"), "share": _l("Dibagikan")},
    "capacity": {
        "available": _l("Tersedia"),
        "limited": _l("Terbatas"),
        "unavailable": _l("Tidak tersedia"),
    },
    "agreement_kind": {
        "mou": _l("Nota Kesepahaman (MoU)"),
        "pks": _l("Perjanjian Kerja Sama (PKS)"),
        "contract": _l("Kontrak"),
    },
    "agreement_status": {
        "draft": _l("Draf"),
        "signed": _l("Ditandatangani, belum berlaku"),
        "active": _l("Berlaku"),
        "suspended": _l("Ditangguhkan"),
        "terminated": _l("Diakhiri"),
        "expired": _l("Kedaluwarsa"),
        "superseded": _l("Digantikan"),
    },
    "delivery_status": {
        "pending": _l("Menunggu"),
        "retrying": _l("Dicoba ulang"),
        "delivered": _l("Terkirim"),
        "dead": _l("Gagal permanen"),
        "cancelled": _l("Dibatalkan"),
    },
    "coverage_state": {
        "covered": _l("Tercakup"),
        "own": _l("Layanan sendiri"),
        "gap": _l("Celah"),
    },
    #: Audit log actions, named for the reader (the code stays beside the name, for the
    #: filter). Unlisted actions show as their code. Old codes kept for older entries.
    "audit_action": {
        "case.opened": _l("Kasus dibuka"),
        "case.updated": _l("Kasus diubah"),
        "case.closed": _l("Kasus ditutup"),
        "case.reopened": _l("Kasus dibuka kembali"),
        "case.plan_item_added": _l("Rencana layanan ditambahkan"),
        "case.plan_item_updated": _l("Rencana layanan diubah"),
        "case.plan_item_referred": _l("Rencana layanan dirujuk"),
        "case.note_added": _l("Catatan kasus ditambahkan"),
        "case.follow_up_done": _l("Tindak lanjut ditandai selesai"),
        "case.follow_up_due": _l("Tindak lanjut jatuh tempo"),
        "intake.received": _l("Aduan masuk"),
        "intake.triaged": _l("Risiko aduan dinilai"),
        "intake.forwarded": _l("Aduan diteruskan"),
        "intake.accepted": _l("Aduan diterima"),
        "intake.declined": _l("Aduan ditolak"),
        "intake.overdue": _l("Aduan melewati batas waktu"),
        "intake.clock_set": _l("Batas waktu aduan unit diatur"),
        "signin.succeeded": _l("Berhasil masuk"),
        "signin.failed": _l("Gagal masuk"),
        "signin.throttled": _l("Percobaan masuk ditahan"),
        "signin.refused_locked": _l("Masuk ditolak: akun terkunci"),
        "signin.second_factor_succeeded": _l("Kode faktor kedua diterima"),
        "signin.second_factor_failed": _l("Kode faktor kedua salah"),
        "signout": _l("Keluar"),
        "totp.enrolled": _l("Faktor kedua dipasang"),
        "totp.enrolment_failed": _l("Pemasangan faktor kedua gagal"),
        "totp.reset": _l("Faktor kedua diatur ulang"),
        "user.created": _l("Pengguna dibuat"),
        "user.deactivated": _l("Pengguna dinonaktifkan"),
        "user.reactivated": _l("Pengguna diaktifkan kembali"),
        "user.unlocked": _l("Penahanan masuk dicabut"),
        "user.work_phone_changed": _l("Telepon kantor diubah"),
        "organization.created": _l("Mitra ditambahkan"),
        "organization.updated": _l("Data organisasi diubah"),
        "organization.retention_changed": _l("Masa simpan data klien diubah"),
        "invitation.created": _l("Undangan dikirim"),
        "invitation.revoked": _l("Undangan dicabut"),
        "invitation.accepted": _l("Undangan diterima"),
        "invitation.refused": _l("Tautan undangan ditolak"),
        "oauth.client_auth_failed": _l("Autentikasi klien OAuth gagal"),
        "oauth.code_replayed": _l("Kode otorisasi dipakai ulang"),
        "oauth.refresh_reused": _l("Refresh token dipakai ulang"),
        "oauth.token_revoked": _l("Token dicabut"),
        "oauth.token_issued": _l("Token diterbitkan untuk pengguna"),
        "oauth.grant_approved": _l("Akses aplikasi disetujui"),
        "oauth.grant_denied": _l("Akses aplikasi ditolak"),
        "oauth.client_created": _l("Klien OAuth didaftarkan"),
        "oauth.client_changed": _l("Klien OAuth diubah"),
        "oauth.consent_granted": _l("Akses aplikasi disetujui"),
        "oauth.consent_refused": _l("Akses aplikasi ditolak"),
        "oauth_client.created": _l("Klien OAuth didaftarkan"),
        "oauth_client.disabled": _l("Klien OAuth dinonaktifkan"),
        "user.locale_changed": _l("Bahasa pengguna diubah"),
        "referral.sent": _l("Rujukan dibuat"),
        "referral.override_approved": _l("Rujukan tanpa persetujuan klien disetujui supervisor"),
        "referral.override_declined": _l("Rujukan tanpa persetujuan klien ditolak supervisor"),
        "referral.accept": _l("Rujukan diterima"),
        "referral.reject": _l("Rujukan ditolak"),
        "referral.start": _l("Layanan dimulai"),
        "referral.hold": _l("Layanan ditunda"),
        "referral.resume": _l("Layanan dilanjutkan"),
        "referral.complete": _l("Layanan selesai"),
        "referral.fail": _l("Layanan gagal"),
        "referral.cancel": _l("Rujukan dibatalkan"),
        "referral.enter-in-error": _l("Rujukan ditandai salah input"),
        "referral.overdue": _l("Batas jawaban rujukan terlewati"),
        "appointment.scheduled": _l("Jadwal sesi dibuat"),
        "appointment.updated": _l("Sesi diperbarui"),
        "client.registered": _l("Klien didaftarkan"),
        "client.read": _l("Data klien dibaca"),
        "client.share": _l("Data klien dibagikan"),
        "client.erased": _l("Data pribadi klien dihapus"),
        "client.exported": _l("Data klien diekspor"),
        "client.rectified": _l("Data klien diperbaiki"),
        "consent.recorded": _l("Persetujuan klien dicatat"),
        "consent.withdrawn": _l("Persetujuan klien dicabut"),
        "consent.giver_cleared": _l("Pemberi persetujuan diizinkan supervisor"),
        "agreement.created": _l("Perjanjian disusun"),
        "agreement.updated": _l("Perjanjian diubah"),
        "agreement.signed": _l("Perjanjian ditandatangani"),
        "agreement.activated": _l("Perjanjian mulai berlaku"),
        "agreement.suspended": _l("Perjanjian ditangguhkan"),
        "agreement.resumed": _l("Perjanjian dilanjutkan"),
        "agreement.terminated": _l("Perjanjian diakhiri"),
        "agreement.expired": _l("Perjanjian kedaluwarsa"),
        "agreement.expiring": _l("Perjanjian segera berakhir"),
        "agreement.superseded": _l("Perjanjian digantikan"),
        "agreement.renewed": _l("Perjanjian diperpanjang"),
        "agreement.paper_signature_recorded": _l("Tanda tangan di atas kertas dicatat"),
        "agreement.paper_signature_confirmed": _l("Tanda tangan di atas kertas dikonfirmasi"),
        "agreement.paper_signature_disputed": _l("Tanda tangan di atas kertas disangkal"),
        "agreement.document_uploaded": _l("Dokumen perjanjian diunggah"),
        "agreement.document_downloaded": _l("Dokumen perjanjian diunduh"),
        "agreement.registry_exported": _l("Daftar perjanjian diekspor"),
        "webhook.created": _l("Webhook didaftarkan"),
        "webhook.deleted": _l("Webhook dihapus"),
        "webhook.redelivery_requested": _l("Pengiriman webhook diulang"),
        "webhook.secret_rotated": _l("Rahasia webhook diganti"),
        "webhook.ping_requested": _l("Ping webhook dikirim"),
        "partners.loaded": _l("Berkas mitra dimuat"),
        "data_keys.rotated": _l("Kunci enkripsi data diganti"),
        "report.exported": _l("Laporan diunduh"),
    },
    #: What an audit entry is about (its object_type), for the filter and the Objek column.
    "audit_object": {
        "referral": _l("Rujukan"),
        "client": _l("Klien"),
        "case": _l("Kasus"),
        "intake": _l("Aduan"),
        "consent": _l("Persetujuan klien"),
        "agreement": _l("Perjanjian"),
        "user": _l("Pengguna"),
        "oauth_client": _l("Klien OAuth"),
        "webhook": _l("Webhook"),
        "webhook_delivery": _l("Pengiriman webhook"),
        "directory": _l("Direktori mitra"),
        "organization": _l("Organisasi"),
        "invitation": _l("Undangan"),
        "key_ring": _l("Kunci enkripsi"),
        "report": _l("Laporan"),
    },
    "org_type": {
        "police": _l("Kepolisian"),
        "prosecutor": _l("Kejaksaan"),
        "district_court": _l("Pengadilan negeri"),
        "religious_court": _l("Pengadilan agama"),
        "social_service": _l("Dinas sosial"),
        "lpsk": _l("LPSK"),
        "health": _l("Layanan kesehatan"),
        "legal_aid": _l("Bantuan hukum"),
        "religious_affairs": _l("Kementerian Agama"),
        "uptd_ppa": _l("UPTD PPA"),
        "community": _l("Masyarakat"),
        "government_office": _l("Instansi pemerintah"),
        "university": _l("Perguruan tinggi"),
        "hub_operator": _l("Operator hub"),
    },
}


#: The accounts' roles (accounts.models.ROLES), as people call them.
ROLE_LABELS = {
    "caseworker": _l("Pendamping"),
    "supervisor": _l("Supervisor"),
    "org_admin": _l("Admin organisasi"),
    "auditor": _l("Auditor"),
}


def role_label(role: str | None) -> str:
    """A role's name in the current language."""
    return str(ROLE_LABELS.get(role or "", role or ""))


def label(kind: str, code: Any) -> str:
    """The name of `code` among `kind` in the current language; the code itself if unknown."""
    if code is None:
        return ""
    name = LABELS.get(kind, {}).get(code)
    return str(name) if name is not None else str(code)


def options(kind: str, codes: Any = None) -> list[tuple[str, str]]:
    """(code, name) pairs for a select, radios or checkboxes, in the table's order or `codes`'."""
    table = LABELS[kind]
    return [(code, label(kind, code)) for code in (codes if codes is not None else table)]


def service_name(service: Any) -> str:
    """A service's name in the current language (a Service row or anything with name_id/en)."""
    if service is None:
        return ""
    english = str(get_locale() or "id").startswith("en")
    return service.name_en if english else service.name_id


def service_label(code: str | None) -> str:
    """A service's name by its code, in the current language (the code if unknown)."""
    if not code:
        return ""
    from flask import g
    from sqlalchemy import select

    from referral_hub.directory.models import Service
    from referral_hub.extensions import db

    names = g.get("_service_rows")
    if names is None:
        names = {s.code: s for s in db.session.scalars(select(Service))}
        g._service_rows = names
    service = names.get(code)
    return service_name(service) if service is not None else code
