"""The layout a reader finds: the import contract (pyproject.toml, `[tool.importlinter]`) holds with no
exception, no import circle exists, counting imports made inside functions as much as those at the top of a
module, and each package's `__init__.py` only names what its modules define."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]


def test_the_layer_contract_holds_with_no_ignored_import():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert [c["type"] for c in contracts] == ["layers", "acyclic_siblings"]
    assert {c["name"]: c.get("ignore_imports", []) for c in contracts} == {c["name"]: [] for c in contracts}
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "0 broken" in out.stdout and "ignored" not in out.stdout


def _circle(graph) -> list[str] | None:
    """One import circle among all of caedoctor's modules (the package itself included), or None."""
    done, path, on_path = set(), [], set()

    def visit(module):
        path.append(module)
        on_path.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported in on_path:
                return path[path.index(imported):] + [imported]
            if imported not in done:
                found = visit(imported)
                if found:
                    return found
        on_path.discard(path.pop())
        done.add(module)
        return None

    for module in sorted(graph.modules):
        if module not in done:
            found = visit(module)
            if found:
                return found
    return None


def test_no_import_circle_even_through_imports_inside_functions():
    """grimp reads every import statement, a function's too: so a lower module that imports a higher one when
    called (as `display` once imported the report to show a result) closes a circle here. The front door,
    `caedoctor/__init__.py`, is above everything, so nothing inside imports it."""
    import grimp

    graph = grimp.build_graph("caedoctor", cache_dir=None)
    assert _circle(graph) is None, " -> ".join(_circle(graph))
    assert graph.find_modules_directly_imported_by("caedoctor") >= {"caedoctor.report.renderers"}
    assert graph.find_modules_that_directly_import("caedoctor") == set()


def _code_in(init: Path) -> list[str]:
    """What an `__init__.py` holds besides its docstring, imports, `__all__` and comments."""
    body = ast.parse(init.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [f"{type(node).__name__} at line {node.lineno}" for node in body
            if not isinstance(node, (ast.Import, ast.ImportFrom))
            and not (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"])]


def test_every_package_init_is_thin():
    """Code lives in a named module (`models/load.py`, `data/load.py`, `fixes/apply.py`,
    `watch/autologging.py`); a package's `__init__.py` re-exports it. The package itself is the one exception:
    its `__init__.py` is the lazy front door (PEP 562 `__getattr__`) and registers the report's renderers,
    which must run before any `caedoctor.*` module."""
    package = ROOT / "src" / "caedoctor"
    inits = sorted(p for p in package.rglob("__init__.py") if p != package / "__init__.py")
    assert len(inits) > 10
    assert {str(p.relative_to(package)): _code_in(p) for p in inits} == {str(p.relative_to(package)): []
                                                                        for p in inits}


def _calls(path: Path, names: set) -> list[str]:
    """`path:line name` for every call of a function or method named in `names` in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_every_probe_goes_through_the_probing_core():
    """One probe runner (`caedoctor.probing.ProbeRunner`): the diagnosis, the repair, the LR range test and the
    benchmarks run probes through it, never `run_probe`/`extend_probe` themselves, and nothing in caedoctor
    trains a model with `fit` but the core (`probing/probes.py`) and `training.py` (`caedoctor train`, the
    repair's retraining). The benchmarks' own `fit` calls are their ground truth and plain-Keras baselines.
    The runner's other half is `probing/executors.py`: the task that runs the runner's `run_probe` in a Ray
    worker."""
    src = ROOT / "src" / "caedoctor"
    core = {src / "probing" / "runner.py", src / "probing" / "probes.py", src / "probing" / "executors.py"}
    probing = [c for p in sorted(src.rglob("*.py")) if p not in core for c in _calls(p, {"run_probe", "extend_probe"})]
    probing += [c for p in sorted((ROOT / "bench").rglob("*.py")) for c in _calls(p, {"run_probe", "extend_probe"})]
    assert probing == []
    fits = [c for p in sorted(src.rglob("*.py")) if p not in core | {src / "training.py"} for c in _calls(p, {"fit"})]
    assert fits == []
