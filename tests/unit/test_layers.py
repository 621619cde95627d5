"""Imports flow one way: domain <- models/labeling/methods/training <- storage <- services <- ui/cli.

Parses every module's import statements (no import side effects) and checks each layer against the
packages it may use, so a torch import in the UI or a service import in the engine fails the build.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "incseg_app"

# layer -> incseg_app sub-packages it may import
ALLOWED_INTERNAL = {
    "domain": {"domain"},
    "models": {"domain", "models"},
    "labeling": {"domain", "models", "labeling"},
    "methods": {"domain", "models", "methods"},
    "training": {"domain", "models", "methods", "training"},
    "storage": {"domain", "storage"},
    "services": {"domain", "models", "labeling", "methods", "training", "storage", "services"},
    "ui": {"domain", "services", "ui"},
    "cli": {"domain", "services", "cli"},
}
FORBIDDEN_EXTERNAL = {
    "domain": {"torch", "numpy", "sqlalchemy", "gradio", "PIL"},
    "models": {"sqlalchemy", "gradio"},
    "labeling": {"sqlalchemy", "gradio"},
    "methods": {"sqlalchemy", "gradio"},
    "training": {"sqlalchemy", "gradio"},
    "storage": {"torch", "gradio"},
    "services": {"gradio"},
    "ui": {"torch", "sqlalchemy", "alembic"},
    "cli": {"torch", "sqlalchemy", "gradio"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute dotted names imported by a module, relative imports resolved against the package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    pkg_parts = ["incseg_app", *path.relative_to(PKG).parent.parts]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.append((mod, node.lineno))
    return names


MODULES = sorted(p for p in PKG.rglob("*.py") if "migrations" not in p.parts and "node_modules" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_flow_one_way(path: Path) -> None:
    layer = _layer(path)
    if layer == "__init__":
        return
    assert layer in ALLOWED_INTERNAL, f"{path}: unknown layer {layer!r}; add it to the layer table"
    bad = []
    for name, line in _imports(path):
        top = name.split(".")[0]
        if top == "incseg_app":
            sub = name.split(".")[1] if name.count(".") else "__init__"
            if sub not in ALLOWED_INTERNAL[layer]:
                bad.append(f"line {line}: {layer} imports incseg_app.{sub}")
        elif top in FORBIDDEN_EXTERNAL[layer]:
            bad.append(f"line {line}: {layer} imports {top}")
    assert not bad, f"{path.relative_to(PKG)}: " + "; ".join(bad)


def test_layer_table_sees_every_module() -> None:
    assert len(MODULES) >= 5
