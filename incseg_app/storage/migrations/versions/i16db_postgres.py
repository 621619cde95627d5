"""Free-text columns as TEXT and the validation pixel count as BIGINT, for PostgreSQL.

SQLite ignores VARCHAR lengths, so a pseudo-mask's source description (≈150 characters), a long
version name or file name went in unnoticed; PostgreSQL enforces them and refused the row. A
validation set's ground-truth pixel count can pass 2**31 (a 32-bit INTEGER on PostgreSQL).

Revision ID: i16db_postgres
Revises: 0001
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'i16db_postgres'
down_revision = '0001'
branch_labels = None
depends_on = None

TEXT_COLUMNS = (("images", "original_name", 512), ("masks", "author", 128), ("masks", "source", 128),
                ("model_versions", "name", 128))


def upgrade() -> None:
    for table, column, length in TEXT_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=length), type_=sa.Text(),
                                  existing_nullable=False)
    with op.batch_alter_table('class_metrics', schema=None) as batch_op:
        batch_op.alter_column('gt_pixels', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('class_metrics', schema=None) as batch_op:
        batch_op.alter_column('gt_pixels', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
    for table, column, length in reversed(TEXT_COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Text(), type_=sa.String(length=length),
                                  existing_nullable=False)
