"""The package is layered: each module imports only from layers below it, and no function
imports a module of ``lcn`` (only heavy third-party packages are imported lazily).

The layer of a module is the rank of the longest prefix of its dotted name in ``LAYERS``. An
import is allowed when the target's rank is strictly lower, or when both live in the same
package (the files of ``lcn.training`` may use one another). Exact and numerical geometry share
a rank, so neither may import the other. A module missing from ``LAYERS`` fails the test: a new
package must say where it stands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "lcn"

LAYERS: dict[str, int] = {
    "lcn.errors": 0,
    "lcn._validate": 1,
    "lcn._effective": 1,
    "lcn.architecture": 2,
    "lcn.forms": 2,
    "lcn.dense": 2,
    "lcn._projective": 3,
    "lcn._mu_kernel": 3,
    "lcn._numba": 1,
    "lcn.parametrization": 4,
    "lcn.geometry._orbits": 5,
    "lcn.geometry.exact": 6,
    "lcn.geometry.numerical": 6,
    "lcn.geometry.implicit": 7,
    "lcn.geometry": 8,
    "lcn.training": 9,
    "lcn.critical": 10,
    "lcn.homotopy": 11,
    "lcn.experiment": 12,
    "lcn.plot": 13,
    "lcn.cli": 14,
    "lcn": 15,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _rank(name: str) -> tuple[str, int]:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return prefix, LAYERS[prefix]
    raise AssertionError(f"{name} has no layer: add it to LAYERS in tests/test_layers.py")


def _package(name: str, is_pkg: bool) -> str:
    return name if is_pkg else name.rpartition(".")[0]


def _targets(node: ast.Import | ast.ImportFrom, here: str, is_pkg: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "lcn"]
    if node.level:  # relative import: resolve against this module's package
        base = _package(here, is_pkg).split(".")
        base = base[: len(base) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if mod.split(".")[0] != "lcn":
        return []
    out = []
    for a in node.names:
        sub = f"{mod}.{a.name}"
        out.append(sub if _is_module(sub) else mod)
    return out


def _files() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def _imports(tree: ast.Module) -> tuple[list[ast.Import | ast.ImportFrom], list[ast.AST]]:
    """Module-level imports (including those under ``if``/``try`` at top level) and imports
    nested in a function or class body."""
    top: list[ast.Import | ast.ImportFrom] = []
    nested: list[ast.AST] = []

    def visit(node: ast.AST, in_def: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                (nested if in_def else top).append(child)  # type: ignore[arg-type]
            deeper = in_def or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            )
            visit(child, deeper)

    visit(tree, False)
    return top, nested


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_run_downward(path: Path) -> None:
    here = _module_name(path)
    is_pkg = path.name == "__init__.py"
    own_prefix, own = _rank(here)
    tree = ast.parse(path.read_text(), filename=str(path))
    top, nested = _imports(tree)
    problems = []
    for node in nested:
        for target in _targets(node, here, is_pkg):  # type: ignore[arg-type]
            problems.append(f"line {node.lineno}: function-level import of {target}")
    for node in top:
        for target in _targets(node, here, is_pkg):
            t_prefix, t_rank = _rank(target)
            same_package = target.startswith(_package(here, is_pkg) + ".") or (
                t_prefix == own_prefix and t_prefix != "lcn"
            )
            if target == here or same_package:
                continue
            if t_rank >= own:
                problems.append(
                    f"line {node.lineno}: {here} (layer {own}) imports {target} (layer {t_rank})"
                )
    assert not problems, "\n".join(problems)


def test_the_checker_can_fail(tmp_path: Path) -> None:
    """The rules above reject an upward and a function-level import (the checker is live)."""
    tree = ast.parse("import lcn.cli\n\ndef f():\n    from lcn import forms\n")
    top, nested = _imports(tree)
    assert [t for n in top for t in _targets(n, "lcn.forms", False)] == ["lcn.cli"]
    assert _rank("lcn.cli")[1] > _rank("lcn.forms")[1]
    assert [t for n in nested for t in _targets(n, "lcn.forms", False)] == ["lcn.forms"]
