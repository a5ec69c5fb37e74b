"""Which layers of skrobust import which: the check behind docs/architecture.md.

Run from the repository root: ``python docs/import_graph.py``. It reads the
import statements of every module under ``skrobust/`` (without importing
anything), groups modules into layers (a top-level module or subpackage of
``skrobust``), prints each layer's imports of other layers (``*``: only
inside functions, at call time) and any cycles between layers, counting both
kinds of import. ``from skrobust import Name`` counts as an import of the
module that defines ``Name`` (the public facade's ``_EXPORTS``); a bare
``import skrobust`` (read for ``__version__``) counts for nothing.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "skrobust"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def facade_exports() -> dict[str, str]:
    """The public names of ``skrobust/__init__.py`` and their modules."""
    for node in ast.parse((ROOT / "__init__.py").read_text()).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "_EXPORTS":
            return ast.literal_eval(node.value)
    return {}


def imports(mods: dict[str, Path]) -> dict[str, dict[str, bool]]:
    """module -> imported module -> whether some import of it is at module
    level (``TYPE_CHECKING`` blocks left out)."""
    facade = facade_exports()

    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    edges: dict[str, dict[str, bool]] = defaultdict(dict)
    for module, path in mods.items():
        tree = ast.parse(path.read_text())
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        at_load, type_only = set(), set()
        for node in tree.body:
            inner = {id(n) for n in ast.walk(node)}
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                type_only |= inner
            elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                at_load |= inner
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    kept = package.split(".")[
                        : len(package.split(".")) - node.level + 1
                    ]
                    base = ".".join(kept + ([node.module] if node.module else []))
                names = [
                    facade.get(a.name, f"{base}.{a.name}")
                    if base == "skrobust"
                    else f"{base}.{a.name}"
                    for a in node.names
                ]
            else:
                continue
            for name in names:
                if not name.startswith("skrobust."):
                    continue
                target = resolve(name)
                if target != module and not target.startswith(module + "."):
                    edges[module][target] = edges[module].get(target, False) or (
                        id(node) in at_load
                    )
    return edges


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "skrobust"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    layers: dict[str, dict[str, bool]] = defaultdict(dict)
    for source, targets in imports(modules()).items():
        for target, at_load in targets.items():
            a, b = layer(source), layer(target)
            if a != b:
                layers[a][b] = layers[a].get(b, False) or at_load
    for name in sorted(layers):
        uses = ", ".join(
            f"{b}{'' if t else '*'}" for b, t in sorted(layers[name].items())
        )
        print(f"{name:20} {uses}")
    # The facade imports every public name's module on first use; leave it
    # out, or every layer that reads a public name would close a cycle.
    graph = {a: set(b) for a, b in layers.items() if a != "skrobust"}
    found = cycles(graph)
    print("cycles between layers:", found or "none")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
