"""Refusals from the operations, said in the portal's language.

The operations speak English to API clients (problem+json `detail`, the wire contract). The
portal says the same refusal from what the problem *is*, not from its English wording:
`problem_message` looks the problem's slug up in one table (`slug_messages_table`, the
Indonesian text with placeholders filled from the problem's named fields; English is in the
catalogue), and falls back to a message per status, never to the English detail.

Field-level messages (a problem's `errors`, marshmallow's own validation messages) are said
by `translate_errors`, which matches their text: they are per-field validation words, not
the hub's refusals, and the detail table below holds only them.

A slug whose refusals differ carries a `reason` from a fixed vocabulary, and its message is
chosen by it: not-a-uptd and the consent-giver slugs here, invalid-transition and the
generic slugs (not-found, forbidden, ...) in `referral_hub.portal.reasons`. A generic
slug's refusal without a reason there is said by its status's message; no refusal is ever
matched by, or shown in, its English detail.

The module is long (over 800 lines) because it holds the two tables whole, grouped by the
pages that show them: every registered problem's message by slug, and the field messages
by their text.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _

from referral_hub.accounts.models import ROLES
from referral_hub.accounts.operations import MIN_PASSWORD_LENGTH
from referral_hub.clients.models import ASSENT_AGE
from referral_hub.clients.name_index import MAX_SEARCH_TEXT
from referral_hub.portal.reasons import reasons_table
from referral_hub.problems import Problem

log = logging.getLogger(__name__)


def _exact() -> dict[str, str]:
    return {
        **_inbox_and_registry_exact(),
        **_sender_exact(),
        # accounts
        "Not a valid e-mail address.": _("Alamat e-mail tidak sah."),
        "A user with this e-mail exists.": _("Sudah ada pengguna dengan e-mail ini."),
        f"At least {MIN_PASSWORD_LENGTH} characters.": _(
            "Minimal %(count)d karakter.", count=MIN_PASSWORD_LENGTH
        ),
        f"Must be one of: {', '.join(ROLES)}.": _("Pilih salah satu peran yang tersedia."),
        "Not a valid work phone: use digits, spaces, +, - and ( ), at most 32.": _(
            "Telepon kantor tidak sah: gunakan angka, spasi, +, - dan ( ), paling banyak 32 "
            "karakter."
        ),
        # the partner network: organisations and invitations
        "Required.": _("Wajib diisi."),
        "At most 200 characters.": _("Maksimal 200 karakter."),
        "Lower-case letters, digits and hyphens, 3 to 64 characters.": _(
            "Huruf kecil, angka dan tanda hubung, 3 sampai 64 karakter."
        ),
        "A Kemendagri region code, e.g. 64.09 or 64.09.01.": _(
            "Isi kode wilayah Kemendagri, mis. 64.09 atau 64.09.01."
        ),
        "An organisation with this code exists.": _("Sudah ada organisasi dengan kode ini."),
        "A contact needs a name.": _("Setiap narahubung perlu nama."),
        "A contact needs a phone or an e-mail.": _("Setiap narahubung perlu telepon atau e-mail."),
        "Not a valid phone number.": _("Nomor telepon tidak sah."),
        "Each contact is an object.": _("Isian narahubung tidak sah."),
        # OAuth clients
        "At least one scope.": _("Pilih minimal satu cakupan akses."),
        "The code grant needs at least one redirect URI.": _(
            "Grant authorization_code memerlukan minimal satu URI pengalihan."
        ),
        "A public client cannot use client_credentials.": _(
            "Klien publik tidak dapat memakai grant client_credentials."
        ),
        # a unit's intake clock
        "Whole hours between 1 and 720.": _("Isi jam bulat dari 1 sampai 720."),
        "High risk is answered within 24 hours.": _(
            "Aduan berisiko tinggi ditanggapi paling lama 24 jam."
        ),
        "Medium risk cannot have less time than high risk.": _(
            "Risiko sedang tidak boleh diberi waktu lebih singkat daripada risiko tinggi."
        ),
        "Low risk cannot have less time than medium risk.": _(
            "Risiko rendah tidak boleh diberi waktu lebih singkat daripada risiko sedang."
        ),
        # an intake's answers
        "Risk level is one of high, medium, low.": _("Pilih tingkat risiko."),
        "Say why the intake is declined.": _("Tulis alasan aduan ditolak."),
        "The intake is already with this unit.": _("Aduan sudah berada di unit ini."),
        # text the hub cannot store (security.py)
        # pages
        # audit
    }


def _patterns() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    return [
        *_inbox_and_registry_patterns(),
        *_sender_patterns(),
        *_region_patterns(),
        (
            re.compile(r"^Unknown service '(?P<code>.*)'\.$"),
            lambda m: _("Layanan '%(code)s' tidak dikenal.", code=m["code"]),
        ),
        (
            re.compile(r"^'(?P<code>.*)' is not offered\.$"),
            lambda m: _("Layanan '%(code)s' tidak ditawarkan.", code=m["code"]),
        ),
        (
            re.compile(r"^(capacity_status m|M)ust be one of: .*\.$"),
            lambda m: _("Pilih salah satu pilihan yang tersedia."),
        ),
        (
            re.compile(r"^At most (?P<count>\d+) contacts\.$"),
            lambda m: _("Maksimal %(count)s narahubung.", count=m["count"]),
        ),
        (
            re.compile(r"^'(?P<uri>.+)' must be https \(http only on loopback\)\.$"),
            lambda m: _("'%(uri)s' harus memakai https (http hanya untuk loopback).", uri=m["uri"]),
        ),
        (
            re.compile(r"^'(?P<uri>.+)' must not have a fragment\.$"),
            lambda m: _("'%(uri)s' tidak boleh memuat fragmen (#...).", uri=m["uri"]),
        ),
    ]


def _region_patterns() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    levels = {
        "province": _("provinsi"),
        "regency or city": _("kabupaten/kota"),
        "district": _("kecamatan"),
        "village": _("desa/kelurahan"),
    }
    return [
        (
            re.compile(r"^'(?P<code>.*)' is not a Kemendagri region code \(e\.g\. 64\.09\)\.$"),
            lambda m: _("'%(code)s' bukan kode wilayah Kemendagri (mis. 64.09).", code=m["code"]),
        ),
        (
            re.compile(r"^No Kemendagri region has the code '(?P<code>.*)'\.$"),
            lambda m: _("Tidak ada wilayah Kemendagri dengan kode '%(code)s'.", code=m["code"]),
        ),
        (
            re.compile(
                r"^'(?P<code>[\d.]+)' \((?P<name>.+)\) is a (?P<level>[a-z ]+), "
                r"which this field does not take\.$"
            ),
            lambda m: _(
                "%(name)s (%(code)s) adalah %(level)s; isian ini tidak menerimanya.",
                name=m["name"],
                code=m["code"],
                level=levels.get(m["level"], m["level"]),
            ),
        ),
    ]


def translate_message(message: str) -> str:
    """A field's message in the current language when it is known; otherwise as it came.

    For the words of a field error (`errors`, marshmallow); a refusal itself is said by
    `problem_message`.
    """
    text = str(message)
    return _detail_message(text) or text


def name_search_message(problem: str) -> str:
    """What a name search box says when its text cannot be looked up (search_problem)."""
    if problem == "too-long":
        return _(
            "Nama yang dicari terlalu panjang: paling banyak %(count)d karakter.",
            count=MAX_SEARCH_TEXT,
        )
    return _("Ketik minimal 3 huruf dari nama.")


def _detail_message(text: str) -> str | None:
    known = _exact().get(text)
    if known is not None:
        return known
    for pattern, render in _patterns():
        match = pattern.match(text)
        if match:
            return render(match)
    return None


Fields = Mapping[str, Any]


def problem_message(problem: Problem) -> str:
    """A refusal in the reader's language, from its slug and fields (never its detail)."""
    return (
        precise_problem_message(problem)
        or slug_message(problem.slug, problem.extra)
        or status_message(problem.status)
    )


