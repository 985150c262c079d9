"""The core is usable without the UI: nothing under deskconsole.core (nor the
CLI path for scripts) imports Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "deskconsole"


def test_core_source_never_imports_textual_or_the_ui():
    offenders = []
    for path in (PACKAGE / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in ("textual", "rich") or name.startswith("deskconsole.ui"):
                    offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []


def test_cli_commands_run_without_loading_textual():
    code = (
        "import sys, deskconsole.cli.main, deskconsole.core.records.tickets, deskconsole.core.search.query, deskconsole.sla;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- the import graph
# Modules the core is built on: they never import the core, the CLI, the
# console or the intake, not even inside a function.
BELOW_THE_CORE = ("binding", "config", "db", "errors", "migrations", "models", "paths", "pgdriver", "sla")
ABOVE = ("deskconsole.core", "deskconsole.cli", "deskconsole.ui", "deskconsole.intake")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every deskconsole module ``path`` imports, at its top or inside a
    function (a lazy import only hides a circle); imports made for type
    checkers alone (``if TYPE_CHECKING:``) are not imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for part in node.body for n in ast.walk(part)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deskconsole"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("deskconsole")}
    return found


def graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles (strongly connected groups of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_what_the_core_is_built_on_never_imports_the_core():
    edges = graph()
    below = [m for m in edges if m.split(".")[1:2] and m.split(".")[1] in BELOW_THE_CORE]
    assert len(below) >= 10
    offenders = sorted(f"{m} imports {d}" for m in below for d in edges[m] if d.startswith(ABOVE))
    assert offenders == []


def test_the_core_has_no_import_circle():
    edges = graph()
    core = {m: {d for d in deps if d.startswith("deskconsole.core")} for m, deps in edges.items()
            if m.startswith("deskconsole.core")}
    assert len(core) >= 40
    assert circles(core) == []


def test_no_import_circle_anywhere():
    assert circles(graph()) == []


def test_a_circle_is_found_when_there_is_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


# ---------------------------------------------------------------- the core's domains
def domain_of(module: str) -> str | None:
    """The core's domain (a subpackage, or a top-level module) ``module`` is
    in; None for the core package itself and for modules outside the core."""
    parts = module.split(".")
    return parts[2] if parts[:2] == ["deskconsole", "core"] and len(parts) > 2 else None


def domain_offenders(edges: dict[str, set[str]], shared: tuple[str, ...], domains: tuple[str, ...]) -> list[str]:
    """Each import inside the core that breaks the order: a shared module
    importing a domain, or a domain importing one after it."""
    rank = {d: i for i, d in enumerate(domains)}
    offenders = []
    for module, deps in edges.items():
        here = domain_of(module)
        if here is None:
            continue
        for dep in deps:
            there = domain_of(dep)
            if there is None or there == here or there in shared:
                continue
            if here in shared or there not in rank or rank[there] > rank[here]:
                offenders.append(f"{module} ({here}) imports {dep} ({there})")
    return sorted(offenders)


def test_every_module_of_the_core_is_in_a_domain_or_shared():
    from deskconsole.core import DOMAINS, SHARED

    assert len(set(SHARED + DOMAINS)) == len(SHARED + DOMAINS)
    on_disk = {p.stem for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__"}
    on_disk |= {p.parent.name for p in (PACKAGE / "core").glob("*/__init__.py")}
    assert on_disk == set(SHARED + DOMAINS)


def test_the_core_domains_import_each_other_only_in_the_written_order():
    """A domain imports the shared modules, its own modules and the domains
    before it in ``core.DOMAINS``, never one after it (lazy imports
    counted); the shared modules import no domain."""
    from deskconsole.core import DOMAINS, SHARED

    edges = graph()
    assert len([m for m in edges if domain_of(m) in DOMAINS]) >= 40
    assert domain_offenders(edges, SHARED, DOMAINS) == []


def test_an_import_against_the_order_is_found():
    edges = {"deskconsole.core.b.x": {"deskconsole.core.a.y", "deskconsole.core.s", "deskconsole.errors"},
             "deskconsole.core.a.y": {"deskconsole.core.b.x"},
             "deskconsole.core.s": {"deskconsole.core.a.y"}}
    assert domain_offenders(edges, ("s",), ("a", "b")) == [
        "deskconsole.core.a.y (a) imports deskconsole.core.b.x (b)",
        "deskconsole.core.s (s) imports deskconsole.core.a.y (a)",
    ]
