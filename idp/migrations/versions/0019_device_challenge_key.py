"""Challenge-key rotation: the challenge-signing key each device pinned at activation (its ID;
NULL for the first key, the vault's `challenge-key`)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("challenge_key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("challenge_key_id")
