"""Write leases (imports and uploads in progress) and Unicode-normalised class-name keys.

``leases`` holds one row per write in progress outside the job table, with its holder's "host:pid"
and a heartbeat, so ``doctor --repair`` can tell a live import from a crashed one. ``classes.name_key``
becomes NFKC(casefold(NFKC(name))) (was ``casefold(name)``); when two old names now share a key, the
older class keeps it and the later one's key gets "#<id>" appended (it stays reachable by id) rather
than failing the upgrade.

Revision ID: i15_leases
Revises: i14_review_ui
Create Date: 2026-12-01
"""
from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = 'i15_leases'
down_revision = 'i14_review_ui'
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
    final: dict[int, str] = {}
    seen: set[str] = set()
    for class_id, name, _ in rows:  # the oldest class keeps a shared key; later ones get "#id" appended
        key = _key(name)
        final[class_id] = key if key not in seen else f"{key[:56]}#{class_id}"
        seen.add(key)
    changed = [(class_id, final[class_id]) for class_id, _, old in rows if final[class_id] != old]
    for class_id, _ in changed:  # two passes: a new key may still be another row's old one; a real key
        # never starts with a space (names are trimmed), so these placeholders cannot collide
        conn.execute(classes.update().where(classes.c.id == class_id).values(name_key=f" {class_id}"))
    for class_id, key in changed:
        conn.execute(classes.update().where(classes.c.id == class_id).values(name_key=key))


def downgrade() -> None:
    op.drop_table('leases')
