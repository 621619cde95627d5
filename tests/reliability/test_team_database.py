"""A team on one database (issue 16): every test here runs on SQLite and, with INCSEG_TEST_DATABASE_URL,
on PostgreSQL. Real second processes: two reviewers saving revisions of the same masks, two processes
creating classes; migrations up and down; bad database URLs."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from incseg_app.domain.errors import ValidationError
from incseg_app.services import StoreSettings, classes, images, masks, open_store
from incseg_app.storage.db import alembic_config, current_revision, head_revision
from incseg_app.storage.orm import Base
from store_helpers import image_bytes, store  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 40

# A reviewer: for every image, reload the head revision and save an edit of it; a save refused because
# the other reviewer got there first is redone on the new head (what the review tab tells users to do).
REVIEWER = textwrap.dedent("""
    import sys
    import numpy as np
    from incseg_app.domain.errors import ConflictError
    from incseg_app.services import StoreSettings, masks, open_store
    ctx = open_store(sys.argv[1], StoreSettings())
    who, rounds, ids = int(sys.argv[2]), int(sys.argv[3]), [int(i) for i in sys.argv[4].split(",")]
    print("READY", flush=True)
    sys.stdin.readline()
    saved = refused = 0
    for _ in range(rounds):
        for image_id in ids:
            while True:
                head = masks.head_mask(ctx, image_id)
                try:
                    masks.save_mask(ctx, image_id, np.full((12, 16), who, np.uint8),
                                    expected_parent_id=head.id if head else None, author=f"reviewer {who}")
                    saved += 1
                    break
                except ConflictError:
                    refused += 1
    print(saved, refused, flush=True)
""")

CREATOR = textwrap.dedent("""
    import sys
    from incseg_app.services import StoreSettings, classes, open_store
    ctx = open_store(sys.argv[1], StoreSettings())
    print("READY", flush=True)
    sys.stdin.readline()
    for n in range(int(sys.argv[3])):
        classes.create_class(ctx, f"{sys.argv[2]}-{n}")
    print("DONE", flush=True)
""")


def _start_together(script: str, *argsets: tuple[str, ...]) -> list[str]:
    """Run ``script`` once per argument tuple, release them at the same moment, return their last lines."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for args in argsets]
    for p in procs:
        assert p.stdout.readline().strip() == "READY", p.stderr.read()[-2000:]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outs.append(out.strip().splitlines()[-1])
    return outs


def test_two_processes_reviewing_the_same_masks_lose_no_save(store):
    for name in ("first", "second"):
        classes.create_class(store, name)
    ids = [r.id for r in images.import_uploads(store, [(f"{n}.png", image_bytes(16, 12, n)) for n in range(2)],
                                               ["first"]).imported]
    results = _start_together(REVIEWER, (store.root, 1, ROUNDS, ",".join(map(str, ids))),
                              (store.root, 2, ROUNDS, ",".join(map(str, ids))))
    saved = [int(line.split()[0]) for line in results]
    assert saved == [ROUNDS * len(ids)] * 2
    for image_id in ids:
        history = sorted(masks.mask_history(store, image_id), key=lambda m: m.id)
        assert len(history) == 2 * ROUNDS  # every save is there ...
        assert [m.parent_id for m in history] == [None] + [m.id for m in history[:-1]]  # ... in one line, no fork
        assert sorted(m.author for m in history) == ["reviewer 1"] * ROUNDS + ["reviewer 2"] * ROUNDS
        head = masks.head_mask(store, image_id)
        assert head.id == history[-1].id
        who = int(head.author.split()[-1])
        assert (masks.read_mask(store, head.id) == who).all()


def test_two_processes_creating_classes_get_distinct_ids(store):
    _start_together(CREATOR, (store.root, "left", 15), (store.root, "right", 15))
    made = classes.list_classes(store)
    assert len(made) == 30 and sorted(c.id for c in made) == list(range(1, 31))
    assert len({c.color for c in made}) == 30


def test_migrations_run_up_and_down_and_match_the_orm(store):
    with store.db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    classes.create_class(store, "kept")
    cfg = alembic_config()
    with store.db.engine.begin() as conn:  # back to the first revision and up again, data kept
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        command.upgrade(cfg, "head")
    assert current_revision(store.db.engine) == head_revision()
    assert [c.name for c in classes.list_classes(store)] == ["kept"]


def test_long_free_text_fits_on_every_back_end(store):
    """PostgreSQL enforces VARCHAR lengths that SQLite ignores: free text is TEXT."""
    classes.create_class(store, "car")
    name = "a" * 300 + ".png"
    [rec] = images.import_uploads(store, [(name, image_bytes(4, 4, 0))], ["car"]).imported
    rev = masks.save_mask(store, rec.id, np.ones((4, 4), np.uint8), source="s" * 400, author="b" * 200)
    assert (images.get_image(store, rec.id).original_name, len(rev.source)) == (name, 400)


def test_bad_database_urls_are_refused_with_a_message(tmp_path):
    with pytest.raises(ValidationError, match="unsupported database URL 'mysql://u:\\*\\*\\*@h/db'"):
        open_store(tmp_path / "s", StoreSettings(), database_url="mysql://u:secret@h/db")


def test_the_cli_reaches_the_database_given_by_option(store, database_url, monkeypatch):
    from click.testing import CliRunner

    from incseg_app.cli import cli

    monkeypatch.delenv("INCSEG_DATABASE_URL", raising=False)  # only the option may say where it is
    option = ["--database-url", database_url] if database_url else []
    out = CliRunner().invoke(cli, ["--storage", str(store.root), *option, "classes", "add", "lane"])
    assert out.exit_code == 0, out.output
    assert [c.name for c in classes.list_classes(store)] == ["lane"]
    assert (store.root / "incseg.db").exists() == (database_url is None)  # no stray SQLite file on PostgreSQL
