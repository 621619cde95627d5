"""Per-pixel confidence of a mask revision: a blob (grey PNG, confidence × 255) named by its sha256.

Revision ID: i11_confidence
Revises: i16db_postgres
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'i11_confidence'
down_revision = 'i16db_postgres'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('masks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidence_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('masks', schema=None) as batch_op:
        batch_op.drop_column('confidence_sha256')
