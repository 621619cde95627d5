"""Review UI: per-iteration job metrics, draft/model agreement, and the image trash.

Revision ID: i14_review_ui
Revises: i11_confidence
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'i14_review_ui'
down_revision = 'i11_confidence'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_metrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_job_metrics_job_id_seq', ['job_id', 'seq'], unique=False)

    op.create_table('mask_agreement',
    sa.Column('mask_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('agreement', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['mask_id'], ['masks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mask_id')
    )
    op.create_table('trash',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.Text(), nullable=False),
    sa.Column('manifest', sa.JSON(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('trash')
    op.drop_table('mask_agreement')
    with op.batch_alter_table('job_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_job_metrics_job_id_seq')
    op.drop_table('job_metrics')
