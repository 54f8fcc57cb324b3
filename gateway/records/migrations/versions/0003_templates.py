"""Saved presets: a model, a prompt with ``{prompt}``, a size or ratio, style and extras.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("size", sa.String(20), nullable=True),
        sa.Column("aspect_ratio", sa.String(20), nullable=True),
        sa.Column("style", sa.String(200), nullable=True),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("guidance", sa.Float(), nullable=True),
        sa.Column("as_model", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("templates")