def precise_problem_message(problem: Problem) -> str | None:
    """The refusal's own message; None when only its slug's generic one or its status's
    would say it (an error page that already explains its status shows nothing more)."""
    if problem.slug in _GENERIC_SLUGS:
        return reason_message(problem.slug, problem.extra)
    return slug_message(problem.slug, problem.extra)


def reason_message(slug: str, fields: Fields) -> str | None:
    """The message of `slug`'s refusal named by its `reason` member; None without one."""
    render = reasons_table().get(slug, {}).get(str(fields.get("reason")))
    if render is None:
        return None
    try:
        return render(fields)
    except (KeyError, TypeError, ValueError):
        log.warning("portal message of %r, reason %r, lacks a field", slug, fields["reason"])
        return None


def slug_message(slug: str, fields: Fields) -> str | None:
    """The table's message for `slug` with `fields`; None when the slug or a field is missing."""
    render = slug_messages_table().get(slug)
    if render is None:
        return None
    try:
        return render(fields)
    except (KeyError, TypeError, ValueError):
        log.warning("portal message of problem %r lacks a field", slug)
        return None


def status_message(status: int) -> str:
    """What the portal says of a refusal it has no more precise words for."""
    messages = _status_messages()
    if status in messages:
        return messages[status]
    return messages[400 if status < 500 else 500]


