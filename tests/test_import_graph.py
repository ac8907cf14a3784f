"""The kit's modules import one another in layers, with no circle anywhere.

Every module of the kit's packages is read with ``ast``, nothing is imported. Each import
statement is an edge wherever it stands: at the top, inside a function, under
``if TYPE_CHECKING``. Importing ``a.b`` is an edge to ``a.b`` alone (Python runs ``a`` too,
but counting that would make every package that re-exports its own modules a circle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("conformance", "reference_stores", "mcp_sessions", "benchmarks", "examples")

REFEREE_MODULE = "conformance.repro.referee"
"""What the repro scripts run (``from conformance.repro import Referee``): the suite's
internals may change under a script written by an older run, so it leans on none of them."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line})"


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[Edge]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _edges_to(name, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                if not is_package:
                    anchor.pop()
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield from _edges_to(name, base, [alias.name for alias in node.names], node.lineno)


def _edges_to(source: str, module: str, names: Sequence[str], line: int) -> Iterator[Edge]:
    """``from module import names``: an edge to each name that is a module, else to ``module``."""
    submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    yield from (Edge(source, target, line) for target in submodules)
    if names and len(submodules) == len(names):
        return
    while module and module not in MODULES:  # `import a.b.c` of a name outside the kit
        module = module.rpartition(".")[0]
    if module and module != source:
        yield Edge(source, module, line)


GRAPH: dict[str, list[Edge]] = {
    name: list(_imports(name, path)) for name, path in sorted(MODULES.items())
}


def _cycles() -> list[list[Edge]]:
    """One circle through each group of modules that reach one another (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for edge in GRAPH[node]:
            if edge.target not in index:
                visit(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in GRAPH:
        if node not in index:
            visit(node)
    return [_circle_in(group) for group in groups]


def _circle_in(group: set[str]) -> list[Edge]:
    """The shortest circle from the group's first module back to itself."""
    start = min(group)
    paths: dict[str, list[Edge]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for edge in GRAPH[node]:
            if edge.target == start:
                return [*paths[node], edge]
            if edge.target in group and edge.target not in paths:
                paths[edge.target] = [*paths[node], edge]
                queue.append(edge.target)
    raise AssertionError(f"no circle in {sorted(group)}")  # a bug in this test


def _reach(start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for edge in GRAPH[todo.pop()]:
            if edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def _package(module: str) -> str:
    return module.partition(".")[0]


def test_the_graph_sees_the_kit() -> None:
    from conformance.repro import Keywords, Referee  # the line every repro script has

    assert Referee.__module__ == Keywords.__module__ == REFEREE_MODULE
    assert any(edge.target == "conformance.trial" for edge in GRAPH["conformance.runner"])
    # A function-level import counts: the plugin loads its suite only when a store is named.
    assert any(edge.target == "conformance.suite" for edge in GRAPH["conformance.plugin"])


def test_no_module_imports_itself_round_a_circle() -> None:
    cycles = _cycles()
    assert not cycles, "import circles:\n" + "\n".join(
        "  " + " -> ".join([circle[0].source, *(f"{e.target} (line {e.line})" for e in circle)])
        for circle in cycles
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("reference_stores", ("conformance", "mcp_sessions", "benchmarks", "examples")),
        ("conformance", ("mcp_sessions", "benchmarks", "examples")),
    ],
)
def test_lower_packages_import_nothing_from_higher_ones(
    package: str, forbidden: tuple[str, ...]
) -> None:
    wrong = [
        str(edge)
        for name, edges in GRAPH.items()
        if _package(name) == package
        for edge in edges
        if _package(edge.target) in forbidden
    ]
    assert not wrong, "\n".join(wrong)


def test_the_referee_leans_on_nothing_of_the_suite() -> None:
    """It may use the reference stores, and modules of the kit that import no other of it."""
    reached = _reach(REFEREE_MODULE) - {REFEREE_MODULE}
    wrong = [
        str(edge)
        for name in sorted(reached)
        if _package(name) == "conformance"
        for edge in GRAPH[name]
        if _package(edge.target) == "conformance"
    ]
    allowed = ("conformance", "reference_stores")
    wrong += [str(e) for e in GRAPH[REFEREE_MODULE] if _package(e.target) not in allowed]
    assert not wrong, "\n".join(wrong)
