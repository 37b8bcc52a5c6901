"""The shape of helpers/: imports point one way, nothing goes round in a circle, no module is hidden.

Every ``import`` of every module is read with ``ast``, those inside functions included, so an
import moved into a function to dodge a circle is still seen. The layers, from the bottom:

    0  models/, tokenizers.py        torch only: import nothing of ours but their own files
    1  course/runtime, course/precision, course/messages(_ja)   the low layer of the course machinery
    2  data/, analysis/
    3  generation/
    4  training/, api/
    5  the rest of course/ (settings, figures, reference, checkers); then helpers/__init__ above it
    6  cli/                            nothing imports the command lines

A module may import its own package's modules and any lower layer; two packages of one layer may
not import each other. A package's ``__init__`` imports only from inside the package.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / "helpers"
LOW_COURSE = {"helpers.course.runtime", "helpers.course.precision", "helpers.course.messages",
              "helpers.course.messages_ja"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(HELPERS.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def group(name: str) -> str:
    """Return the group a module belongs to: its package under helpers/, or course-low, or helpers."""
    if name in LOW_COURSE:
        return "course-low"
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "helpers"


LAYER = {"models": 0, "tokenizers": 0, "course-low": 1, "data": 2, "analysis": 2, "generation": 3,
         "training": 4, "api": 4, "course": 5, "helpers": 5.5, "cli": 6}


def imports_of(name: str) -> list[tuple[str, int]]:
    """Return (imported helpers module, line) for every import in module ``name``, at any depth."""
    package = name if is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from package import module` imports that module; `from module import name` the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found += [(t, node.lineno) for t in targets if t == "helpers" or t.startswith("helpers.")]
    return found


EDGES = {name: imports_of(name) for name in MODULES}


def test_every_import_points_down():
    wrong = []
    for name, targets in EDGES.items():
        for target, line in targets:
            assert target in MODULES, f"{name}:{line} imports {target}, which is not a module of helpers/"
            mine, theirs = group(name), group(target)
            if is_package(name) and name != "helpers" and not (target + ".").startswith(name + "."):
                wrong.append(f"{name} (a package's __init__) imports {target}, outside its package")
            elif target == "helpers" or (mine != theirs and LAYER[theirs] >= LAYER[mine]):
                wrong.append(f"{MODULES[name].relative_to(ROOT)}:{line}: {name} ({mine}, layer {LAYER[mine]}) "
                             f"imports {target} ({theirs}, layer {LAYER[theirs]})")
    assert not wrong, "imports that point the wrong way:\n" + "\n".join(dict.fromkeys(wrong))


def test_no_import_cycle():
    graph = {name: {t for t, _ in targets if t != name} for name, targets in EDGES.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"modules that import each other, directly or round a circle: {cycles}"


@pytest.mark.parametrize("package", sorted(n for n in MODULES if is_package(n)))
def test_no_module_hidden_by_a_name(package):
    """``from .x import x`` in a package's __init__ would make ``package.x`` the function, not the module."""
    tree = ast.parse(MODULES[package].read_text(encoding="utf-8"))
    bound = {alias.asname or alias.name for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
             for alias in node.names}
    bound |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    children = {n.rpartition(".")[2] for n in MODULES if n.rpartition(".")[0] == package}
    # importing a submodule under its own name (`from . import tasks`) binds the module itself: fine
    modules_bound = {alias.asname or alias.name for node in tree.body
                     if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module
                     for alias in node.names if f"{package}.{alias.name}" in MODULES}
    hidden = (bound - modules_bound) & children
    assert not hidden, f"{package} binds {sorted(hidden)}, hiding its submodule(s) of the same name"


def test_the_rules_see_function_local_imports():
    """The parser must see an import inside a function: a circle hidden there is still a circle."""
    tree = ast.parse("def f():\n    from helpers.models import GPT\n")
    assert any(isinstance(n, ast.ImportFrom) for n in ast.walk(tree))
    assert group("helpers.course.precision") == "course-low" and group("helpers.course.checks.attention") == "course"
