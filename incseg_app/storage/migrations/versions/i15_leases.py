"""Write leases (imports and uploads in progress) and Unicode-normalised class-name keys.

``leases`` holds one row per write in progress outside the job table, with its holder's "host:pid"
and a heartbeat, so ``doctor --repair`` can tell a live import from a crashed one. ``classes.name_key``
becomes NFKC(casefold(NFKC(name))) (was ``casefold(name)``); two old names that now share a key keep
their old keys (the later one gets its id appended) rather than failing the upgrade.

Revision ID: i15_leases
Revises: 0001
Create Date: 2026-12-01
"""
from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = 'i15_leases'
down_revision = '0001'
branch_labels = None
depends_on = None


def _key(name: str) -> str:
    norm = " ".join(unicodedata.normalize("NFKC", name).split())
    return unicodedata.normalize("NFKC", norm.casefold())


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    conn = op.get_bind()
    classes = sa.table('classes', sa.column('id', sa.Integer), sa.column('name', sa.String),
                       sa.column('name_key', sa.String))
    rows = conn.execute(sa.select(classes.c.id, classes.c.name, classes.c.name_key).order_by(classes.c.id)).all()
    taken = {key for _, _, key in rows}
    for class_id, name, old in rows:
        new = _key(name)
        if new == old:
            continue
        if new in taken:  # an older class already answers to this key: keep this one reachable by id
            new = f"{new[:56]}#{class_id}"
        taken.discard(old)
        taken.add(new)
        conn.execute(classes.update().where(classes.c.id == class_id).values(name_key=new))


def downgrade() -> None:
    op.drop_table('leases')
