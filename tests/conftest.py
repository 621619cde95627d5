"""Test-wide settings: offline hubs, single-threaded torch (CI has 2 cores), deterministic seeds."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _torch_single_thread_and_seed():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        yield
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


TINY_OPENCLIP_NAME = "incseg-test-tiny-vit"
TINY_OPENCLIP_CFG = {  # a 1-layer ViT (patch 8, width 32) and a 1-layer text tower with the real vocabulary
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_openclip(tmp_path_factory) -> tuple[str, Path]:
    """A random tiny open_clip model registered as ``TINY_OPENCLIP_NAME`` and saved as a state-dict
    file: returns (model name, checkpoint path) for ``create_model(name, pretrained=str(path))``."""
    import json

    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("tiny_openclip")
    config = folder / f"{TINY_OPENCLIP_NAME}.json"
    config.write_text(json.dumps(TINY_OPENCLIP_CFG))
    open_clip.add_model_config(config)
    torch.manual_seed(1234)
    model = open_clip.create_model(TINY_OPENCLIP_NAME)
    checkpoint = folder / "tiny_openclip.pt"
    torch.save(model.state_dict(), checkpoint)
    return TINY_OPENCLIP_NAME, checkpoint


# --- database back ends -------------------------------------------------------------------------------
# The storage, services and concurrency tests run on SQLite and, when INCSEG_TEST_DATABASE_URL names a
# PostgreSQL database (.ci/run starts one), on PostgreSQL too: every test of those modules that uses a
# store fixture gets a ``[postgresql]`` twin on its own fresh schema. Locally without a server that
# twin is skipped; on CI (``CI`` set) a missing server is a failure.
PG_ENV = "INCSEG_TEST_DATABASE_URL"
BOTH_BACKENDS = ("integration/test_services_", "integration/test_training_service",
                 "integration/test_labeling_service", "reliability/test_concurrency", "reliability/test_team_database",
                 "reliability/test_job_process", "ui/test_review_service", "ui/test_gallery_service",
                 "ui/test_job_metrics")
TESTS_DIR = Path(__file__).resolve().parent


def pytest_generate_tests(metafunc):
    if "db_backend" not in metafunc.fixturenames:
        return
    rel = Path(metafunc.module.__file__).resolve().relative_to(TESTS_DIR).as_posix()
    if rel.startswith(BOTH_BACKENDS):
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def db_backend(request) -> str:
    return getattr(request, "param", "sqlite")


class PostgresSchemas:
    """Fresh schemas in the test database, each a store's own database URL (``search_path``)."""

    def __init__(self, base_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from incseg_app.storage.db import database_url

        self.base = database_url(base_url)
        self.engine = create_engine(self.base, poolclass=NullPool)
        self.names: list[str] = []

    def new(self) -> str:
        import uuid

        from sqlalchemy import text

        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        self.names.append(name)
        return self.base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            for name in self.names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.engine.dispose()


@pytest.fixture
def new_database(db_backend, monkeypatch):
    """``new_database()`` -> the database URL for one more store of this test (None = its SQLite file)."""
    if db_backend == "sqlite":
        monkeypatch.delenv("INCSEG_DATABASE_URL", raising=False)
        yield lambda: None
        return
    base = os.environ.get(PG_ENV, "").strip()
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set on CI (.ci/run starts PostgreSQL and sets it)")
        pytest.skip(f"no PostgreSQL server configured (set {PG_ENV})")
    schemas = PostgresSchemas(base)
    yield schemas.new
    schemas.drop_all()


@pytest.fixture
def database_url(new_database, monkeypatch) -> str | None:
    """This test's database: None (SQLite in the store folder) or a fresh PostgreSQL schema, which is
    also exported as INCSEG_DATABASE_URL so child processes and reopened stores use it."""
    url = new_database()
    if url is not None:
        monkeypatch.setenv("INCSEG_DATABASE_URL", url)
    return url
