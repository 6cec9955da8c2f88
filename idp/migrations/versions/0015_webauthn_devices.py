"""Devices of the web authenticator: the WebAuthn credential that holds the device key

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("credential_id", sa.String(length=1400), nullable=True))
        batch.add_column(sa.Column("credential_public_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sign_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("sign_count")
        batch.drop_column("credential_public_key")
        batch.drop_column("credential_id")
