"""Seeds as 64-bit integers: a client's seed may be up to 2**32 - 1, past PostgreSQL's ``integer``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as table:
        table.alter_column("seed", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("images") as table:
        table.alter_column("seed", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=True)
