"""CLI commands that need no model import no torch (issue 15 #4: every command imported it, about 4 s
and 830 MB, even ``images list``). One real interpreter runs a day's worth of store commands, then
says which heavy packages it loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from incseg_app.services import StoreSettings, classes, images, masks, open_store
from store_helpers import image_bytes, label_png, write

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import json, sys
    from incseg_app.cli import cli
    outputs = []
    for args in json.loads(sys.argv[1]):
        try:
            cli.main(args=args, prog_name="incseg", standalone_mode=False)
        except SystemExit as exc:
            assert not exc.code, (args, exc.code)
    heavy = ("torch", "torchvision", "gradio", "open_clip", "skimage", "tqdm")
    print("LOADED=" + json.dumps(sorted(m for m in heavy if m in sys.modules)))
""")


def test_store_commands_never_import_torch(tmp_path):
    store = tmp_path / "store"
    ctx = open_store(store, StoreSettings())
    car = classes.create_class(ctx, "car")
    recs = images.import_uploads(ctx, [(f"{k}.png", image_bytes(16, 12, k)) for k in range(4)], ["car"]).imported
    for rec in recs:
        masks.save_mask(ctx, rec.id, np.ones((12, 16), np.uint8))
    ctx.close()
    for k in range(2):
        write(tmp_path / "more" / f"m{k}.png", image_bytes(16, 12, 10 + k))
    write(tmp_path / "ds" / "images" / "d.png", image_bytes(16, 12, 20))
    write(tmp_path / "ds" / "labels" / "d.png", label_png(np.ones((12, 16), np.uint8)))
    s = ["--storage", str(store)]
    commands = [["images", "list", *s], ["images", "list", "--tag", "car", "--limit", "2", *s],
                ["classes", "list", *s], ["classes", "add", "bus", *s], ["versions", "list", *s],
                ["jobs", "list", *s], ["doctor", *s], ["train", "--dry-run", "--class", str(car.id), *s],
                ["train", "--dry-run", "--method", "joint", *s], ["export", str(tmp_path / "out"), *s],
                ["images", "import", str(tmp_path / "more"), "--tag", "car", *s],
                ["dataset", "import", str(tmp_path / "ds"), *s]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(commands)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "4 training image(s)" in ran.stdout and "new: car" in ran.stdout  # the dry run planned the step
    loaded = json.loads(ran.stdout.rsplit("LOADED=", 1)[1])
    assert loaded == ["tqdm"]  # only the import commands' progress bars; no torch, no gradio
