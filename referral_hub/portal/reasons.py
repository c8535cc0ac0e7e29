"""What the portal says of a refusal whose slug is shared by several refusals, by `reason`.

`invalid-transition` and the generic slugs (`not-found`, `forbidden`, ...) each stand for
many refusals. Their raise sites name which one in a `reason` member from the fixed
vocabulary below (the fields a message needs travel beside it), and the portal words the
refusal from slug and reason; the English `detail` is for API clients only. A refusal of a
generic slug with no reason here is said by its status's message (`messages.status_message`).

invalid-transition (409), a referral's: `status` (`action` would make it `target`, not from
`status_now`), `sender-only` / `recipient-only` (the other side takes `action`; with
`action` schedule-appointment or update-appointment for a session), `unknown-action`,
`changed-meanwhile` (a concurrent change won), `override-approval` (approving an override
is not a status change), `not-schedulable` (no sessions in `status_now`),
`session-not-started` (attendance before `starts_at`), `appointment-recorded` (a session
already `appointment_status`); an agreement's: `agreement-status` (`action` is not taken
from `status_now`), `party-only` (only a party signs), `end-date-passed`; a case's:
`case-closed` / `case-open` (with `number`), `plan-item-status` (an item `status_now` done or
cancelled is not referred).

not-found (404): what is missing, `no-<thing>`. forbidden (403): who may do it instead
(page-not-for-role is said by the 403's own message, which says just that).
validation-error (422) and bad-request (400): `unstorable-text`. payload-too-large (413):
`document-too-large` (with `limit`, bytes). service-unavailable (503):
`document-unreadable`. too-many-requests (429): `sign-in-attempts`.
A validation-error's own detail only names the form ("The user cannot be created."): its
fields' messages (`errors`) say what is wrong, and the page says the 422's message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _

Fields = Mapping[str, Any]
Said = Callable[[Fields], str]


def _code_name(kind: str, code: str) -> str:
    from referral_hub.portal.code_names import label

    return label(kind, code)


def reasons_table() -> dict[str, dict[str, Said]]:
    """Every reason's message, by slug then reason."""
    unstorable: dict[str, Said] = {
        "unstorable-text": lambda f: _(
            "Teks harus berupa UTF-8 dan tidak boleh memuat karakter NUL atau surrogate tunggal."
        ),
    }
    return {
        "invalid-transition": {
            **_referral_transitions(),
            **_agreement_transitions(),
            **_case_transitions(),
        },
        "not-found": _not_found(),
        "forbidden": _forbidden(),
        "validation-error": unstorable,
        "bad-request": unstorable,
        "payload-too-large": {
            "document-too-large": lambda f: _(
                "Dokumen paling besar %(mb)s MB.", mb=f"{int(f['limit']) / (1024 * 1024):.1f}"
            ),
        },
        "service-unavailable": {
            "document-unreadable": lambda f: _("Dokumen tidak dapat dibaca saat ini."),
        },
        "too-many-requests": {
            "sign-in-attempts": lambda f: _(
                "Terlalu banyak percobaan masuk. Tunggu sebentar, lalu coba lagi."
            ),
        },
    }


def _referral_transitions() -> dict[str, Said]:
    return {
        "status": lambda f: _(
            'Rujukan berstatus "%(status)s" tidak dapat menjadi "%(target)s".',
            status=_code_name("status", f["status_now"]),
            target=_code_name("status", f["target"]),
        ),
        "sender-only": lambda f: _("Tindakan ini hanya dapat dilakukan organisasi pengirim."),
        "recipient-only": _recipient_only,
        "unknown-action": lambda f: _("Tindakan ini tidak dikenal."),
        "changed-meanwhile": lambda f: _(
            "Rujukan ini baru saja diubah; muat ulang halaman lalu periksa lagi."
        ),
        "override-approval": lambda f: _(
            "Rujukan atas dasar hukum lain disetujui atau ditolak oleh supervisor di halaman "
            "persetujuan, bukan sebagai perubahan status."
        ),
        "not-schedulable": lambda f: _(
            'Rujukan berstatus "%(status)s" tidak dapat diberi jadwal sesi.',
            status=_code_name("status", f["status_now"]),
        ),
        "session-not-started": lambda f: _(
            "Sesi belum dimulai. Kehadiran baru dapat dicatat setelah sesi dimulai."
        ),
        "appointment-recorded": lambda f: _(
            'Sesi yang sudah dicatat "%(status)s" tidak dapat diubah lagi.',
            status=_code_name("appointment_status", f["appointment_status"]),
        ),
    }