def _status_messages() -> dict[int, str]:
    return {
        400: _("Permintaan tidak dapat diproses."),
        401: _("Sesi Anda telah berakhir. Silakan masuk lagi."),
        403: _("Akun Anda tidak memiliki akses ke halaman ini."),
        404: _("Data yang Anda cari tidak ada, atau bukan milik organisasi Anda."),
        405: _("Halaman ini tidak menerima permintaan seperti itu."),
        406: _("Permintaan tidak dapat diproses."),
        409: _(
            "Tindakan ini tidak dapat dilakukan sekarang; muat ulang halaman lalu periksa lagi."
        ),
        412: _("Data ini baru saja diubah; muat ulang halaman lalu periksa lagi."),
        413: _("Ukuran berkas melebihi batas yang diizinkan."),
        415: _("Permintaan tidak dapat diproses."),
        422: _("Beberapa isian tidak dapat diterima; lihat pesan di samping isian."),
        428: _("Data ini baru saja diubah; muat ulang halaman lalu periksa lagi."),
        429: _("Tunggu sebentar, lalu coba lagi."),
        500: _("Permintaan tidak selesai dan tidak ada yang diubah. Coba lagi nanti."),
        503: _("Coba lagi beberapa saat lagi."),
    }


#: The generic problem types of `referral_hub.problems`: said by their status.
_GENERIC_SLUGS = {
    "bad-request": 400,
    "malformed-json": 400,
    "unauthorized": 401,
    "invalid-token": 401,
    "insufficient-scope": 403,
    "forbidden": 403,
    "not-found": 404,
    "method-not-allowed": 405,
    "not-acceptable": 406,
    "conflict": 409,
    "precondition-failed": 412,
    "precondition-required": 428,
    "payload-too-large": 413,
    "unsupported-media-type": 415,
    "validation-error": 422,
    "too-many-requests": 429,
    "internal-error": 500,
    "service-unavailable": 503,
}


def slug_messages_table() -> dict[str, Callable[[Fields], str]]:
    """Every registered problem's portal message, by slug (the table the portal says)."""
    generic: dict[str, Callable[[Fields], str]] = {
        slug: functools.partial(_said_by_reason_or_status, slug, status)
        for slug, status in _GENERIC_SLUGS.items()
    }
    return {**generic, **_sharing_by_slug(), **_registry_by_slug(), **_hub_by_slug()}


def _said_by_reason_or_status(slug: str, status: int, fields: Fields) -> str:
    return reason_message(slug, fields) or status_message(status)


def _sharing_by_slug() -> dict[str, Callable[[Fields], str]]:
    """Clients, consent and referrals."""
    return {
        "not-a-uptd": _not_a_uptd,
        "client-already-registered": lambda f: (
            _("NIK ini sudah terdaftar sebagai klien %(code)s.", code=f["client"]["code"])
            if f.get("client")
            else _("NIK ini baru saja didaftarkan oleh pengguna lain.")
        ),
        "intake-already-reported": lambda f: _(
            "Laporan dengan nomor rujukan ini sudah diterima sebagai aduan %(number)s.",
            number=(f.get("intake") or {}).get("number", ""),
        ),
        "consent-giver-not-allowed": _giver_not_allowed,
        "consent-giver-needs-clearance": _giver_needs_clearance,
        "child-assent-refused": lambda f: _(
            "Anak tidak menyetujui persetujuan ini, dan sejak usia %(age)d tahun penolakan anak "
            "menghalangi berbagi data atas dasar persetujuan; supervisor masih dapat merujuk "
            "atas dasar hukum lain.",
            age=ASSENT_AGE,
        ),
        "consent-already-withdrawn": lambda f: _("Persetujuan ini sudah dicabut."),
        "client-erased": lambda f: _(
            "Data pribadi klien ini sudah dihapus; tidak ada yang dapat diubah lagi."
        ),
        "client-has-open-work": lambda f: _(
            "Klien masih memiliki rujukan atau kasus yang terbuka; tutup atau batalkan dulu "
            "sebelum menghapus data klien."
        ),
        "consent-withdrawn": lambda f: _("Persetujuan klien ini sudah dicabut."),
        "case-closed": lambda f: _("Kasus ini sudah ditutup; buka kembali lebih dulu."),
        "plan-item-follows-referral": lambda f: _(
            "Status rencana ini mengikuti rujukannya; ubah status di halaman rujukan."
        ),
        "plan-item-already-referred": lambda f: _(
            "Rencana ini sudah dirujuk, dan rujukannya masih berjalan atau sudah selesai."
        ),
        "consent-expired": lambda f: _(
            "Persetujuan klien hanya berlaku sampai %(day)s.", day=f["valid_until"]
        ),
        "consent-not-covering": lambda f: _(
            "Persetujuan klien tidak mencakup penerima atau layanan ini."
        ),
        "data-category-not-allowed": lambda f: (
            _(
                "Perjanjian %(number)s tidak mengizinkan pembagian: %(names)s.",
                number=f["agreement_number"],
                names=_category_names(f["categories"]),
            )
            if f.get("agreement_number")
            else _(
                "Persetujuan klien tidak mengizinkan: %(names)s.",
                names=_category_names(f["categories"]),
            )
        ),
        "no-active-agreement": lambda f: _(
            "Tidak ada perjanjian berlaku antara unit Anda dan penerima ini yang mencakup "
            "layanan ini dengan penerima sebagai penyedia."
        ),
        "override-not-authorised": lambda f: _(
            "Hanya supervisor aktif unit pengirim yang dapat menyetujui rujukan ini."
        ),
        "invalid-transition": lambda f: (
            reason_message("invalid-transition", f)
            or _(
                "Tindakan ini tidak dapat dilakukan pada status saat ini; muat ulang halaman lalu "
                "periksa lagi."
            )
        ),
        "agreement-ended": lambda f: _(
            "Perjanjian yang menjadi dasar rujukan ini sudah tidak berlaku; "
            "rujukan ini akan dibatalkan."
        ),
        "recipient-on-hub": lambda f: _(
            "Mitra ini sudah memakai hub dan menjawab sendiri; jawaban tidak lagi dicatat atas "
            "namanya."
        ),
    }


