"""Webhook secrets: made, kept encrypted at rest, and used to sign by Standard Webhooks.

A secret is `whsec_` + base64 of 32 random bytes, shown once when the subscription is made.
The hub must be able to sign with it later, so it keeps it, AES-256-GCM encrypted under the
current key of the data key ring (HUB_DATA_KEYS) and bound to its row: the stored text is
``v1.<kid>.<base64url(nonce | ciphertext | tag)>`` with associated data
``v1|<kid>|webhooks|secret_ciphertext|<webhook id>``, the same form the client records use,
so a copied or relabelled value does not decrypt and older keys of the ring still read.

Rotating a secret keeps the one it replaces (column `previous_secret_ciphertext`, bound the
same way) for an overlap of 24 hours, during which deliveries carry a signature under each;
after it the previous secret is destroyed.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Sequence

from standardwebhooks import Webhook as StandardWebhook

from referral_hub.clients import crypto

SECRET_PREFIX = "whsec_"  # noqa: S105  (a format prefix, not a secret)
_TABLE, _COLUMN = "webhooks", "secret_ciphertext"
#: The secret a rotation replaced, kept for the overlap under its own binding.
_PREVIOUS_COLUMN = "previous_secret_ciphertext"


class SecretUnreadable(RuntimeError):
    """A stored secret does not decrypt: altered, moved, or under a key no longer in the ring."""


def new_secret() -> str:
    """A fresh signing secret in the form Standard Webhooks libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def encrypt_secret(secret: str, webhook_id: str, *, previous: bool = False) -> str:
    """Encrypt a secret under the ring's current key, bound to its webhook (and to its
    column: the current secret's text does not decrypt as the previous one's)."""
    column = _PREVIOUS_COLUMN if previous else _COLUMN
    return crypto.encrypt(secret, table=_TABLE, column=column, row_id=webhook_id)


def decrypt_secret(token: str, webhook_id: str, *, previous: bool = False) -> str:
    """The plain secret of a webhook; SecretUnreadable if it is not this webhook's."""
    column = _PREVIOUS_COLUMN if previous else _COLUMN
    try:
        return crypto.decrypt(token, table=_TABLE, column=column, row_id=webhook_id)
    except crypto.DecryptionError as error:
        raise SecretUnreadable(f"secret of webhook {webhook_id}: {error}") from None


def signed_headers(
    signing_secrets: str | Sequence[str], message_id: str, body: str, at: dt.datetime
) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt (the timestamp is the attempt's).

    Several secrets (the current one and, during a rotation's overlap, the one it
    replaced) give several `v1,<signature>` entries, space-separated, as the specification
    allows: a receiver that knows either secret verifies the message.
    """
    if isinstance(signing_secrets, str):
        signing_secrets = [signing_secrets]
    signature = " ".join(
        StandardWebhook(secret).sign(message_id, at, body) for secret in signing_secrets
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
