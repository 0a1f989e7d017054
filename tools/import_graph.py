"""Import cycles and upward imports in the ``meadow`` package (outside migrations and tests).

Usage: ``.venv/bin/python tools/import_graph.py [--verbose]``

It builds the graph of the code's own imports with grimp (import-linter's engine; every ``import`` statement,
including those inside functions), then prints:
- the module-level import cycles: strongly connected components of two or more modules;
- the imports that point up: from an app to an app in a higher layer (``LAYERS`` below, the order written in
  docs/architecture.md and held by the ``[tool.importlinter]`` contracts in pyproject.toml).
"""

from __future__ import annotations

import sys

import grimp

# Lowest first; apps in one tuple are one layer (siblings). Keep in step with docs/architecture.md.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("accounts",),
    ("notes",),
    ("moderation",),
    ("enforcement",),
    ("engagement",),
    ("integrity",),
    ("notifications", "search", "distribution"),
    ("business", "store", "orders"),
    ("messaging",),
    ("privacy", "publishing"),
]
# The HTTP layer and web shell (the project's entry points) sit above every app; its infrastructure modules beside core.
TOP = {"api", "web", "urls", "routing", "asgi", "wsgi", "manage", "__main__"}
INFRASTRUCTURE = {"celery", "settings", "test_settings"}


def _excluded(module: str) -> bool:
    parts = module.split(".")
    return "migrations" in parts or "tests" in parts or "conftest" in parts


def _level(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    name = parts[1]
    if name in TOP:
        return len(LAYERS)  # the project's entry points: above every app
    if name in INFRASTRUCTURE:
        return 0
    for level, apps in enumerate(LAYERS):
        if name in apps:
            return level
    return None


def build() -> tuple[dict[str, set[str]], list[list[str]]]:
    graph = grimp.build_graph("meadow", cache_dir=None)
    modules = sorted(m for m in graph.modules if not _excluded(m))
    edges = {
        m: {
            t
            for t in graph.find_modules_directly_imported_by(m)
            if not _excluded(t) and t.startswith("meadow")
        }
        for m in modules
    }
    return edges, _sccs(edges)


def _sccs(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def upward(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    found = []
    for source, targets in edges.items():
        low = _level(source)
        for target in targets:
            high = _level(target)
            if low is not None and high is not None and high > low:
                found.append((source, target))
    return sorted(found)


def main(argv: list[str]) -> int:
    verbose = "--verbose" in argv
    edges, cycles = build()
    ups = upward(edges)
    print(f"modules: {len(edges)}  imports: {sum(len(t) for t in edges.values())}")
    print(f"import cycles (strongly connected groups of modules): {len(cycles)}")
    for component in cycles:
        shown = component if verbose or len(component) <= 8 else [*component[:8], "…"]
        print(f"  {len(component)} modules: {', '.join(shown)}")
    print(f"upward imports (an app importing an app of a higher layer): {len(ups)}")
    if verbose:
        for source, target in ups:
            print(f"  {source} -> {target}")
    else:
        pairs: dict[tuple[str, str], int] = {}
        for source, target in ups:
            key = (source.split(".")[1], target.split(".")[1])
            pairs[key] = pairs.get(key, 0) + 1
        for (a, b), n in sorted(pairs.items()):
            print(f"  {a} -> {b}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
