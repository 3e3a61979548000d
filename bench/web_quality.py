"""Lighthouse and axe-core on the production server's three main pages; prints ONE JSON object.

What a user's browser meets, measured as deployed: ``scripts/serve.sh`` (gunicorn, collected static files
with hashed names, compressed, cached for a year) on a throwaway data dir holding one public collection
(the bundled test model, a generated demo video and a few photos). The pages:

``search``      the search page with the results of a text query (``/?collection=ID&q=...``);
``collection``  the collection's page;
``video``       the video page, reached from the first result (so with that search's timeline).

Per page: Lighthouse 12's performance, accessibility and best-practices scores (desktop preset, the
system's headless Chromium), the audits that cost points, and the axe-core violations (rule, impact,
the elements) found with Playwright, plus the console errors the page logged and, at 360 px wide, how
far the page scrolls sideways (``overflow_360_px``, 0 = none). The tools come from the committed npm
lock in ``tools/web`` (``scripts/setup.sh`` installs them: ``npm ci --prefix tools/web``).

``--screenshots DIR`` also saves full-page PNGs of each page at 1366 and 360 px wide (``DIR/<page>-1366.png``,
``DIR/<page>-360.png``); ``--reports DIR`` keeps Lighthouse's full JSON reports; ``--no-lighthouse`` runs the
axe, console and overflow checks only (a minute, not three); ``--keep-serving`` leaves the server up to look.

Usage: ``.venv/bin/python bench/web_quality.py [--screenshots DIR] [--reports DIR] [--no-lighthouse] [--keep-serving]``
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rebuild_under_load import _fill, _setup  # noqa: E402 - after the path is set
from bench.serve_under_load import UNTHROTTLED, free_port, log_tail  # noqa: E402
from tests.support.web_tools import AXE, LIGHTHOUSE, axe_violations, horizontal_overflow, missing_tool  # noqa: E402

CHROMIUM = os.environ.get("CHROME_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
CATEGORIES = ("performance", "accessibility", "best-practices")
WIDTHS = (1366, 360)


class Server:
    """scripts/serve.sh (it execs gunicorn) on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDEOSEARCH_THROTTLE_", "REDIS_URL"))}
        env.update({f"VIDEOSEARCH_THROTTLE_{scope}": UNTHROTTLED for scope in ("SEARCH_ANON", "SEARCH_USER")})
        env.update(VIDEOSEARCH_BIND=f"127.0.0.1:{self.port}", PYTHON=sys.executable, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"scripts/serve.sh exited {self.proc.returncode}:\n{log_tail(self.log)}")
            try:
                with urllib.request.urlopen(self.url + "/api/", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"scripts/serve.sh not answering in {timeout}s:\n{log_tail(self.log)}")

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=60) as answer:
            return answer.read().decode()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def lighthouse(url: str, out: Path) -> dict:
    """Lighthouse's three category scores for one URL and the audits that cost points."""
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    command = ["node", str(LIGHTHOUSE), url, "--preset=desktop", "--output=json", f"--output-path={out}",
               f"--only-categories={','.join(CATEGORIES)}", "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
               "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed ({done.returncode}) on {url}:\n{done.stderr[-3000:]}")
    report = json.loads(out.read_text())
    scores = {name: report["categories"][name]["score"] for name in CATEGORIES}
    weighted = {ref["id"] for name in CATEGORIES for ref in report["categories"][name]["auditRefs"] if ref["weight"] > 0}
    failing = sorted(
        f"{audit_id}: {audit['score']}" for audit_id, audit in report["audits"].items()
        if audit_id in weighted and audit.get("score") is not None and audit["score"] < 1
    )
    console = [item.get("description", "") for item in
               (report["audits"].get("errors-in-console", {}).get("details") or {}).get("items", [])]
    return {**scores, "failing_audits": failing, "lighthouse_console_errors": console}


