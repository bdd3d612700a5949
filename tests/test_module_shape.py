"""The code's shape holds: modules stay small, dashboard depends on fleet and never the other
way, and no import cycle exists between the project's modules."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fleet", "dashboard", "config")
MAX_LINES = 420  # "under ~400 lines": a little slack, never a second job in one file
# One settings module by rule (a table of environment variables): its length is its list.
LONG_BY_DESIGN = {"config.settings"}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or ("models" in path.parts and "demo" in path.parts):
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports at module level (imports inside functions are
    deliberate late bindings and do not make a cycle at import time)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_no_module_is_much_over_400_lines() -> None:
    lines = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in lines.items() if n > MAX_LINES and name not in LONG_BY_DESIGN} == {}


def test_fleet_never_imports_dashboard() -> None:
    known = set(modules())
    wrong = {
        name: sorted(t for t in imports(name, path, known) if t.startswith("dashboard"))
        for name, path in modules().items()
        if name.startswith("fleet")
    }
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_there_is_no_import_cycle() -> None:
    found = modules()
    known = set(found)
    graph = {name: imports(name, path, known) for name, path in found.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                # A package importing its own submodule (fleet/__init__ -> fleet.x) is no cycle.
                if not target.startswith(node + ".") and not node.startswith(target + "."):
                    cycles.append(
                        [*trail[trail.index(target) :], target] if target in trail else [node, target]
                    )
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
