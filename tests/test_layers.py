"""The package's folders are its layers, and imports only go down them.

From the bottom: the kernel (errors; limits, years, records, names, stages, links; jsonread),
`store/`, the reference data (venues, regions; population, institutions/), the stages
(`sources/`, `people/`, `careers/`), `annotations/`, then `build/` and `figures/`, `web/`,
and on top `cli/`. A module may import from a lower layer, or from its own package; never from
a higher layer or a sibling package of its own layer, never in a cycle, and never
inside a function (a hidden edge), except the CLI's lazy imports (a command loads only
what it runs) and the optional Spark backend.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.fast

PACKAGE = ROOT / "src" / "talent_tracker"
LAYERS = (
    ("errors",),
    ("limits", "years", "records", "names", "stages", "links"),
    ("jsonread",),
    ("store",),
    ("venues", "regions"),
    ("population", "institutions"),
    ("sources", "people", "careers"),
    ("annotations",),
    ("build", "figures"),
    ("web",),
    ("cli",),
)
LAYER = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
# imports inside functions that are meant: the CLI loads a command's modules when it runs;
# pyspark is optional (build --people-backend spark)
LAZY_ALLOWED = ("talent_tracker.cli.",)
OPTIONAL = ("pyspark",)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "vendor" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported talent_tracker module, line, inside a function) for each import of the file."""
    tree = ast.parse(path.read_text("utf-8"))
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner.update(id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
    modules = _modules()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # `from package import module` imports the module
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("talent_tracker") or target.split(".")[0] in OPTIONAL:
                found.append((target, node.lineno, id(node) in inner))
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _edges():
    modules = _modules()
    return {name: _imports(name, path) for name, path in modules.items()}


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(name) for name in _modules()} - {""}
    assert parts <= set(LAYER), f"folders or modules without a layer: {sorted(parts - set(LAYER))}"


def test_imports_only_go_down_the_layers():
    wrong = []
    for module, imports in _edges().items():
        source = _part(module)
        for target, line, _ in imports:
            if not target.startswith("talent_tracker.") or target == "talent_tracker":
                continue
            goes_to = _part(target)
            if goes_to == source or not source:
                continue
            if LAYER[goes_to] >= LAYER[source]:
                wrong.append(f"{module}:{line} imports {target} ({source} is not above {goes_to})")
    assert wrong == [], "\n".join(dict.fromkeys(wrong))


def test_no_import_hides_inside_a_function():
    hidden = [f"{module}:{line} imports {target} inside a function"
              for module, imports in _edges().items() for target, line, inner in imports
              if inner and not (module + ".").startswith(LAZY_ALLOWED) and target.split(".")[0] not in OPTIONAL]
    assert hidden == [], "\n".join(dict.fromkeys(hidden))


def test_no_import_cycles():
    graph = defaultdict(set)
    modules = _modules()
    for module, imports in _edges().items():
        for target, _, _ in imports:
            if target in modules and target != module:
                graph[module].add(target)
    # Tarjan's strongly connected components: any of more than one module is a cycle
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in list(modules):
        if node not in index:
            visit(node)
    assert cycles == [], cycles


def test_only_the_web_layer_speaks_http():
    """Figures and pages' data are computed without a web framework: the server, the static
    site and the CLI share them (web/site.py; publish renders it with jinja2 alone)."""
    web = ("fastapi", "starlette", "uvicorn", "jinja2")
    found = []
    for module, path in _modules().items():
        if _part(module) == "cli" or (_part(module) == "web" and not module.endswith((".site", ".publish"))):
            continue
        allowed = ("jinja2",) if module.endswith(".publish") else ()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{module}:{node.lineno} imports {n}" for n in names
                      if n.split(".")[0] in web and n.split(".")[0] not in allowed]
    assert found == [], "\n".join(found)


