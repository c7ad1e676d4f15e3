"""The layout DESIGN.md promises, read from the source as a new contributor would read it.

Data flows one way (adapter -> model -> engine -> report -> reporter): no import cycle anywhere in
``src/dsmt_rules``, nothing under ``adapters/`` imports the engine, the engine is the only place a
``Finding`` is made, and no rule reads the beneficiary id (the one PHI field of the claim document).
Imports under ``if TYPE_CHECKING:`` are for the type checker only and do not count; imports inside
functions (lazy ones) do.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "dsmt_rules"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in [child, *_nodes(child)])
            continue
        yield node
        yield from _nodes(node)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _targets(name: str) -> set[str]:
    """The project modules that importing ``name`` runs: it and its parent packages."""
    out: set[str] = set()
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            out.add(candidate)
    return out


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _targets(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            found |= _targets(base)
            for alias in node.names:  # ``from dsmt_rules import adapters`` imports a module
                found |= (
                    _targets(f"{base}.{alias.name}") if f"{base}.{alias.name}" in MODULES else set()
                )
    # A package importing its own modules is how packages work; each module runs after its
    # package's __init__ (an edge to the parent), so a cycle through the package still shows.
    found = {m for m in found if not m.startswith(module + ".")}
    parent = module.rpartition(".")[0]
    if parent:
        found.add(parent)
    found.discard(module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(GRAPH[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_the_graph_sees_the_package() -> None:
    assert "dsmt_rules.engine" in MODULES or "dsmt_rules.engine" in {
        m.rpartition(".")[0] for m in MODULES
    }
    assert "dsmt_rules.records" in GRAPH["dsmt_rules.adapters.jsonl"]
    assert "dsmt_rules.adapters" in GRAPH["dsmt_rules.adapters.jsonl"]  # the parent package


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    GRAPH["dsmt_rules.records"].add("dsmt_rules.engine")
    try:
        assert any("dsmt_rules.records" in cycle for cycle in _cycles())
    finally:
        GRAPH["dsmt_rules.records"].discard("dsmt_rules.engine")


def _reaches(start: str, target_prefix: str) -> bool:
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        if module != start and (module == target_prefix or module.startswith(target_prefix + ".")):
            return True
        todo.extend(GRAPH[module])
    return False


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if m.startswith("dsmt_rules.adapters"))
)
def test_adapters_do_not_import_the_engine(module: str) -> None:
    assert not _reaches(module, "dsmt_rules.engine"), f"{module} reaches the engine"


@pytest.mark.parametrize(
    "module",
    ["dsmt_rules.records", "dsmt_rules.models", "dsmt_rules.findings", "dsmt_rules.reference"],
)
def test_what_lies_below_the_engine_does_not_import_it(module: str) -> None:
    assert not _reaches(module, "dsmt_rules.engine"), f"{module} reaches the engine"


def test_docs_do_not_import_the_cli() -> None:
    assert "dsmt_rules.cli" not in GRAPH["dsmt_rules._docs"]


def _makes_a_finding(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name) and func.id == "Finding":
        return True
    return isinstance(func, ast.Attribute) and func.attr == "Finding"


def test_only_the_engine_makes_findings() -> None:
    makers = sorted(
        module
        for module, path in MODULES.items()
        if any(_makes_a_finding(n) for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    )
    assert makers
    assert all(m == "dsmt_rules.engine" or m.startswith("dsmt_rules.engine.") for m in makers), (
        makers
    )


def test_the_finding_detector_detects() -> None:
    assert _makes_a_finding(ast.parse("Finding('DS001')").body[0].value)  # type: ignore[attr-defined]
    assert _makes_a_finding(ast.parse("f.Finding()").body[0].value)  # type: ignore[attr-defined]
    assert not _makes_a_finding(ast.parse("Findings()").body[0].value)  # type: ignore[attr-defined]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("dsmt_rules.rules")))
def test_no_rule_reads_the_beneficiary_id(module: str) -> None:
    """The beneficiary id is PHI: no rule reads it, so no message or ctx value can carry it."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    reads = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "beneficiary_id")
        or (isinstance(node, ast.Constant) and node.value == "beneficiary_id")
    ]
    if module == "dsmt_rules.rules._examples":  # the example claim document has the field
        assert len(reads) == 1
        return
    assert reads == [], f"{module} reads beneficiary_id at lines {reads}"
