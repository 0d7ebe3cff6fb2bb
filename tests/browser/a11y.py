"""Accessibility checks with axe-core on a Playwright page.

`assert_accessible(page, "ask with a cited passage")` runs axe-core (the copy bundled by the
`axe-playwright-python` package, a dev requirement) on the page as it is now, at a desktop
width (1280 px) and a phone width (390 px), in every colour scheme the page's stylesheets
have, and fails with one line per element for each violation of impact "serious" or
"critical" (colour contrast, names of controls and links, ARIA misuse, ...). "minor" and
"moderate" findings (a region outside a landmark, say) do not fail the test.

Call it where a page is in the state worth checking (an answer shown, a dialog open), so
what scripts add to the page is checked too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

BLOCKING = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

# Whether any stylesheet of the page has a `prefers-color-scheme` rule (today none does:
# static/css/base.css has one light scheme, so only "light" is checked).
HAS_DARK_SCHEME = """() => {
  const rules = (sheet) => { try { return [...sheet.cssRules]; } catch { return []; } };
  const walk = (list) => list.some((rule) =>
    (rule.conditionText || "").includes("prefers-color-scheme") ||
    (rule.cssRules ? walk([...rule.cssRules]) : false));
  return [...document.styleSheets].some((sheet) => walk(rules(sheet)));
}"""

# Colours change with a CSS transition when the scheme or width switches (Django admin's
# buttons fade over 0.15 s): axe must read the settled colours, not one frame of the fade.
# (An injected style sheet would be refused by the pages' content security policy.)
SETTLE = """() => new Promise((done) => requestAnimationFrame(() => {
  document.getAnimations().forEach((animation) => {
    try { animation.finish(); } catch (endless) { /* a spinner never ends: leave it */ }
  });
  requestAnimationFrame(done);
}))"""

_axe = Axe()


def blocking_violations(page: Any, exclude: Sequence[str] = ()) -> list[str]:
    """One readable line per element with a serious or critical violation, at the current
    viewport and colour scheme; `exclude` lists CSS selectors axe must skip."""
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    results = _axe.run(page, context=context, options={"resultTypes": ["violations"]})
    lines = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            target = " ".join(json.dumps(part) for part in node["target"])
            detail = "; ".join(
                check["message"] for check in node.get("any", []) + node.get("all", [])
            )
            lines.append(
                f"{violation['id']} ({violation['impact']}) at {target}: {violation['help']}"
                + (f" [{detail}]" if detail else "")
            )
    return lines


def assert_accessible(page: Any, name: str, exclude: Sequence[str] = ()) -> None:
    """No serious or critical axe-core violation on `page` at 1280 and 390 px wide, in the
    light scheme and, where the CSS has one, the dark scheme. The viewport and scheme are
    put back afterwards."""
    size = page.viewport_size or DESKTOP
    schemes = ["light"]
    if page.evaluate(HAS_DARK_SCHEME):
        schemes.append("dark")
    found: list[str] = []
    try:
        for scheme in schemes:
            page.emulate_media(color_scheme=scheme)
            for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(viewport)
                page.evaluate(SETTLE)
                found += [
                    f"  {label}, {scheme}: {line}" for line in blocking_violations(page, exclude)
                ]
    finally:
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(size)
    assert not found, f"accessibility of {name} ({page.url}):\n" + "\n".join(found)