def fill_site(workdir: Path) -> dict[str, str]:
    """One public collection with a demo video and photos; the three pages' paths."""
    _setup(workdir / "data")
    collection, items, probes = _fill(workdir / "source", videos=1, photos=4, name="web-quality")
    collection.public = True
    collection.save(update_fields=["public"])
    from django.db import connections

    connections.close_all()  # the server has the database to itself
    query = urllib.request.quote(probes[0].text)
    return {"search": f"/?collection={collection.pk}&q={query}", "collection": f"/collections/{collection.pk}/",
            "video": f"/videos/{items[0].pk}/"}


def browse(server: Server, pages: dict[str, str], screenshots: Path | None) -> dict[str, dict]:
    """axe-core, console errors and the 360 px overflow of each page; the screenshots when asked."""
    from playwright.sync_api import sync_playwright

    found: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        for width in WIDTHS:
            for name, path in pages.items():
                page = browser.new_page(viewport={"width": width, "height": 900 if width > 400 else 780})
                errors: list[str] = []
                page.on("console", lambda msg, errors=errors: msg.type == "error" and errors.append(msg.text))
                page.on("pageerror", lambda exc, errors=errors: errors.append(f"uncaught: {exc}"))
                page.add_init_script(path=str(AXE))
                page.goto(server.url + path, wait_until="networkidle")
                entry = found.setdefault(name, {"url": path})
                if width == WIDTHS[0]:
                    entry["axe_violations"] = axe_violations(page)
                    entry["console_errors"] = errors
                else:
                    entry["axe_violations_360"] = axe_violations(page)
                    entry["overflow_360_px"] = horizontal_overflow(page)
                    entry["console_errors"] += [e for e in errors if e not in entry["console_errors"]]
                if screenshots:
                    page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
                page.close()
        browser.close()
    return found


def run(workdir: Path, screenshots: Path | None, with_lighthouse: bool, keep_serving: bool,
        reports: Path | None = None) -> dict:
    for package in (["lighthouse"] if with_lighthouse else []) + ["axe-core"]:
        if problem := missing_tool(package):
            raise SystemExit(problem)
    if CHROMIUM is None:
        raise SystemExit("chromium is not installed: run scripts/setup.sh")
    pages = fill_site(workdir)
    server = Server(workdir)
    try:
        server.start()
        link = re.search(r'class="video-link" href="([^"]+)"', server.get(pages["search"]))
        if link is None:
            raise RuntimeError("the search page shows no result to follow to a video page")
        pages["video"] = html.unescape(link.group(1))
        if screenshots:
            screenshots.mkdir(parents=True, exist_ok=True)
        report = browse(server, pages, screenshots)
        if with_lighthouse:
            if reports:
                reports.mkdir(parents=True, exist_ok=True)
            for name, path in pages.items():
                report[name].update(lighthouse(server.url + path, (reports or workdir) / f"lighthouse-{name}.json"))
        if keep_serving:
            print(f"serving {server.url} (Ctrl-C stops; log {server.log}): " + ", ".join(pages.values()),
                  file=sys.stderr)
            while True:
                time.sleep(3600)
    finally:
        server.stop()
    tracebacks = server.log.read_text(errors="replace").count("Traceback")
    return {"server": "scripts/serve.sh (gunicorn)", "lighthouse": "12.2.3 desktop" if with_lighthouse else None,
            "pages": report, "server_log_tracebacks": tracebacks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", type=Path, help="folder for full-page PNGs at 1366 and 360 px wide")
    parser.add_argument("--reports", type=Path, help="folder to keep Lighthouse's JSON reports in")
    parser.add_argument("--no-lighthouse", action="store_true", help="axe-core, console and overflow checks only")
    parser.add_argument("--keep-serving", action="store_true", help="leave the server up after the checks")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out (finally)
    with tempfile.TemporaryDirectory() as tmp:
        report = run(Path(tmp), args.screenshots.resolve() if args.screenshots else None, not args.no_lighthouse,
                     args.keep_serving, args.reports.resolve() if args.reports else None)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
