"""The rooms of the code and the way imports go between them (docs/architecture.md): the core
(``incident``) never imports a wing and its templates never name one, the wings never import
each other, and nothing outside ``incident/views`` imports a core view; only the app factory
wires them all. A wing is any top-level package with an ``init_app`` beside the core, so a new
one is checked as soon as it exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = "incident"
APP_FACTORY = "incident/__init__.py"
# The probe module below is written into the tree: the checks run in one xdist worker, one
# after another, so that no check reads it while it exists.
pytestmark = pytest.mark.xdist_group("architecture")


def find_wings() -> tuple[str, ...]:
    """Top-level packages beside the core whose ``__init__`` has an ``init_app``."""
    wings = []
    for init in sorted(ROOT.glob("*/__init__.py")):
        name = init.parent.name
        if name != CORE and re.search(r"^def init_app\(", init.read_text(encoding="utf-8"), re.M):
            wings.append(name)
    return tuple(wings)


WINGS = find_wings()


def test_the_wings_are_found():
    assert {"alerts", "maps"} <= set(WINGS)
    factory = (ROOT / APP_FACTORY).read_text(encoding="utf-8")
    for wing in WINGS:  # the factory wires each wing it finds here
        assert re.search(rf"\b{wing}\b", factory), f"the app factory does not start the wing {wing}"


def modules() -> dict[str, str]:
    """Every module of the core and the wings (migrations aside): relative path → source."""
    found = {}
    for package in (CORE, *WINGS):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return found


def imported(relative: str, source: str) -> set[str]:
    """The absolute names of every module the module at ``relative`` imports (relative imports
    resolved; for ``from a import b`` both ``a`` and ``a.b``)."""
    package = Path(relative).parent.parts  # a module's package, or an __init__'s own
    names = set()
    for node in ast.walk(ast.parse(source, relative)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            prefix = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


# The rules: each says whether the module at ``module`` may not import ``name``.

def core_imports_a_wing(module: str, name: str) -> bool:
    return module.startswith(f"{CORE}/") and name.split(".")[0] in WINGS


def a_wing_imports_another(module: str, name: str) -> bool:
    top = module.split("/")[0]
    return top in WINGS and name.split(".")[0] in WINGS and name.split(".")[0] != top


def a_core_view_imported_from_outside(module: str, name: str) -> bool:
    return not module.startswith(f"{CORE}/views/") and (name == f"{CORE}.views" or name.startswith(f"{CORE}.views."))


RULES = (core_imports_a_wing, a_wing_imports_another, a_core_view_imported_from_outside)


def breaks(rule, sources: dict[str, str]) -> list[str]:
    return [f"{module} imports {name}"
            for module, source in sources.items() if module != APP_FACTORY
            for name in sorted(imported(module, source)) if rule(module, name)]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_every_module_keeps_the_rule(rule):
    assert breaks(rule, modules()) == []


@pytest.mark.parametrize("module, source, rule", [
    ("incident/web/probe.py", "from incident.views.registry import paged\n", a_core_view_imported_from_outside),
    ("incident/web/probe.py", "from ..views import shell\n", a_core_view_imported_from_outside),
    ("incident/web/probe.py", "from .. import views\n", a_core_view_imported_from_outside),
    ("maps/probe.py", "from incident.views import registry\n", a_core_view_imported_from_outside),
    ("incident/operations/probe.py", "import alerts.operations\n", core_imports_a_wing),
    ("incident/probe.py", "from maps import builder\n", core_imports_a_wing),
    ("alerts/probe.py", "from maps.api import wall_counts\n", a_wing_imports_another),
    ("maps/sub/probe.py", "from ...alerts import labels\n", a_wing_imports_another),
])
def test_each_rule_catches_a_break(module, source, rule):
    """The rules can fail: an absolute, a relative and a plain import that break each one."""
    assert breaks(rule, {module: source}) != []
    assert breaks(rule, {module: "import json\nfrom incident.web import paging\n"}) == []


# Templates: the core's never link to a wing's page nor include a wing's template (a wing adds
# its links and panels through incident/web/hooks.py).

def wing_blueprints() -> dict[str, str]:
    """Blueprint name → the wing that defines it (Flask's and flask-smorest's alike)."""
    found = {}
    for wing in WINGS:
        for path in (ROOT / wing).rglob("*.py"):
            for name in re.findall(r"Blueprint\(\s*[\"'](\w+)[\"']", path.read_text(encoding="utf-8")):
                found[name] = wing
    return found


def template_breaks(relative: str, source: str, blueprints: dict[str, str]) -> list[str]:
    found = [f"{relative} links to {m}" for m in re.findall(r"url_for\(\s*[\"'](\w+)\.", source) if m in blueprints]
    found += [f"{relative} uses {m}/" for m in re.findall(r"{%-?\s*(?:include|extends|import|from)\s+[\"'](\w+)/", source)
              if m in WINGS]
    return found


def test_the_core_templates_name_no_wing():
    blueprints = wing_blueprints()
    assert {"alerts", "maps"} <= set(blueprints.values())
    core_templates = [p for p in (ROOT / "templates").rglob("*.html")
                      if p.relative_to(ROOT / "templates").parts[0] not in WINGS]
    assert core_templates
    found = []
    for path in core_templates:
        found += template_breaks(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"), blueprints)
    assert found == []


def test_the_template_check_can_fail():
    blueprints = wing_blueprints()
    assert template_breaks("t.html", "<a href=\"{{ url_for('alerts.new', incident_id=1) }}\">", blueprints)
    assert template_breaks("t.html", "{% include 'maps/_panel.html' %}", blueprints)
    assert not template_breaks("t.html", "<a href=\"{{ url_for('incidents.detail', incident_id=1) }}\">", blueprints)
