"""name prefix indexes for the back office's user search

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL can use these for `LIKE 'prefix%'` whatever the database's collation.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_users_name_th_prefix ON users (name_th varchar_pattern_ops)")
        op.execute("CREATE INDEX ix_users_name_en_prefix ON users (name_en varchar_pattern_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_users_name_th_prefix")
        op.execute("DROP INDEX ix_users_name_en_prefix")