def _not_a_uptd(f: Fields) -> str:
    reason = f.get("reason")
    if reason == "registers-clients":
        return _(
            "Klien didaftarkan dan disimpan oleh UPTD PPA; mitra hanya melihat klien "
            "melalui rujukan."
        )
    if reason == "keeps-cases":
        return _(
            "Kasus dibuka dan disimpan oleh UPTD PPA; mitra mengikuti bagiannya melalui rujukan."
        )
    if reason == "answers-intakes":
        return _("Aduan diterima dan ditanggapi oleh UPTD PPA.")
    if reason == "sends-referrals":
        return _("Hanya UPTD PPA yang mengirim rujukan.")
    if reason == "not-uptd" and f.get("organization"):
        return _("%(code)s bukan UPTD PPA.", code=f["organization"])
    return _("Hanya UPTD PPA yang mendaftarkan klien dan mengirim rujukan.")


def _giver_not_allowed(f: Fields) -> str:
    reason = f.get("reason")
    if reason == "alleged-perpetrator":
        return _("Terduga pelaku tidak pernah dapat memberi persetujuan untuk korban.")
    if reason == "child-client":
        return _(
            "Klien berumur di bawah %(age)s tahun: persetujuan diberikan orang tua atau wali "
            "(UU PDP Pasal 25), dan persetujuan anak juga dicatat.",
            age=f["age"],
        )
    if reason == "adult-client":
        return _(
            "Klien dewasa memberi persetujuan sendiri; wali hanya dapat memberi persetujuan "
            "untuk klien dewasa dengan disabilitas tercatat (UU PDP Pasal 26)."
        )
    if reason == "flagged-guardian":
        return _(
            "Pemberi persetujuan sama dengan wali yang tercatat sebagai terduga pelaku; "
            "persetujuan harus dari orang tua atau wali lain."
        )
    return _("Pemberi persetujuan ini tidak dapat memberi persetujuan untuk klien ini.")


def _giver_needs_clearance(f: Fields) -> str:
    reason = f.get("reason")
    if reason == "name":
        return _(
            "Nama pemberi persetujuan mirip dengan nama wali yang tercatat sebagai terduga "
            "pelaku: supervisor unit harus memastikan bahwa mereka bukan orang yang sama dan "
            "mencatat sendiri persetujuan ini."
        )
    if reason == "relationship":
        return _(
            "Hubungan pemberi persetujuan dengan klien sama dengan hubungan wali yang tercatat "
            "sebagai terduga pelaku: supervisor unit harus memastikan bahwa mereka bukan orang "
            "yang sama dan mencatat sendiri persetujuan ini."
        )
    if reason == "supervisor-only":
        return _(
            "Pemberi persetujuan hanya dapat diperiksa oleh supervisor aktif unit klien, yang "
            "mencatat sendiri persetujuan ini."
        )
    return _(
        "Supervisor unit harus memeriksa pemberi persetujuan ini dan mencatat sendiri "
        "persetujuannya."
    )


