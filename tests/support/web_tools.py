"""The pinned browser-quality tools (tools/web: npm lock, installed by scripts/setup.sh) for the page tests
and bench/web_quality.py: where they are, that they are the locked versions, and axe-core's verdict on a page."""
from __future__ import annotations

import json
from pathlib import Path

WEB_TOOLS = Path(__file__).resolve().parents[2] / "tools" / "web"
NODE_MODULES = WEB_TOOLS / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
LIGHTHOUSE = NODE_MODULES / "lighthouse" / "cli" / "index.js"
INSTALL_HINT = "run scripts/setup.sh (or: npm ci --prefix tools/web) to install the pinned Lighthouse and axe-core"


def missing_tool(package: str) -> str | None:
    """Why ``package`` from the lock cannot be used (not installed, or another version), or None."""
    locked = json.loads((WEB_TOOLS / "package-lock.json").read_text())["packages"][f"node_modules/{package}"]["version"]
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.exists():
        return f"{package} {locked} is not installed in tools/web/node_modules: {INSTALL_HINT}"
    installed = json.loads(manifest.read_text())["version"]
    if installed != locked:
        return f"tools/web/node_modules has {package} {installed}, the lock pins {locked}: {INSTALL_HINT}"
    return None


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the loaded page with its default rules (WCAG 2.0-2.2 A and AA and its best
    practices): rule, impact, help and the first elements. The page must have had ``page.add_init_script(path=AXE)``
    before it loaded: the DevTools protocol runs it, so the site's Content-Security-Policy stays on."""
    result = page.evaluate("() => axe.run(document)")
    return [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [" ".join(map(str, n["target"])) for n in v["nodes"]][:8]} for v in result["violations"]]


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page scrolls sideways (0: it fits the viewport)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))
