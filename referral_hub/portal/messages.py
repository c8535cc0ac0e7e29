"""Refusals from the operations, said in the portal's language.

The operations speak English to API clients. The portal shows the same refusals in
the reader's language: a message listed here is translated, any other one is shown as
it came, so a new rule is never hidden, only untranslated until it is added here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _

from referral_hub.accounts.models import ROLES
from referral_hub.accounts.operations import MIN_PASSWORD_LENGTH


def _exact() -> dict[str, str]:
    return {
        # accounts
        "Not a valid e-mail address.": _("Alamat e-mail tidak sah."),
        "A user with this e-mail exists.": _("Sudah ada pengguna dengan e-mail ini."),
        f"At least {MIN_PASSWORD_LENGTH} characters.": _(
            "Minimal %(count)d karakter.", count=MIN_PASSWORD_LENGTH
        ),
        f"Must be one of: {', '.join(ROLES)}.": _("Pilih salah satu peran yang tersedia."),
        "The user cannot be created.": _("Pengguna tidak dapat dibuat."),
        "No such user.": _("Pengguna tidak ditemukan."),
        "You cannot deactivate your own account.": _(
            "Anda tidak dapat menonaktifkan akun Anda sendiri."
        ),
        "Only an administrator of this organisation may do this.": _(
            "Hanya admin organisasi ini yang dapat melakukannya."
        ),
        # OAuth clients
        "The client cannot be registered.": _("Klien OAuth tidak dapat didaftarkan."),
        "At least one scope.": _("Pilih minimal satu cakupan akses."),
        "The code grant needs at least one redirect URI.": _(
            "Grant authorization_code memerlukan minimal satu URI pengalihan."
        ),
        "A public client cannot use client_credentials.": _(
            "Klien publik tidak dapat memakai grant client_credentials."
        ),
        "No such OAuth client.": _("Klien OAuth tidak ditemukan."),
        # pages
        "This page is not open to your role.": _("Akun Anda tidak memiliki akses ke halaman ini."),
        # audit
        "Only auditors and administrators read the audit log.": _(
            "Hanya auditor dan admin yang dapat membaca log audit."
        ),
    }


def _patterns() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    return [
        (
            re.compile(r"^'(?P<uri>.+)' must be https \(http only on loopback\)\.$"),
            lambda m: _("'%(uri)s' harus memakai https (http hanya untuk loopback).", uri=m["uri"]),
        ),
        (
            re.compile(r"^'(?P<uri>.+)' must not have a fragment\.$"),
            lambda m: _("'%(uri)s' tidak boleh memuat fragmen (#...).", uri=m["uri"]),
        ),
    ]


def translate_message(message: str) -> str:
    """The message in the current language when it is known; otherwise as it came."""
    text = str(message)
    known = _exact().get(text)
    if known is not None:
        return known
    for pattern, render in _patterns():
        match = pattern.match(text)
        if match:
            return render(match)
    return text


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
