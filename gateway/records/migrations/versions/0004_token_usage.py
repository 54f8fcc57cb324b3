"""What the vendor reported a picture used (input and output tokens), for per-token prices.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as table:
        table.add_column(sa.Column("input_tokens", sa.Integer(), nullable=True))
        table.add_column(sa.Column("output_tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images") as table:
        table.drop_column("output_tokens")
        table.drop_column("input_tokens")
