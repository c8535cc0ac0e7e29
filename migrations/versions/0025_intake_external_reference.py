"""One intake per reference of the reporting organisation

Revision ID: 0025_intake_external_reference
Revises: 0024_report_summaries
Create Date: 2026-12-12 12:00:00

A unique index on (reporting_organization_id, external_reference): an app's backend that
retries without an Idempotency-Key meets 409 intake-already-reported instead of making a
second intake. Intakes without a reference are not limited (NULLs are distinct).

Duplicates made before this revision stay, each its own intake: the first (by receipt)
keeps its reference; each later one gets its own number appended to its reference
("<reference> [ADU-…]", cut to fit 100 characters), so the index can be built and the
sender still recognises it. Downgrade drops the index and leaves the references as they are.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_intake_external_reference"
down_revision = "0024_report_summaries"
branch_labels = None
depends_on = None

WIDTH = 100


def _separate_duplicates() -> None:
    bind = op.get_bind()
    intakes = sa.table(
        "intakes",
        sa.column("id", sa.String),
        sa.column("number", sa.String),
        sa.column("reporting_organization_id", sa.String),
        sa.column("external_reference", sa.String),
        sa.column("received_at", sa.DateTime),
    )
    rows = bind.execute(
        sa.select(
            intakes.c.id,
            intakes.c.number,
            intakes.c.reporting_organization_id,
            intakes.c.external_reference,
        )
        .where(intakes.c.external_reference.is_not(None))
        .order_by(
            intakes.c.reporting_organization_id,
            intakes.c.external_reference,
            intakes.c.received_at,
            intakes.c.id,
        )
    ).all()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.reporting_organization_id, row.external_reference)
        if key not in seen:
            seen.add(key)
            continue
        suffix = f" [{row.number}]"
        renamed = row.external_reference[: WIDTH - len(suffix)] + suffix
        bind.execute(
            intakes.update().where(intakes.c.id == row.id).values(external_reference=renamed)
        )


def upgrade():
    _separate_duplicates()
    with op.batch_alter_table("intakes", schema=None) as batch_op:
        batch_op.create_index(
            "uq_intakes_external_reference",
            ["reporting_organization_id", "external_reference"],
            unique=True,
        )


def downgrade():
    with op.batch_alter_table("intakes", schema=None) as batch_op:
        batch_op.drop_index("uq_intakes_external_reference")
