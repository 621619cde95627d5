"""Persistence: SQLAlchemy tables, Alembic migrations, repositories and the content-addressed blob store."""
from .blobs import BlobStore
from .db import Database, migrate

__all__ = ["BlobStore", "Database", "migrate"]
