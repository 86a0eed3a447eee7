"""The rooms of the code and the way imports go between them (docs/architecture.md): the core
(``incident``) never imports a wing (``alerts``, ``maps``), the wings never import each other, and
nothing outside ``incident/views`` imports a core view; only the app factory wires them all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("incident", "alerts", "maps")
APP_FACTORY = "incident/__init__.py"
# The probe module below is written into the tree: the checks run in one xdist worker, one
# after another, so that no check reads it while it exists.
pytestmark = pytest.mark.xdist_group("architecture")


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def imported(path: Path) -> set[str]:
    """The absolute names of every module ``path`` imports (relative imports resolved)."""
    package = path.relative_to(ROOT).parent.parts  # a module's package, or an __init__'s own
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            prefix = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def _breaks(rule) -> list[str]:
    found = []
    for path in modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative == APP_FACTORY:
            continue
        for name in sorted(imported(path)):
            if rule(relative, name):
                found.append(f"{relative} imports {name}")
    return found


def test_the_core_never_imports_a_wing():
    assert _breaks(lambda module, name: module.startswith("incident/") and name.split(".")[0] in ("alerts", "maps")) == []


def test_the_wings_do_not_import_each_other():
    assert _breaks(lambda module, name: module.startswith("alerts/") and name.split(".")[0] == "maps") == []
    assert _breaks(lambda module, name: module.startswith("maps/") and name.split(".")[0] == "alerts") == []


def test_nothing_outside_the_core_views_imports_a_core_view():
    def rule(module, name):
        return not module.startswith("incident/views/") and (name == "incident.views" or name.startswith("incident.views."))

    assert _breaks(rule) == []


@pytest.mark.parametrize("broken, expected", [
    ("from incident.views.registry import paged\n", "incident.views.registry"),
    ("from ..views import shell\n", "incident.views.shell"),
    ("import alerts.operations\n", "alerts.operations"),
])
def test_the_check_sees_every_way_of_importing(broken, expected):
    """The rules above would catch an absolute, a relative and a plain import (so they can fail)."""
    module = ROOT / "incident" / "web" / "_probe_for_the_architecture_test.py"
    module.write_text(broken, encoding="utf-8")
    try:
        assert expected in imported(module)
    finally:
        module.unlink()