def _registry_by_slug() -> dict[str, Callable[[Fields], str]]:
    """The agreement registry and webhooks."""
    return {
        "agreement-read-only": lambda f: _("Operator hub hanya membaca dan mengaudit perjanjian."),
        "duplicate-agreement-number": lambda f: _(
            "Sudah ada perjanjian bernomor '%(number)s' antara pihak yang sama.",
            number=f["number"],
        ),
        "agreement-locked": lambda f: _(
            "Perjanjian sudah ditandatangani, jadi isinya tidak dapat diubah lagi. "
            "Akhiri atau perpanjang perjanjian ini."
        ),
        "already-signed": lambda f: _("Organisasi Anda sudah menandatangani perjanjian ini."),
        "content-changed": lambda f: _(
            "Isi perjanjian berubah sejak Anda memeriksanya; baca lagi sebelum menandatangani."
        ),
        "already-renewed": lambda f: _(
            "Perjanjian ini sudah memiliki perpanjangan; ubah atau tarik draf perpanjangan itu."
        ),
        "document-not-pdf": lambda f: _("Hanya dokumen PDF yang diterima; berkas ini bukan PDF."),
        "paper-signature-not-allowed": lambda f: _(
            "Tanda tangan di atas kertas dicatat oleh admin pihak lain atau admin pengelola hub."
        ),
        "own-signature-on-paper": lambda f: _(
            "Organisasi Anda sudah memakai hub: tandatangani perjanjian ini di hub."
        ),
        "not-a-party": lambda f: _("Organisasi itu bukan pihak dalam perjanjian ini."),
        "party-already-signed": lambda f: _("Pihak itu sudah menandatangani perjanjian ini."),
        "not-your-signature": lambda f: _(
            "Hanya organisasi yang menandatangani yang dapat mengonfirmasi atau menyanggah "
            "tanda tangannya."
        ),
        "signature-already-answered": lambda f: _(
            "Tanda tangan di atas kertas ini sudah dikonfirmasi atau disanggah."
        ),
        "signature-disputed": lambda f: _(
            "Satu pihak menyanggah tanda tangan di atas kertas atas namanya; perjanjian tetap "
            "ditangguhkan sampai pihak itu mengonfirmasinya."
        ),
        "webhook-url-not-allowed": lambda f: _(
            "URL ini tidak diizinkan: webhook hanya dikirim lewat https ke host yang beralamat "
            "publik."
        ),
        "webhook-limit-reached": lambda f: _(
            "Organisasi paling banyak memiliki %(count)s webhook; hapus yang tidak dipakai.",
            count=f["limit"],
        ),
        "invalid-cursor": lambda f: _("Penanda halaman tidak sah; muat ulang daftar."),
    }


def _hub_by_slug() -> dict[str, Callable[[Fields], str]]:
    """Accounts, OAuth clients, the audit chain and repeated requests."""
    return {
        "cannot-deactivate-self": lambda f: _("Anda tidak dapat menonaktifkan akun Anda sendiri."),
        "organization-not-maintainable": lambda f: _(
            "Data organisasi ini dikelola oleh admin organisasi itu sendiri, admin operator "
            "hub, atau UPTD yang menambahkannya selama mitra itu belum punya pengguna di hub."
        ),
        "organization-code-taken": lambda f: _("Sudah ada organisasi dengan kode ini."),
        "invitation-not-allowed": lambda f: _(
            "Anda tidak dapat mengundang orang ke organisasi ini."
        ),
        "partner-has-admin": lambda f: _(
            "Organisasi ini sudah punya admin sendiri; admin itulah yang mengundang stafnya."
        ),
        "invitation-unknown": lambda f: _("Tautan undangan ini tidak dikenal."),
        "invitation-expired": lambda f: _("Tautan undangan ini sudah kedaluwarsa."),
        "invitation-used": lambda f: _("Tautan undangan ini sudah dipakai."),
        "invitation-revoked": lambda f: _("Undangan ini sudah dicabut."),
        "invitation-not-open": lambda f: _(
            "Undangan ini sudah diterima, dicabut, atau kedaluwarsa."
        ),
        "cannot-reset-own-second-factor": lambda f: _(
            "Anda tidak dapat mengatur ulang faktor kedua Anda sendiri."
        ),
        "oauth-client-has-no-secret": lambda f: _(
            "Klien publik tidak memakai rahasia, jadi tidak ada rahasia yang dapat diganti."
        ),
        "oauth-client-disabled": lambda f: _(
            "Klien yang dinonaktifkan tidak dapat diberi rahasia baru."
        ),
        # RFC 6749 / 7009 errors of /oauth/token, /oauth/revoke, /oauth/introspect
        # (oauth/errors.py): said on their /problems pages.
        "oauth-invalid-request": lambda f: _(
            "Permintaan OAuth tidak lengkap atau salah bentuk: parameter hilang, berulang, atau "
            "badan yang bukan formulir."
        ),
        "oauth-invalid-client": lambda f: _(
            "Klien OAuth tidak dikenal, dinonaktifkan, atau rahasianya salah."
        ),
        "oauth-invalid-grant": lambda f: _(
            "Kode otorisasi atau token penyegar tidak berlaku: kedaluwarsa, sudah dipakai, "
            "dicabut, atau milik klien lain."
        ),
        "oauth-unauthorized-client": lambda f: _(
            "Klien OAuth ini tidak boleh memakai jenis grant tersebut."
        ),
        "oauth-unsupported-grant-type": lambda f: _("Hub tidak mengenal jenis grant tersebut."),
        "oauth-invalid-scope": lambda f: _(
            "Scope yang diminta tidak dikenal atau melebihi scope klien."
        ),
        "oauth-unsupported-token-type": lambda f: _("Hub tidak dapat mencabut token jenis ini."),
        "oauth-access-denied": lambda f: _("Permintaan akses ditolak."),
        "oauth-unsupported-response-type": lambda f: _(
            "Hub tidak mendukung response_type tersebut; pakai `code` dengan PKCE."
        ),
        "oauth-insecure-transport": lambda f: _("OAuth hanya lewat HTTPS."),
        "audit-chain-empty": lambda f: _("Log audit masih kosong; tidak ada yang ditandatangani."),
        "audit-chain-diverged": lambda f: _(
            "Tidak ada yang ditandatangani: rantai log audit tidak sesuai dengan titik periksa "
            "terakhir."
        ),
        "idempotency-key-reused": lambda f: _(
            "Permintaan ini sudah pernah dikirim dengan isi lain; muat ulang halaman lalu kirim "
            "lagi."
        ),
        "idempotency-key-in-use": lambda f: _(
            "Permintaan yang sama masih diproses; periksa hasilnya sebelum mengirim lagi."
        ),
    }