def _recipient_only(f: Fields) -> str:
    action = f.get("action")
    if action == "schedule-appointment":
        return _("Hanya organisasi penerima yang menjadwalkan sesi.")
    if action == "update-appointment":
        return _("Hanya organisasi penerima yang mencatat hasil sesi.")
    return _("Tindakan ini hanya dapat dilakukan organisasi penerima.")


def _agreement_transitions() -> dict[str, Said]:
    return {
        "agreement-status": lambda f: _(
            'Tindakan ini tidak dapat dilakukan pada perjanjian berstatus "%(status)s".',
            status=_code_name("agreement_status", f["status_now"]),
        ),
        "party-only": lambda f: _(
            "Hanya organisasi yang menjadi pihak dalam perjanjian ini yang dapat menandatanganinya."
        ),
        "end-date-passed": lambda f: _(
            "Tanggal berakhir perjanjian sudah lewat; ubah tanggalnya sebelum menandatangani."
        ),
    }


def _case_transitions() -> dict[str, Said]:
    return {
        "case-closed": lambda f: _("Kasus %(number)s sudah ditutup.", number=f["number"]),
        "case-open": lambda f: _("Kasus %(number)s masih terbuka.", number=f["number"]),
        "plan-item-status": lambda f: _(
            'Rencana berstatus "%(status)s" tidak dapat dirujuk.',
            status=_code_name("plan_status", f["status_now"]),
        ),
    }


def _said(text: str, fields: Fields) -> str:
    return text


def _not_found() -> dict[str, Said]:
    missing = {
        "no-user": _("Pengguna tidak ditemukan."),
        "no-organization": _("Organisasi tidak ditemukan."),
        "no-invitation": _("Undangan tidak ditemukan."),
        "no-oauth-client": _("Klien OAuth tidak ditemukan."),
        "no-webhook": _("Webhook tidak ditemukan."),
        "no-delivery": _("Pengiriman tidak ditemukan."),
        "no-referral": _("Rujukan tidak ditemukan."),
        "no-appointment": _("Sesi tidak ditemukan."),
        "no-agreement": _("Perjanjian tidak ditemukan."),
        "no-document": _("Dokumen tidak ditemukan."),
        "no-paper-signature": _("Tanda tangan di atas kertas ini tidak ditemukan."),
        "no-coverage": _("Cakupan organisasi ini tidak ada, atau tidak terbuka untuk Anda."),
        "no-client": _("Klien tidak ditemukan."),
        "no-consent": _("Persetujuan tidak ditemukan."),
    }
    return {reason: functools.partial(_said, text) for reason, text in missing.items()}


def _forbidden() -> dict[str, Said]:
    who = {
        "admin-only": _("Hanya admin organisasi ini yang dapat melakukannya."),
        "audit-readers": _("Hanya auditor dan admin yang dapat membaca log audit."),
        "referral-staff": _("Hanya pendamping dan supervisor yang dapat menindaklanjuti rujukan."),
        "organizations-only": _("Rujukan dikirim dan dijawab oleh organisasi."),
        "agreement-writers": _(
            "Hanya admin organisasi atau supervisor yang dapat mengubah perjanjian."
        ),
        "party-staff": _("Hanya admin atau supervisor organisasi pihak yang dapat melakukannya."),
        "paper-signature-recorders": _(
            "Tanda tangan di atas kertas dicatat oleh admin pihak lain atau admin pengelola hub."
        ),
        "hub-operator-only": _("Hanya operator hub yang dapat melihat cakupan satu wilayah."),
        "client-writers": _("Peran Anda tidak mengubah data atau persetujuan klien."),
        "client-readers": _("Peran Anda tidak membaca data pribadi klien."),
        "adds-partners": _("Hanya admin operator hub atau admin UPTD PPA yang menambahkan mitra."),
        "keeps-or-invites": _(
            "Anda tidak mengelola organisasi ini dan tidak dapat mengundang orang ke dalamnya."
        ),
        "invites": _("Anda tidak dapat mengundang orang ke organisasi ini."),
    }
    return {reason: functools.partial(_said, text) for reason, text in who.items()}
