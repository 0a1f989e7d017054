"""The shape of the code (issue #17): no import cycles between meadow's modules and no import pointing up a layer,
outside migrations and tests — computed as ``tools/import_graph.py`` computes it (grimp, every ``import``,
including those inside functions) — and that script's layers are the layers contract of pyproject.toml, which
``lint-imports`` holds and docs/architecture.md draws."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("meadow_import_graph", ROOT / "tools" / "import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def graph(import_graph: ModuleType) -> tuple[dict[str, set[str]], list[list[str]]]:
    return import_graph.build()


def test_no_import_cycle_between_meadow_modules(graph) -> None:
    edges, cycles = graph
    assert len(edges) > 100  # the graph is the package's, not an empty one
    assert cycles == [], (
        "import cycles (break them with a lower module both sides import, or by task name):\n"
        + ("\n".join(" ↔ ".join(c) for c in cycles))
    )


def test_no_import_points_up_a_layer(graph, import_graph: ModuleType) -> None:
    edges, _cycles = graph
    assert import_graph.upward(edges) == []


def test_the_cycle_finder_finds_cycles(import_graph: ModuleType) -> None:
    """The test above cannot pass by a finder that finds nothing."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_graph._sccs(edges) == [["a", "b", "c"]]


def test_the_script_and_the_contract_have_the_same_layers(import_graph: ModuleType) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    assert not [
        i
        for i in contract.get("ignore_imports", [])
        if not i.startswith(("meadow.*.tests.", "meadow.*.migrations."))
    ], "the layers contract ignores only tests and migrations"
    layers = []
    for layer in reversed(contract["layers"]):  # lowest first, as the script lists them
        names = [part.strip() for part in layer.replace("|", ":").split(":")]
        layers.append(tuple(sorted(name.removeprefix("meadow.") for name in names)))
    top = set(layers.pop())
    assert top <= import_graph.TOP
    assert layers == [tuple(sorted(apps)) for apps in import_graph.LAYERS]


def test_a_service_finds_its_apps_task_by_name() -> None:
    """Services queue their own app's tasks by name (``core.tasks.task_by_name``) instead of importing tasks.py,
    which imports them; a wrong name fails at once, not on a worker."""
    from django.core.exceptions import ImproperlyConfigured

    from meadow.core.tasks import task_by_name

    task = task_by_name("meadow.orders.tasks.refund_process")
    assert task.name == "meadow.orders.tasks.refund_process" and callable(task.apply_async)
    with pytest.raises(ImproperlyConfigured):
        task_by_name("meadow.orders.services.refund_process")  # a function, not a task
    with pytest.raises(ImportError):
        task_by_name("meadow.orders.tasks.no_such_task")