def test_nothing_read_from_a_database_is_kept_in_module_state():
    """Figures and answers are kept by the Tracker that read them (Tracker.memo), so they go
    with it: no functools cache on the read side, where every function reads a database."""
    found = []
    for module, path in _modules().items():
        if _part(module) not in ("store", "figures", "web", "build"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    name = ast.unparse(decorator)
                    if "cache" in name:
                        found.append(f"{module}:{node.lineno} {node.name} is decorated with {name}")
    assert found == [], "\n".join(found)


def test_only_annotations_and_the_store_write_the_workspace():
    """Human work has one set of writers: annotations/ (and store/, which owns both files).
    Elsewhere no module opens a write transaction or holds a statement that changes rows."""
    changes = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b\s+(INTO|OR|FROM|\w+\s+SET)\b", re.IGNORECASE)
    found = []
    for module, path in _modules().items():
        if _part(module) in ("store", "annotations"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "write"
                    and not node.args):  # workspace.write(): a transaction (file.write(text) is not)
                found.append(f"{module}:{node.lineno} opens a write transaction")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and changes.search(node.value):
                found.append(f"{module}:{node.lineno} holds a statement that changes rows")
    assert found == [], "\n".join(found)


def test_only_the_build_writes_the_build_file():
    """The database file has one writer: build/ (through store.database, which owns the
    atomic swap). Elsewhere DuckDB is opened read-only, or in memory (no path)."""
    found = []
    for module, path in _modules().items():
        if _part(module) == "build" or module == "talent_tracker.store.database":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = ast.unparse(node.func)
            if called.endswith("write_database") or called.endswith("DatabaseWriter"):
                found.append(f"{module}:{node.lineno} calls {called}")
            elif called == "duckdb.connect" and node.args and not any(
                    k.arg == "read_only" and ast.unparse(k.value) == "True" for k in node.keywords):
                found.append(f"{module}:{node.lineno} opens a database file for writing")
    assert found == [], "\n".join(found)


def test_the_read_side_takes_a_tracker_not_a_path():
    """A figure is read through the one owner of the connections and the memo: every public
    function of figures/ that reads a database takes `tracker: Tracker` first, never a path,
    and the Tracker does not pose as one (no __fspath__)."""
    found = []
    for module, path in _modules().items():
        tree = ast.parse(path.read_text("utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == "Tracker":
                found += [f"{module}:{f.lineno} Tracker.__fspath__" for f in node.body
                          if isinstance(f, ast.FunctionDef) and f.name == "__fspath__"]
            if _part(module) != "figures" or not isinstance(node, ast.FunctionDef) or not node.args.args:
                continue
            first = node.args.args[0]
            kind = ast.unparse(first.annotation) if first.annotation else ""
            if first.arg in ("db", "tracker", "source") and (first.arg != "tracker" or kind != "Tracker"):
                found.append(f"{module}:{node.lineno} {node.name}({first.arg}: {kind})")
    assert found == [], "\n".join(found)


def test_building_and_publishing_load_no_web_framework():
    """Checked as Python loads them, not only as written: nothing they import pulls FastAPI in."""
    code = ("import sys, talent_tracker.build.pipeline, talent_tracker.web.publish, talent_tracker.figures.estimates\n"
            "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn') if m in sys.modules))")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and ran.stdout.strip() == "[]", ran.stdout + ran.stderr


def test_the_checks_see_a_violation(tmp_path, monkeypatch):
    """The layer check is not vacuous: an upward import in a kernel module is found."""
    fake = tmp_path / "talent_tracker"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "limits.py").write_text("from talent_tracker.web import app\n\ndef f():\n    import talent_tracker.store\n"
                                    "    duckdb.connect('x.duckdb')\n")
    (fake / "web").mkdir()
    (fake / "web" / "__init__.py").write_text("")
    (fake / "web" / "app.py").write_text("from talent_tracker import limits\n")
    (fake / "store").mkdir()
    (fake / "store" / "__init__.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    with pytest.raises(AssertionError, match=r"talent_tracker\.limits:1 imports talent_tracker\.web\.app"):
        test_imports_only_go_down_the_layers()
    with pytest.raises(AssertionError, match="inside a function"):
        test_no_import_hides_inside_a_function()
    with pytest.raises(AssertionError, match=r"talent_tracker\.limits"):
        test_no_import_cycles()
    with pytest.raises(AssertionError, match=r"talent_tracker\.limits:5 opens a database file for writing"):
        test_only_the_build_writes_the_build_file()
