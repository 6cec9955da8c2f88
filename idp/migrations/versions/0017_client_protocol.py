"""Clients' protocol options (PAR, DPoP, JAR, CIBA, RAR, FAPI 2.0) and a grant's approved
authorization_details

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("protocol", sa.JSON(), nullable=True))
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("authorization_details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("authorization_details")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("protocol")