def _category_names(codes: Any) -> str:
    if isinstance(codes, str):
        codes = [codes]
    return ", ".join(_label("category", str(code)) for code in codes)


def translate_errors(errors: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """A problem's `errors` member as {field: [messages]} in the current language."""
    out: dict[str, list[str]] = {}
    for name, messages in (errors or {}).items():
        if isinstance(messages, Mapping):  # nested (list items): flatten under the field
            flat = [m for inner in translate_errors(messages).values() for m in inner]
            out[name] = flat
            continue
        if isinstance(messages, str):
            messages = [messages]
        out[name] = [translate_message(m) for m in messages]
    return out


# --- received referrals, the agreement registry, webhooks ----------------------------------


def _inbox_and_registry_exact() -> dict[str, str]:
    return {
        # referrals: the recipient's answers and sessions
        "An outcome code is required to complete a referral.": _(
            "Pilih hasil layanan untuk menyelesaikan rujukan."
        ),
        "Nothing to change.": _("Tidak ada yang diubah."),
        "A session cannot start before the referral was sent.": _(
            "Sesi tidak dapat dimulai sebelum rujukan dikirim."
        ),
        "Not a time the hub can keep: give a date between the years 1 and 9999.": _(
            "Waktu ini tidak dapat disimpan; isi tanggal antara tahun 1 dan 9999."
        ),
        # agreements
        "An agreement needs at least two organisations.": _(
            "Perjanjian memerlukan minimal dua organisasi."
        ),
        "Your organisation must be a party to the agreement.": _(
            "Organisasi Anda harus menjadi salah satu pihak."
        ),
        "List at least one service the agreement covers.": _(
            "Isi minimal satu layanan yang dicakup perjanjian."
        ),
        "Must be after effective_from.": _("Harus setelah tanggal mulai berlaku."),
        "An agreement may run for at most ten years.": _(
            "Perjanjian berlaku paling lama sepuluh tahun."
        ),
        "Already used by another agreement between the same parties.": _(
            "Nomor ini sudah dipakai perjanjian lain antara pihak yang sama."
        ),
        "Give a reason.": _("Alasan wajib diisi."),
        "The file is empty.": _("Berkas kosong."),
        "Not a PDF (the content does not start with %PDF-).": _(
            "Bukan PDF: isinya tidak diawali tanda PDF."
        ),
        # webhooks
        "The URL must use https.": _("URL harus memakai https."),
    }


def _code_name(kind: str, code: str) -> str:
    from referral_hub.portal.code_names import label

    return label(kind, code)


def _megabytes(count: str) -> str:
    return f"{int(count) / (1024 * 1024):.1f}"


def _inbox_and_registry_patterns() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    return [
        # referrals
        (
            re.compile(r"^A reason is required to [\w-]+ a referral\.$"),
            lambda m: _("Alasan wajib diisi untuk tindakan ini."),
        ),
        # agreements
        (
            re.compile(r"^Unknown organisation '(?P<ref>.*)'\.$"),
            lambda m: _("Organisasi '%(ref)s' tidak dikenal.", ref=m["ref"]),
        ),
        (
            re.compile(r"^'(?P<code>.+)' is listed twice\.$"),
            lambda m: _("'%(code)s' tercantum dua kali.", code=m["code"]),
        ),
        (
            re.compile(r"^'(?P<code>.+)' audits the hub and cannot be a party\.$"),
            lambda m: _(
                "'%(code)s' adalah auditor hub dan tidak dapat menjadi pihak.", code=m["code"]
            ),
        ),
        (
            re.compile(r"^At most (?P<count>\d+) organisations\.$"),
            lambda m: _("Paling banyak %(count)s organisasi.", count=m["count"]),
        ),
        (
            re.compile(r"^Unknown service '(?P<code>.*)'(; see GET /api/v1/services)?\.$"),
            lambda m: _("Layanan '%(code)s' tidak dikenal.", code=m["code"]),
        ),
        (
            re.compile(r"^'.+' is not a party to this agreement\.$"),
            lambda m: _(
                "Organisasi ini bukan pihak dalam perjanjian; centang juga di daftar pihak."
            ),
        ),
        (
            re.compile(
                r"^'(?P<provider>.+)' does not offer '(?P<service>.+)' in the directory; "
                r"update the directory \(partners\.yaml\) first\.$"
            ),
            lambda m: _(
                "%(provider)s tidak memberikan layanan ini menurut direktori; "
                "perbarui direktori (partners.yaml) terlebih dahulu.",
                provider=m["provider"],
            ),
        ),
        (
            re.compile(r"^'.+' by '.+' is listed twice\.$"),
            lambda m: _("Layanan dengan penyedia yang sama tercantum dua kali."),
        ),
        (
            re.compile(r"^Unknown data categories: (?P<codes>.+)\.$"),
            lambda m: _("Kategori data tidak dikenal: %(codes)s.", codes=m["codes"]),
        ),
        (
            re.compile(r"^Must be between 1 and (?P<count>\d+) hours\.$"),
            lambda m: _("Isi jumlah jam antara 1 dan %(count)s.", count=m["count"]),
        ),
        (
            re.compile(r"^Larger than (?P<count>\d+) bytes\.$"),
            lambda m: _("Lebih besar dari %(mb)s MB.", mb=_megabytes(m["count"])),
        ),
        # webhooks
        (
            re.compile(r"^Unknown event type: (?P<name>.+)$"),
            lambda m: _("Jenis peristiwa tidak dikenal: %(name)s", name=m["name"]),
        ),
        (
            re.compile(r"^The URL host '(?P<host>.+)' is not allowed: webhooks go only to"),
            lambda m: _(
                "Host %(host)s tidak diizinkan: webhook hanya dikirim ke host "
                "yang beralamat publik.",
                host=m["host"],
            ),
        ),
        (
            re.compile(r"^The URL (is not a valid URL|must name a host)"),
            lambda m: _("URL tidak sah."),
        ),
    ]


# --- clients, consent and sending referrals --------------------------------------------------


def _sender_exact() -> dict[str, str]:
    return {
        # answers recorded on a partner's behalf (referrals.operations.access.answering_side)
        "Say how the answer came (by phone, by letter) when recording it on behalf.": _(
            "Tulis bagaimana jawaban diterima (mis. melalui telepon, surat)."
        ),
        # the API's schemas (marshmallow and ours)
        "Missing data for required field.": _("Wajib diisi."),
        "Field may not be null.": _("Wajib diisi."),
        "Not a valid date.": _("Tanggal tidak sah."),
        "Not a valid string.": _("Isian tidak sah."),
        "Not a valid list.": _("Isian tidak sah."),
        "String does not match expected pattern.": _("Format tidak sah."),
        "A NIK is 16 digits.": _("NIK terdiri dari 16 angka."),
        "Not a phone number.": _("Bukan nomor telepon."),
        "Give the Kemendagri code of the regency (64.09) or district (64.09.01); "
        "the village belongs in the address.": _(
            "Isi kode Kemendagri kabupaten/kota (64.09) atau kecamatan (64.09.01); "
            "desa ditulis di alamat."
        ),
        "A birth date cannot be in the future.": _("Tanggal lahir tidak boleh di masa depan."),
        "This birth date is not plausible.": _("Tanggal lahir ini tidak masuk akal."),
        "The incident cannot be in the future.": _("Tanggal kejadian tidak boleh di masa depan."),
        "Give the incident's date from 1900 on.": _("Isi tanggal kejadian mulai tahun 1900."),
        "List each kind once.": _("Sebut setiap jenis sekali saja."),
        "64 hexadecimal digits.": _("Hash SHA-256 terdiri dari 64 angka heksadesimal."),
        "Give either a consent or a legal basis, not both.": _(
            "Pilih persetujuan klien atau dasar hukum lain, tidak keduanya."
        ),
        "A referral needs the client's consent or a supervised legal basis.": _(
            "Rujukan memerlukan persetujuan klien atau dasar hukum lain yang disetujui supervisor."
        ),
        "Required with a legal basis.": _("Wajib diisi bila memakai dasar hukum lain."),
        # clients and consent
        "An alleged perpetrator can never give consent for the victim.": _(
            "Terduga pelaku tidak pernah dapat memberi persetujuan untuk korban."
        ),
        "An adult client gives consent themself; a guardian may consent only for an adult "
        "with a recorded disability (UU PDP Pasal 26).": _(
            "Klien dewasa memberi persetujuan sendiri; wali hanya dapat memberi persetujuan "
            "untuk klien dewasa dengan disabilitas tercatat (UU PDP Pasal 26)."
        ),
        "The giver matches the client's guardian, who is recorded as the alleged "
        "perpetrator; consent must come from another parent or guardian.": _(
            "Pemberi persetujuan sama dengan wali yang tercatat sebagai terduga pelaku; "
            "persetujuan harus dari orang tua atau wali lain."
        ),
        "Close to the name of the guardian recorded as the alleged perpetrator; "
        "a supervisor must clear it.": _(
            "Mirip dengan nama wali yang tercatat sebagai terduga pelaku; "
            "supervisor harus memeriksanya."
        ),
        "The relationship of the guardian recorded as the alleged perpetrator; "
        "a supervisor must clear it.": _(
            "Sama dengan hubungan wali yang tercatat sebagai terduga pelaku; "
            "supervisor harus memeriksanya."
        ),
        "Only a supervisor of the unit, recording the consent themself, clears it.": _(
            "Hanya supervisor unit yang mencatat sendiri persetujuan ini yang dapat memeriksanya."
        ),
        "Required when the child did not agree.": _("Wajib diisi bila anak tidak setuju."),
        "Only recorded when the child did not agree.": _("Hanya dicatat bila anak tidak setuju."),
        "The child refused assent.": _("Anak tidak setuju."),
        "Required when a parent or guardian gives consent.": _(
            "Wajib diisi bila persetujuan diberikan orang tua atau wali."
        ),
        "Record whether the child agreed (true or false).": _(
            "Catat apakah anak menyetujui (ya atau tidak)."
        ),
        "Only recorded for a child client.": _("Hanya dicatat untuk klien anak."),
        "Required for a client under 18.": _(
            "Klien di bawah 18 tahun: catat nama orang tua atau wali dan hubungannya."
        ),
        "The client's own unit needs no consent to hold its data.": _(
            "Unit klien sendiri tidak memerlukan persetujuan untuk menyimpan datanya."
        ),
        "Must be today or later: consent is recorded for the future.": _(
            "Harus hari ini atau sesudahnya."
        ),
        "The consent does not name this recipient.": _(
            "Persetujuan klien tidak mencakup penerima ini."
        ),
        "The consent does not cover this service.": _(
            "Persetujuan klien tidak mencakup layanan ini."
        ),
        # sending referrals
        "A unit does not refer to itself.": _("Unit tidak merujuk ke dirinya sendiri."),
        "No active agreement covers this service with this recipient.": _(
            "Tidak ada perjanjian berlaku yang mencakup layanan ini dengan penerima ini."
        ),
        "approved_by may only name the caller: an override is approved by the supervisor "
        "personally, not named. Leave it out; the referral waits for approval.": _(
            "Rujukan tanpa persetujuan klien disetujui sendiri oleh supervisor, bukan dengan "
            "menyebut namanya; rujukan menunggu persetujuan supervisor."
        ),
        # an override's approval
        "A reason is required to decline an override.": _("Tuliskan alasan penolakan persetujuan."),
    }


def _label(kind: str, code: str) -> str:
    from referral_hub.portal.code_names import label

    return label(kind, code)


def _names(kind: str, codes: str) -> str:
    """'a, b' of codes as their names, joined the same way."""
    return ", ".join(_label(kind, code.strip(" '")) for code in codes.split(","))


def _sender_patterns() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    return [
        (
            re.compile(r"^Length must be between (?P<low>\d+) and (?P<high>\d+)\.$"),
            lambda m: _("Panjang %(low)s sampai %(high)s karakter.", low=m["low"], high=m["high"]),
        ),
        (
            re.compile(r"^Shorter than minimum length (?P<low>\d+)\.$"),
            lambda m: _("Minimal %(low)s karakter.", low=m["low"]),
        ),
        (
            re.compile(r"^Longer than maximum length (?P<high>\d+)\.$"),
            lambda m: _("Paling banyak %(high)s karakter.", high=m["high"]),
        ),
        (
            re.compile(r"^Must be one of: .+\.$"),
            lambda m: _("Pilih salah satu pilihan yang tersedia."),
        ),
        (
            re.compile(r"^The client is under (?P<age>\d+): consent comes from a parent"),
            lambda m: _(
                "Klien berumur di bawah %(age)s tahun: persetujuan diberikan orang tua atau wali "
                "(UU PDP Pasal 25), dan persetujuan anak juga dicatat.",
                age=m["age"],
            ),
        ),
        (
            re.compile(r"^At most (?P<years>\d+) years ahead; renew consent instead\.$"),
            lambda m: _(
                "Paling lama %(years)s tahun ke depan; perbarui persetujuan bila perlu.",
                years=m["years"],
            ),
        ),
        (
            re.compile(r"^'(?P<code>[a-z_]+)' is outside the consent\.$"),
            lambda m: _("%(name)s di luar persetujuan klien.", name=_label("category", m["code"])),
        ),
        (
            re.compile(r"^'(?P<code>[a-z_]+)' is outside the agreement\.$"),
            lambda m: _("%(name)s di luar perjanjian.", name=_label("category", m["code"])),
        ),
        (
            re.compile(r"^'.+' is not a consent of client \S+\.$"),
            lambda m: _("Persetujuan ini bukan milik klien ini."),
        ),
        (
            re.compile(r"^No client '.*' of your organisation\.$"),
            lambda m: _("Klien ini tidak ada di unit Anda."),
        ),
        (
            re.compile(r"^'(?P<code>[a-z_]+)' is not among data_categories\.$"),
            lambda m: _(
                "%(name)s tidak dipilih untuk dibagikan.", name=_label("category", m["code"])
            ),
        ),
        (
            re.compile(r"^Unknown data category '(?P<code>.+)'\.$"),
            lambda m: _("Kategori data '%(code)s' tidak dikenal.", code=m["code"]),
        ),
    ]
