"""renewal reminders per certificate

A reminder is owed once per (certificate, reminder day): keyed by the certificate's serial, so a
renewed certificate gets its own reminders, and all windows a reminder covers are recorded with
it (a device first seen 5 days before expiry gets one email, not the 30- and the 7-day one).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "renewal_reminders",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=43), nullable=False),
        sa.Column("user_id", sa.String(length=15), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("serial", "days_before"),
    )
    op.execute(
        "INSERT INTO renewal_reminders (serial, days_before, device_id, user_id, sent_at) "
        "SELECT d.serial, r.days_before, r.device_id, d.user_id, r.sent_at "
        "FROM reminders_sent r JOIN devices d ON d.device_id = r.device_id"
    )
    op.drop_table("reminders_sent")


def downgrade() -> None:
    op.create_table(
        "reminders_sent",
        sa.Column("device_id", sa.String(length=43), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "days_before"),
    )
    op.drop_table("renewal_reminders")
