"""Build the mask editor's frontend into ``../templates/`` with Gradio's component toolchain.

Run from the repository root after ``npm install`` in this folder::

    .venv/bin/python incseg_app/ui/mask_editor/frontend/build.py

``@gradio/preview`` (what ``gradio cc build`` runs) expects a standalone component package: a
``pyproject.toml`` one level above a ``backend/`` folder and the frontend in ``frontend/``. This script
stages that layout in a temporary folder (the frontend linked, not copied), points the package name at
``incseg_app.ui.mask_editor`` and runs the toolchain; the output lands in the component class's
``TEMPLATE_DIR``. The built files are committed, so the app runs without node.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
PYPROJECT = """[project]
name = "incseg_app.ui.mask_editor"
version = "0.1.0"
keywords = ["gradio-custom-component"]

[tool.hatch.build]
artifacts = []
"""


def main() -> int:
    import gradio

    node = shutil.which("node")
    preview = HERE / "node_modules" / "@gradio" / "preview" / "dist" / "index.js"
    if node is None or not preview.exists():
        print("needs node and `npm install` in", HERE, file=sys.stderr)
        return 1
    templates = Path(gradio.__file__).parent / "templates" / "frontend"
    with tempfile.TemporaryDirectory(prefix="incseg-cc-") as tmp:
        stage = Path(tmp)
        (stage / "backend").mkdir()
        (stage / "pyproject.toml").write_text(PYPROJECT)
        (stage / "frontend").symlink_to(HERE)
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        cmd = [node, str(preview), "--component-directory", str(stage), "--root", str(templates),
               "--mode", "build", "--python-path", sys.executable]
        done = subprocess.run(cmd, env=env, cwd=HERE)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
