"""axe-core (vendored in tests/data/axe, see its README) run in the page: the WCAG 2.0 and 2.1
rules of levels A and AA, as the EU Web Accessibility Directive asks of a municipality.

``violations(page)`` injects axe into the page (through the DevTools protocol, which the page's
CSP does not govern: nothing is added to what Riadó serves) and returns what it found, each as
``{"id", "impact", "help", "url", "nodes": [{"target", "html", "summary"}]}``; ``describe`` writes
them one line a node, for an assertion's message."""

from __future__ import annotations

import json
from pathlib import Path

AXE_DIR = Path(__file__).resolve().parents[1] / "data" / "axe"
AXE_SOURCE = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")

# WCAG 2.0 and 2.1, levels A and AA (axe's tags); axe's best practices and AAA rules are not asked.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Nothing is left out: the maps' markers, popups, zoom buttons and attribution are Leaflet's and
# ours, and pass; Leaflet's tiles are images with an empty alt (decoration: the map's meaning is
# in its markers, its legend and the page's text).

# The violations as the tests print them (a node's target as one CSS selector, its HTML cut short).
_SHAPE = """(result) => result.violations.map((v) => ({
  id: v.id, impact: v.impact, help: v.help, url: location.pathname + location.search,
  nodes: v.nodes.map((n) => ({target: n.target.join(' '), html: n.html.slice(0, 200), summary: n.failureSummary})),
}))"""

_RUN = """async (tags) => {
  await window.__riadoAxe;  // the check of the page's load (HOOK), if it is still running
  const result = await window.axe.run(document,
    {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return (%s)(result);
}""" % _SHAPE

# The script added to every document of a browser test's page (conftest.py's ``page``): axe, and
# once the page has loaded (and drawn a frame), a check whose violations go to the test through
# the binding ``__riadoAxeReport``. ``window.__riadoAxe`` settles when the check is done. Only
# the top document (a frame is checked by its parent's run).
HOOK = """if (window.top === window) {
%s
;window.__riadoAxe = new Promise((resolve) => {
  window.addEventListener('load', () => requestAnimationFrame(() => setTimeout(async () => {
    try {
      const result = await window.axe.run(document,
        {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']});
      const found = (%s)(result);
      if (found.length) await window.__riadoAxeReport(found);
    } catch (e) { /* the page went away meanwhile */ }
    resolve();
  }, 0)));
});
}""" % (AXE_SOURCE, json.dumps(WCAG_AA), _SHAPE)


def violations(page) -> list[dict]:
    """axe's WCAG 2.1 AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(_RUN, WCAG_AA)


def unique(found: list[dict]) -> list[dict]:
    """The violations without repeats (the same page, rule and element, seen twice)."""
    seen, out = set(), []
    for violation in found:
        nodes = [n for n in violation["nodes"] if (violation["url"], violation["id"], n["target"]) not in seen]
        seen.update((violation["url"], violation["id"], n["target"]) for n in nodes)
        if nodes:
            out.append({**violation, "nodes": nodes})
    return out


def describe(found: list[dict]) -> str:
    """One line a node: the page, the rule, the element and axe's advice."""
    lines = []
    for violation in found:
        for node in violation["nodes"]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"{violation['url']} [{violation['id']}] {node['target']} — {violation['help']}: {summary}")
    return "\n".join(lines)
