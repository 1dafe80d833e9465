"""The package's shape: a small root, small modules, no import cycles (COURSE.md layout)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "lstm_ref"
PACKAGES = [LIBRARY, ROOT / "lstm_course"]
MAX_ROOT_MODULES = 8
MAX_LINES = 400


def _modules(package: Path) -> dict[str, Path]:
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules that ``name`` imports at module level (absolute or relative)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found = set()
    for node in tree.body:  # module level only: imports inside functions cannot cycle at import
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_library_root_stays_small():
    root_modules = sorted(p.name for p in LIBRARY.glob("*.py"))
    assert len(root_modules) <= MAX_ROOT_MODULES, root_modules


def test_no_library_module_over_the_line_limit():
    long = {str(path): n for path in LIBRARY.rglob("*.py")
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_import_cycle():
    for package in PACKAGES:
        modules = _modules(package)
        graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
        # a package importing its own submodules is how packages work, not a cycle
        graph = {n: {t for t in ts if not t.startswith(n + ".")} for n, ts in graph.items()}
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in sorted(graph[node]):
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt):] + [nxt]
                    raise AssertionError("import cycle: " + " -> ".join(cycle))
                if nxt not in state:
                    visit(nxt)
            stack.pop()
            state[node] = 2

        for node in sorted(graph):
            if node not in state:
                visit(node)


def test_the_cycle_check_sees_a_cycle(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import x\n")
    (package / "b.py").write_text("from . import a\nx = 1\n")
    modules = _modules(package)
    assert _imports("pkg.a", modules["pkg.a"], set(modules)) == {"pkg.b"}
    assert _imports("pkg.b", modules["pkg.b"], set(modules)) == {"pkg", "pkg.a"}
