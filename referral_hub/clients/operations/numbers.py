"""Readable numbers: a unit's short code and the per-unit, per-year series (KL-, RJ-)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from referral_hub.clients.models import CodeCounter
from referral_hub.directory.models import Organization
from referral_hub.extensions import db


def organization_short_code(org: Organization) -> str:
    """The unit's part of a readable number: uptd-ppa-ppu -> PPU, uptd-ppa-kukar -> KUKAR."""
    return org.code.removeprefix("uptd-ppa-").replace("-", "").upper()[:16]


def next_number(prefix: str, organization_id: str, year: int) -> int:
    """The next number of a (prefix, organisation, year) series, unique under concurrency.

    The counter row is incremented by one UPDATE ... RETURNING, which holds its row lock until
    the transaction ends, so concurrent transactions get consecutive numbers and a rolled-back
    one gives its number back. The first number of a year inserts the row; if another
    transaction inserted it meanwhile, the insert fails in its savepoint and we increment.
    """
    increment = (
        update(CodeCounter)
        .where(
            CodeCounter.prefix == prefix,
            CodeCounter.organization_id == organization_id,
            CodeCounter.year == year,
        )
        .values(last_value=CodeCounter.last_value + 1)
        .returning(CodeCounter.last_value)
        .execution_options(synchronize_session=False)
    )
    value = db.session.execute(increment).scalar()
    if value is not None:
        return value
    try:
        with db.session.begin_nested():
            db.session.add(
                CodeCounter(prefix=prefix, organization_id=organization_id, year=year, last_value=1)
            )
        return 1
    except IntegrityError:
        return db.session.execute(increment).scalar_one()


def take_number(prefix: str, organization_id: str, year: int) -> int:
    """The next number of a series, taken like a sequence's: in its own short transaction.

    `next_number` holds the counter's row lock until the caller's transaction ends, so every
    send of one unit waited for the previous one's gates, writes and commit: under load the
    sends of a busy unit queued on that row. Here the number is taken by one upsert committed
    at once; the row is locked only for that statement. The price is a sequence's: a send
    that fails after taking its number leaves a gap (the audit log shows every number sent).
    SQLite has one writer at a time, and a second connection would wait for the caller's
    own write lock, so there the number is taken in the caller's transaction.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return next_number(prefix, organization_id, year)
    counters = CodeCounter.__table__
    upsert = (
        pg_insert(counters)
        .values(prefix=prefix, organization_id=organization_id, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[counters.c.prefix, counters.c.organization_id, counters.c.year],
            set_={"last_value": counters.c.last_value + 1},
        )
        .returning(counters.c.last_value)
    )
    with engine.connect() as connection:
        value = connection.execute(upsert).scalar_one()
        connection.commit()
    return value
