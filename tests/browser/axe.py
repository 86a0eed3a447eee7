"""axe-core (vendored in tests/data/axe, see its README) run in the page: the WCAG 2.0 and 2.1
rules of levels A and AA, as the EU Web Accessibility Directive asks of a municipality.

``violations(page)`` injects axe into the page (through the DevTools protocol, which the page's
CSP does not govern: nothing is added to what Riadó serves, and the CSP stays on) and returns what
it found, each as ``{"id", "impact", "help", "url", "nodes": [{"target", "html", "summary"}]}``;
``describe`` writes them one line a node, for an assertion's message. ``watch_accessibility(context)``
has axe check every page a browser context loads, and ``assert_accessible`` fails the test on what
it found (conftest.py's ``page`` does both; a test's own context calls them)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

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
# the top document (a frame is checked by its parent's run). A page already checked in the same
# shape (its address with the numbers left out, its language, and each element's tag, class,
# role, style, hiddenness, whether it holds text, and which of the attributes that name or label
# it it has: alt, title, for, href, lang and aria-* (their presence, not their words); what axe's
# rules look at, not the words) is not checked again: every test signs in on the same login page and most open the same empty dashboard
# (``__riadoAxeFirst`` answers whether this shape is still unchecked in the test run; a shape
# counts as checked only once axe has finished with it, ``__riadoAxeChecked``, so a page that
# went away mid-check is checked the next time it comes). An error of axe on a page still shown
# is reported as a violation of its own (``axe-error``): a check never stops silently.
HOOK = """if (window.top === window) {
%s
;window.__riadoAxe = new Promise((resolve) => {
  const shape = () => {
    let h = 0x811c9dc5;
    const add = (s) => { for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619); };
    const named = (n) => (n.startsWith('aria-') && n !== 'aria-hidden') || ['alt', 'title', 'for', 'href', 'lang'].includes(n);
    for (const e of document.querySelectorAll('*')) {
      const text = Array.from(e.childNodes).some((n) => n.nodeType === 3 && n.nodeValue.trim());
      const attributes = Array.from(e.attributes, (a) => a.name).filter(named).sort().join(',');
      add([e.tagName, e.getAttribute('class'), e.getAttribute('role'), e.getAttribute('style'), e.hidden,
           e.getAttribute('aria-hidden'), text, attributes].join('|'));
    }
    return location.pathname.replace(/[0-9]+/g, '#') + ' ' + document.documentElement.lang + ' ' + (h >>> 0).toString(16);
  };
  let gone = false;
  window.addEventListener('pagehide', () => { gone = true; });
  window.addEventListener('load', () => requestAnimationFrame(() => setTimeout(async () => {
    try {
      const key = shape();
      if (await window.__riadoAxeFirst(key)) {
        const result = await window.axe.run(document,
          {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']});
        const found = (%s)(result);
        if (found.length) await window.__riadoAxeReport(found);
        await window.__riadoAxeChecked(key);
      }
    } catch (e) {
      if (!gone) {  // the page is still there: axe failed, and the test must say so
        try {
          await window.__riadoAxeReport([{id: 'axe-error', impact: 'critical', help: 'axe could not check the page',
            url: location.pathname + location.search, nodes: [{target: 'document', html: '', summary: String(e)}]}]);
        } catch (_) { /* the page went away after all */ }
      }
    }
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


# The shapes of the pages axe has checked in this process (see HOOK): each is checked once.
CHECKED_SHAPES: set[str] = set()


def _unchecked(_source, shape: str) -> bool:
    return shape not in CHECKED_SHAPES


def _checked(_source, shape: str) -> None:
    CHECKED_SHAPES.add(shape)


def watch_accessibility(context) -> list[dict]:
    """axe checks every page ``context`` loads (its WCAG 2.1 AA rules, see axe.py): the list the
    violations are added to, which ``assert_accessible`` reads when the test is over."""
    found: list[dict] = []
    context.expose_binding("__riadoAxeReport", lambda _source, violations: found.extend(violations))
    context.expose_binding("__riadoAxeFirst", _unchecked)
    context.expose_binding("__riadoAxeChecked", _checked)
    context.add_init_script(script=HOOK)
    return found


def assert_accessible(page, found: list[dict]) -> None:
    """No page the test loaded had a violation (the last page's check is waited for)."""
    with contextlib.suppress(PlaywrightError):
        page.evaluate("() => window.__riadoAxe")
    found = unique(found)
    assert found == [], "WCAG 2.1 AA violations (axe):\n" + describe(found)
