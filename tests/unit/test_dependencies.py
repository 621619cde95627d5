"""Every third-party package the code imports is declared in pyproject.toml.

Parses the import statements of the package, app.py, bench/ and tests/ (no import side effects),
maps each top-level module to the distribution that installs it, and checks that distribution is
named in ``[project].dependencies`` or a feature extra such as ``postgresql`` (library code, whose
optional imports say which extra to install), or also in the ``dev`` extra (tests, benchmarks).
"""
from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[2]


def _top_level_imports(paths: list[Path]) -> dict[str, Path]:
    """Top-level module name -> first file importing it (absolute imports only)."""
    found: dict[str, Path] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


def _local_modules() -> set[str]:
    """Modules that live in this repository (the package and the helpers tests/bench import by name)."""
    names = {"incseg_app"}
    for folder in ("tests", "bench", "tests/unit", "tests/integration", "tests/ui", "tests/reliability"):
        names |= {p.stem for p in (ROOT / folder).glob("*.py")}
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(dev: bool) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    specs = list(project["dependencies"])
    specs += [s for name, group in extras.items() if dev or name != "dev" for s in group]
    return {_normalise(re.split(r"[<>=!~;\[ ]", s, maxsplit=1)[0]) for s in specs}


def _undeclared(paths: list[Path], declared: set[str]) -> list[str]:
    dists = md.packages_distributions()
    local = _local_modules()
    missing = []
    for module, where in sorted(_top_level_imports(paths).items()):
        if module in sys.stdlib_module_names or module in local or module == "__future__":
            continue
        owners = {_normalise(d) for d in dists.get(module, [])}
        if not owners:
            missing.append(f"{module} (imported by {where.relative_to(ROOT)}) is not installed by any distribution")
        elif not owners & declared:
            missing.append(f"{module} (imported by {where.relative_to(ROOT)}) comes from {sorted(owners)}, "
                           "which pyproject.toml does not declare")
    return missing


def test_library_imports_are_runtime_dependencies():
    paths = sorted(p for p in (ROOT / "incseg_app").rglob("*.py") if "node_modules" not in p.parts)  # npm's, if any
    assert _undeclared(paths + [ROOT / "app.py"], _declared(dev=False)) == []


def test_test_and_bench_imports_are_declared():
    paths = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py"))
    assert _undeclared(paths, _declared(dev=True)) == []
