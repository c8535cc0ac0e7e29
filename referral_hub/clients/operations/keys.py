"""Key rotation: re-encrypting, batch by batch, what is still under an older data key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.clients.crypto import ENCRYPTED_MODELS, current_kid, reencrypt, stale_clause
from referral_hub.extensions import db


def rotate_keys_batch(actor: Actor, batch_size: int = 200) -> dict[str, Any]:
    """Re-encrypt up to `batch_size` rows still under an older key; the caller commits.

    Rows are picked by what they hold (any value or index not under the current key), so a
    batch never repeats work, an interrupted run resumes where it stopped, and a run with
    nothing left changes nothing. Picked rows are locked (FOR UPDATE) so a concurrent edit
    cannot be overwritten with the value read before it.
    """
    kid = current_kid()
    done: dict[str, dict[str, int]] = {}
    remaining = batch_size
    for model in ENCRYPTED_MODELS:
        if remaining <= 0:
            break
        rows = db.session.scalars(
            select(model)
            .where(stale_clause(model, kid))
            .order_by(model.id)
            .limit(remaining)
            .with_for_update(of=model)
        ).all()
        if not rows:
            continue
        values = indexes = 0
        for row in rows:
            if hasattr(row, "rotate_keys"):
                changed_values, changed_indexes = row.rotate_keys(kid)
            else:
                changed_values, changed_indexes = reencrypt(row, kid), 0
            values += changed_values
            indexes += changed_indexes
        remaining -= len(rows)
        done[model.__tablename__] = {"rows": len(rows), "values": values, "indexes": indexes}
    db.session.flush()
    if done:
        audit.record(actor, "data_keys.rotated", "key_ring", kid, {"tables": done})
    return {
        "kid": kid,
        "tables": done,
        "rows": sum(t["rows"] for t in done.values()),
        "values": sum(t["values"] for t in done.values()),
        "indexes": sum(t["indexes"] for t in done.values()),
    }
