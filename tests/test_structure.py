"""The shape of the code: every module imports, no import cycle, imports flow one way
(cli -> pipeline -> stages, report reads records), and files stay small.

The import graph is read from the source (AST), lazy imports inside functions included:
a cycle that only closes at run time is still a cycle for whoever changes the code.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "sohoa"
STAGES = ("ingest", "ocr", "classify", "archive", "records")
MAX_LINES = 400
# Files over MAX_LINES, each with the one job it holds (or why it is not split yet).
LONG_FILES = {
    "archive/sign.py": "PAdES signing: the spec, the key and certificate checks, the stamp",
    "config.py": "the settings: defaults, the typed sections, checking, where each came from",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run (those under `if TYPE_CHECKING:` only serve annotations)."""
    found: list[ast.Import | ast.ImportFrom] = []
    nodes = [tree]
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            nodes.extend(node.orelse)
            continue
        nodes.extend(ast.iter_child_nodes(node))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
    return found


def _imported_names(tree: ast.AST) -> set[str]:
    """Absolute names of the modules a file imports at run time (any package)."""
    names: set[str] = set()
    for node in _run_time_imports(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif not node.level and node.module:
            names.add(node.module)
    return names


def _imported(module: str, tree: ast.AST) -> set[str]:
    """The sohoa modules `module` imports at run time (`from pkg import sub` is `pkg.sub`)."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _run_time_imports(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).rstrip(".")
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {name for name in found if name in MODULES and name != module}


GRAPH = {
    name: _imported(name, ast.parse(path.read_text(encoding="utf-8")))
    for name, path in MODULES.items()
}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for name in GRAPH[todo.pop()] - seen:
            seen.add(name)
            todo.append(name)
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_graph_is_read_from_the_source() -> None:
    # The walker itself: a lazy import inside a function counts, a TYPE_CHECKING one not.
    assert "sohoa.pipeline.cluster" in GRAPH["sohoa.pipeline.driver"]
    assert "sohoa.pipeline.plugin" in GRAPH["sohoa.pipeline.cluster"]  # inside dask_client
    assert "sohoa.classify.model" not in GRAPH["sohoa.classify.classifier"]  # TYPE_CHECKING
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Migration scripts are run by alembic, which gives them their context.
# `__main__` modules run the program when imported.
@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if ".migrations" not in m and not m.endswith("__main__"))
)
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_no_import_cycle_between_modules() -> None:
    # A package's __init__ importing its own modules is how its public surface is built;
    # a module importing its package's __init__ back would close a cycle and is counted.
    assert _cycles(GRAPH) == []


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        packages.setdefault(_package(module), set()).update(
            _package(name) for name in imported if _package(name) != _package(module)
        )
    assert _cycles(packages) == []


def _crossings(sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} -> {name}"
        for module, imported in GRAPH.items()
        if _package(module) in {f"sohoa.{s}" for s in sources}
        for name in imported
        if _package(name) in {f"sohoa.{t}" for t in targets}
    )


def test_stages_never_import_pipeline_or_cli() -> None:
    assert _crossings(STAGES, ("pipeline", "cli")) == []


def test_nothing_below_the_web_app_imports_it() -> None:
    # sohoa.web is an outer layer like the CLI: the CLI may start it, nothing else imports it.
    inner = (*STAGES, "pipeline", "report", "sample", "transfer")
    assert _crossings(inner, ("web",)) == []
    assert _crossings(("web",), ("cli",)) == []


def test_records_never_imports_report() -> None:
    # The report reads from the records, never the other way.
    assert _crossings(("records",), ("report",)) == []


def test_only_records_and_pipeline_talk_to_the_database() -> None:
    allowed = {"sohoa.records", "sohoa.pipeline"}
    talking = sorted(
        module
        for module, path in MODULES.items()
        if _package(module) not in allowed
        and any(
            name == "sqlalchemy" or name.startswith("sqlalchemy.")
            for name in _imported_names(ast.parse(path.read_text(encoding="utf-8")))
        )
    )
    assert talking == []


def test_the_worker_does_not_import_command_modules() -> None:
    # What a Dask worker loads: no click, no `sohoa classify train` code.
    reached = _reachable("sohoa.pipeline.worker")
    assert not {"sohoa.cli", "sohoa.pipeline.training", "sohoa.pipeline.evaluation"} & reached


def test_thread_caps_are_set_in_one_module() -> None:
    setters = ("OMP_THREAD_LIMIT", "setNumThreads(", "threadpool_limits(", "OPENBLAS_NUM_THREADS")
    found = sorted(
        str(path.relative_to(ROOT))
        for path in MODULES.values()
        if any(word in path.read_text(encoding="utf-8") for word in setters)
    )
    assert found == ["threads.py"]


def test_long_files_are_known() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert sorted(long) == sorted(LONG_FILES), long
