"""The package's import graph, read from the source with ``ast``: no circle, and no import from
a lower layer to a higher one. Every import counts (module level, inside functions, and under
``TYPE_CHECKING``), so a loop cannot hide behind a local import."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "privacy_profile"

#: Layers, lowest first: a module may import its own layer or a lower one, never a higher one.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_io", "_clock", "_checksums", "_paths", "_boundary", "refdata", "policies"),
    ("policy",),
    ("dp", "pii"),
    ("ingest", "profiling"),
    ("segments", "spark"),
    ("lineage",),
    ("analytics",),
    ("rights",),
    ("engine", "stages"),
    ("demo", "cli", "_docgen", "__main__", "<root>"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            # `from pkg import sub` imports the module pkg.sub when it is one, else pkg
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in modules else mod)
    return {m for m in out if m == "privacy_profile" or m.startswith("privacy_profile.")}


@cache
def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = _imports(path, name, set(files))
        graph[name] = {m for m in deps if m in files and m != name}
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "<root>"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module}: its top-level name {top!r} is in no layer of LAYERS")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, or None (depth-first search with colours)."""
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        colour[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if colour.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in colour and (found := visit(m)) is not None:
                return found
        stack.pop()
        colour[n] = 2
        return None

    for n in sorted(graph):
        if n not in colour and (found := visit(n)) is not None:
            return found
    return None


def test_the_graph_is_read() -> None:
    graph = _graph()
    assert "privacy_profile.engine" in graph
    assert "privacy_profile.segments.build" in graph["privacy_profile.engine"] or any(
        m.startswith("privacy_profile.segments") for m in graph["privacy_profile.engine"]
    )


def test_no_import_circle() -> None:
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    bad = [
        f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
        for a, deps in sorted(_graph().items())
        for b in sorted(deps)
        if _layer(b) > _layer(a)
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    ("graph", "circle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ],
)
def test_the_cycle_check_can_fail(graph: dict[str, set[str]], circle: list[str] | None) -> None:
    assert _cycle(graph) == circle
